COMMENT
sc_NMDA: NMDA synapse, a double-exponential conductance with a Mg block.

    g(t) = B - A,  A' = -A/tau1,  B' = -B/tau2
    event of weight w (uS):  A += w*factor,  B += w*factor
    factor = 1/(exp(-tp/tau2) - exp(-tp/tau1)),
    tp = tau1*tau2*ln(tau2/tau1)/(tau2 - tau1)
    so that one event of weight w peaks at exactly w uS (Exp2Syn's
    normalisation; events add linearly).

    i = g*mgblock(v)*(v - e),  mgblock(v) = 1/(1 + exp(-0.062 v)*mg/3.57)
    (Jahr & Stevens 1990). g is the unblocked conductance.

tau1 must be smaller than tau2. Written for the surrogate_cell project as the
NMDA input of data generation.

Units: v, e (mV); t, taus (ms); g (uS); i (nA); mg (mM); weight (uS).
ENDCOMMENT

NEURON {
    POINT_PROCESS sc_NMDA
    RANGE tau1, tau2, e, mg
    RANGE i, g, factor
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
    (mM) = (milli/liter)
}

PARAMETER {
    tau1 = 2 (ms)
    tau2 = 70 (ms)
    e = 0 (mV)
    mg = 1 (mM)
}

ASSIGNED {
    v (mV)
    i (nA)
    g (uS)
    factor (1)
}

STATE {
    A (uS)
    B (uS)
}

INITIAL {
    LOCAL tp
    A = 0
    B = 0
    tp = tau1*tau2*log(tau2/tau1)/(tau2 - tau1)
    factor = 1/(exp(-tp/tau2) - exp(-tp/tau1))
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = B - A
    i = g*mgblock(v)*(v - e)
}

DERIVATIVE states {
    A' = -A/tau1
    B' = -B/tau2
}

FUNCTION mgblock(vm (mV)) {
    UNITSOFF
    mgblock = 1/(1 + exp(-0.062*vm)*mg/3.57)
    UNITSON
}

NET_RECEIVE (weight (uS)) {
    A = A + weight*factor
    B = B + weight*factor
}

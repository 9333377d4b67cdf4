COMMENT
sc_GABAA: GABA-A synapse with a double-exponential conductance.

    g(t) = gmax * (B - A),  A' = -A/tau_r,  B' = -B/tau_d
    event of weight w:  A += w*factor,  B += w*factor
    factor = 1/(exp(-tp/tau_d) - exp(-tp/tau_r)),
    tp = tau_r*tau_d*ln(tau_d/tau_r)/(tau_d - tau_r)
    so that one event of weight w peaks at exactly w*gmax (events add
    linearly; no clamping of weights or states).

    i = g*(v - e)

tau_r must be smaller than tau_d. Written for the surrogate_cell project as
the inhibitory input of the Hay et al. (2011) L5PC data generation.

Units: v, e (mV); t, taus (ms); gmax, g (uS); i (nA); weight (1).
ENDCOMMENT

NEURON {
    POINT_PROCESS sc_GABAA
    RANGE tau_r, tau_d, e, gmax
    RANGE i, g, factor
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    tau_r = 0.2 (ms)
    tau_d = 8 (ms)
    e = -80 (mV)
    gmax = 0.001 (uS)
}

ASSIGNED {
    v (mV)
    i (nA)
    g (uS)
    factor (1)
}

STATE {
    A (1)
    B (1)
}

INITIAL {
    LOCAL tp
    A = 0
    B = 0
    tp = tau_r*tau_d*log(tau_d/tau_r)/(tau_d - tau_r)
    factor = 1/(exp(-tp/tau_d) - exp(-tp/tau_r))
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gmax*(B - A)
    i = g*(v - e)
}

DERIVATIVE states {
    A' = -A/tau_r
    B' = -B/tau_d
}

NET_RECEIVE (weight (1)) {
    A = A + weight*factor
    B = B + weight*factor
}

COMMENT
sc_AMPANMDA: AMPA + NMDA synapse with double-exponential conductances.

    g_X(t)  = gmax_X * (B_X - A_X),  A_X' = -A_X/tau_r_X,  B_X' = -B_X/tau_d_X
    event of weight w:  A_X += w*factor_X,  B_X += w*factor_X
    factor_X = 1/(exp(-tp/tau_d_X) - exp(-tp/tau_r_X)),
    tp = tau_r_X*tau_d_X*ln(tau_d_X/tau_r_X)/(tau_d_X - tau_r_X)
    so that one event of weight w peaks at exactly w*gmax_X (events add
    linearly; no clamping of weights or states).

    i_AMPA = g_AMPA*(v - e)
    i_NMDA = g_NMDA*B(v)*(v - e),  B(v) = 1/(1 + exp(-0.062 v)*mg/3.57)
             (Mg block of Jahr & Stevens 1990)
    i = i_AMPA + i_NMDA

g_NMDA is the unblocked conductance. Rise time constants must be smaller
than decay time constants. Written for the surrogate_cell project as the
excitatory input of the Hay et al. (2011) L5PC data generation.

Units: v, e (mV); t, taus (ms); gmax, g (uS); i (nA); mg (mM); weight (1).
ENDCOMMENT

NEURON {
    POINT_PROCESS sc_AMPANMDA
    RANGE tau_r_AMPA, tau_d_AMPA, tau_r_NMDA, tau_d_NMDA
    RANGE e, mg, gmax_AMPA, gmax_NMDA
    RANGE i, i_AMPA, i_NMDA, g_AMPA, g_NMDA
    RANGE factor_AMPA, factor_NMDA
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
    (mM) = (milli/liter)
}

PARAMETER {
    tau_r_AMPA = 0.3 (ms)
    tau_d_AMPA = 3 (ms)
    tau_r_NMDA = 2 (ms)
    tau_d_NMDA = 70 (ms)
    e = 0 (mV)
    mg = 1 (mM)
    gmax_AMPA = 0.0004 (uS)
    gmax_NMDA = 0.0004 (uS)
}

ASSIGNED {
    v (mV)
    i (nA)
    i_AMPA (nA)
    i_NMDA (nA)
    g_AMPA (uS)
    g_NMDA (uS)
    factor_AMPA (1)
    factor_NMDA (1)
}

STATE {
    A_AMPA (1)
    B_AMPA (1)
    A_NMDA (1)
    B_NMDA (1)
}

INITIAL {
    A_AMPA = 0
    B_AMPA = 0
    A_NMDA = 0
    B_NMDA = 0
    factor_AMPA = peaknorm(tau_r_AMPA, tau_d_AMPA)
    factor_NMDA = peaknorm(tau_r_NMDA, tau_d_NMDA)
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g_AMPA = gmax_AMPA*(B_AMPA - A_AMPA)
    g_NMDA = gmax_NMDA*(B_NMDA - A_NMDA)
    i_AMPA = g_AMPA*(v - e)
    i_NMDA = g_NMDA*mgblock(v)*(v - e)
    i = i_AMPA + i_NMDA
}

DERIVATIVE states {
    A_AMPA' = -A_AMPA/tau_r_AMPA
    B_AMPA' = -B_AMPA/tau_d_AMPA
    A_NMDA' = -A_NMDA/tau_r_NMDA
    B_NMDA' = -B_NMDA/tau_d_NMDA
}

FUNCTION peaknorm(tr (ms), td (ms)) {
    LOCAL tp
    tp = tr*td*log(td/tr)/(td - tr)
    peaknorm = 1/(exp(-tp/td) - exp(-tp/tr))
}

FUNCTION mgblock(vm (mV)) {
    UNITSOFF
    mgblock = 1/(1 + exp(-0.062*vm)*mg/3.57)
    UNITSON
}

NET_RECEIVE (weight (1)) {
    A_AMPA = A_AMPA + weight*factor_AMPA
    B_AMPA = B_AMPA + weight*factor_AMPA
    A_NMDA = A_NMDA + weight*factor_NMDA
    B_NMDA = B_NMDA + weight*factor_NMDA
}

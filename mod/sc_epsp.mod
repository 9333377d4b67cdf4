COMMENT
sc_epsp: EPSP-like current injection, a difference of exponentials that is
independent of v. Used by Hay, Hill, Schuermann, Markram & Segev (2011)
PLoS Comput Biol 7:e1002107; after Schaefer et al. (2003) J Neurophysiol.
Written from the equations (project spec hay2011-kinetics.md, sec. 4).

    tpeak  = tau0*tau1*ln(tau0/tau1)/(tau0 - tau1)
    adjust = 1/(E(-tpeak/tau1) - E(-tpeak/tau0))
    i(t)   = 0                                                   t < onset
    i(t)   = -adjust*imax*(E(-(t-onset)/tau1) - E(-(t-onset)/tau0)) t >= onset
    E(x)   = 0 if x < -100, else exp(x)

The peak of i is exactly -imax (inward, depolarising) at onset + tpeak.
tau0 must differ from tau1.

Units: t, onset, tau0, tau1 (ms); imax, i (nA, positive = outward).
ENDCOMMENT

NEURON {
    POINT_PROCESS sc_epsp
    RANGE onset, tau0, tau1, imax, i
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
}

PARAMETER {
    onset = 0 (ms)
    tau0 = 0.2 (ms)
    tau1 = 3.0 (ms)
    imax = 0 (nA)
}

ASSIGNED {
    i (nA)
}

BREAKPOINT {
    i = curr(t)
}

FUNCTION cutexp(x) {
    if (x < -100) {
        cutexp = 0
    } else {
        cutexp = exp(x)
    }
}

FUNCTION curr(tt (ms)) (nA) {
    LOCAL tpeak, adjust, s
    if (tt < onset) {
        curr = 0
    } else {
        tpeak = tau0*tau1*log(tau0/tau1)/(tau0 - tau1)
        adjust = 1/(cutexp(-tpeak/tau1) - cutexp(-tpeak/tau0))
        s = tt - onset
        curr = -adjust*imax*(cutexp(-s/tau1) - cutexp(-s/tau0))
    }
}

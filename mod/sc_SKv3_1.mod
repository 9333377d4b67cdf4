COMMENT
sc_SKv3_1: Kv3.1-type fast delayed-rectifier K current.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Rettig et al. (1992) EMBO J 11:2473.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.10).

    ik = gbar * m * (v - ek)
    no temperature factor

Units: v, ek (mV); t, taus (ms); gbar, g (S/cm2); ik (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_SKv3_1
    USEION k READ ek WRITE ik
    RANGE gbar, g
    RANGE mInf, mTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    mInf
    mTau (ms)
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m
    ik = g*(v - ek)
}

DERIVATIVE states {
    rates(v)
    m' = (mInf - m)/mTau
}

INITIAL {
    rates(v)
    m = mInf
}

PROCEDURE rates(vm (mV)) {
    UNITSOFF
    mInf = 1/(1 + exp((vm - 18.7)/(-9.7)))
    mTau = 0.2*20/(1 + exp((vm + 46.56)/(-44.14)))
    UNITSON
}

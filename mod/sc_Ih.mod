COMMENT
sc_Ih: hyperpolarisation-activated cation (HCN) current, nonspecific.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Kole, Hallermann & Stuart (2006) J Neurosci 26:1677.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.8).

    ihcn = gbar * m * (v - ehcn),  ehcn = -45 mV (one GLOBAL value)
    no temperature factor

Units: v, ehcn (mV); t, taus (ms); gbar, g (S/cm2); ihcn (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_Ih
    NONSPECIFIC_CURRENT ihcn
    RANGE gbar, g
    RANGE mInf, mTau
    GLOBAL ehcn
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gbar = 0.00001 (S/cm2)
    ehcn = -45.0 (mV)
}

ASSIGNED {
    v (mV)
    ihcn (mA/cm2)
    g (S/cm2)
    mInf
    mTau (ms)
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m
    ihcn = g*(v - ehcn)
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
    LOCAL x, a, b
    UNITSOFF
    x = vm
    : singularity guard on the local copy only
    if (x == -154.9) { x = x + 0.0001 }
    a = 0.001*6.43*(x + 154.9)/(exp((x + 154.9)/11.9) - 1)
    b = 0.001*193*exp(x/33.1)
    mInf = a/(a + b)
    mTau = 1/(a + b)
    UNITSON
}

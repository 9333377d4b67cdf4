COMMENT
sc_Im: muscarinic (M-type) K current.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Adams, Brown & Constanti (1982) J Physiol 330:537.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.9).

    ik = gbar * m * (v - ek)
    mTau divided by qt = 2.3^((34-21)/10) (fixed; celsius is not read)

Units: v, ek (mV); t, taus (ms); gbar, g (S/cm2); ik (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_Im
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
    LOCAL qt, a, b
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    a = 3.3e-3*exp(2.5*0.04*(vm + 35))
    b = 3.3e-3*exp(-2.5*0.04*(vm + 35))
    mInf = a/(a + b)
    mTau = 1/((a + b)*qt)
    UNITSON
}

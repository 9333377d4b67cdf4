COMMENT
sc_Ca_HVA: high-voltage-activated Ca current.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Reuveni, Friedman, Amitai & Gutnick (1993) J Neurosci 13:4609.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.7).

    ica = gbar * m^2 * h * (v - eca)
    no temperature factor; eca is the Nernst potential maintained by
    NEURON's ca ion.

Units: v, eca (mV); t, taus (ms); gbar, g (S/cm2); ica (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_Ca_HVA
    USEION ca READ eca WRITE ica
    RANGE gbar, g
    RANGE mInf, mTau, hInf, hTau
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
    eca (mV)
    ica (mA/cm2)
    g (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m*m*h
    ica = g*(v - eca)
}

DERIVATIVE states {
    rates(v)
    m' = (mInf - m)/mTau
    h' = (hInf - h)/hTau
}

INITIAL {
    rates(v)
    m = mInf
    h = hInf
}

PROCEDURE rates(vm (mV)) {
    LOCAL x, a, b
    UNITSOFF
    x = vm
    : singularity guard on the local copy, used for all four rates
    if (x == -27) { x = x + 0.0001 }
    a = 0.055*(-27 - x)/(exp((-27 - x)/3.8) - 1)
    b = 0.94*exp((-75 - x)/17)
    mInf = a/(a + b)
    mTau = 1/(a + b)

    a = 0.000457*exp((-13 - x)/50)
    b = 0.0065/(exp((-x - 15)/28) + 1)
    hInf = a/(a + b)
    hTau = 1/(a + b)
    UNITSON
}

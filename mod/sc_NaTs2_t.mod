COMMENT
sc_NaTs2_t: fast inactivating (transient) Na current, somatic variant:
the NaTa_t kinetics shifted by +6 mV (not inserted by L5PCbiophys3).
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Colbert & Pan (2002) Nat Neurosci 5:533.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.2).

    ina = gbar * m^3 * h * (v - ena)
    taus divided by qt = 2.3^((34-21)/10) (fixed; celsius is not read)

Units: v, ena (mV); t, taus (ms); gbar, g (S/cm2); ina (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_NaTs2_t
    USEION na READ ena WRITE ina
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
    ena (mV)
    ina (mA/cm2)
    g (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m*m*m*h
    ina = g*(v - ena)
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
    LOCAL qt, x, a, b
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    x = vm
    : singularity guards act on the local copy only; the shift carries on
    if (x == -32) { x = x + 0.0001 }
    a = 0.182*(x + 32)/(1 - exp(-(x + 32)/6))
    b = 0.124*(-x - 32)/(1 - exp((x + 32)/6))
    mInf = a/(a + b)
    mTau = 1/((a + b)*qt)

    if (x == -60) { x = x + 0.0001 }
    a = -0.015*(x + 60)/(1 - exp((x + 60)/6))
    b = -0.015*(-x - 60)/(1 - exp((-x - 60)/6))
    hInf = a/(a + b)
    hTau = 1/((a + b)*qt)
    UNITSON
}

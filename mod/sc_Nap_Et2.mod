COMMENT
sc_Nap_Et2: persistent Na current.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Magistretti & Alonso (1999) J Gen Physiol 114:491.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.3).

    ina = gbar * m^3 * h * (v - ena)
    mInf, hInf are Boltzmann functions (not alpha/(alpha+beta));
    mTau = 6/((am+bm)*qt), hTau = 1/((ah+bh)*qt),
    qt = 2.3^((34-21)/10) (fixed; celsius is not read)

Units: v, ena (mV); t, taus (ms); gbar, g (S/cm2); ina (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_Nap_Et2
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
    mInf = 1/(1 + exp((x + 52.6)/(-4.6)))   : before any guard
    : singularity guards act on the local copy only; shifts accumulate
    if (x == -38) { x = x + 0.0001 }
    a = 0.182*(x + 38)/(1 - exp(-(x + 38)/6))
    b = 0.124*(-x - 38)/(1 - exp((x + 38)/6))
    mTau = 6/((a + b)*qt)

    if (x == -17) { x = x + 0.0001 }
    if (x == -64.4) { x = x + 0.0001 }
    hInf = 1/(1 + exp((x + 48.8)/10))
    a = -2.88e-6*(x + 17)/(1 - exp((x + 17)/4.63))
    b = 6.94e-6*(x + 64.4)/(1 - exp(-(x + 64.4)/2.63))
    hTau = 1/((a + b)*qt)
    UNITSON
}

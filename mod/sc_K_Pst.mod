COMMENT
sc_K_Pst: slowly inactivating (persistent) K current.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Korngreen & Sakmann (2000) J Physiol 525:621.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.5).

    ik = gbar * m^2 * h * (v - ek)
    rates evaluated at u = v + 10 mV (the current uses the true v);
    mTau switches branch at u = -50 mV (v = -60 mV);
    taus divided by qt = 2.3^((34-21)/10) (fixed; celsius is not read)

Units: v, ek (mV); t, taus (ms); gbar, g (S/cm2); ik (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_K_Pst
    USEION k READ ek WRITE ik
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
    ek (mV)
    ik (mA/cm2)
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
    ik = g*(v - ek)
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
    LOCAL qt, u
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    u = vm + 10
    mInf = 1/(1 + exp(-(u + 1)/12))
    if (u < -50) {
        mTau = (1.25 + 175.03*exp(0.026*u))/qt
    } else {
        mTau = (1.25 + 13*exp(-0.026*u))/qt
    }
    hInf = 1/(1 + exp((u + 54)/11))
    hTau = (360 + (1010 + 24*(u + 55))*exp(-((u + 75)/48)^2))/qt
    UNITSON
}

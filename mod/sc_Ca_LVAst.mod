COMMENT
sc_Ca_LVAst: low-voltage-activated (T-type) Ca current.
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Avery & Johnston (1996) J Neurosci 16:5567,
time constants after Randall & Tsien (1997) Neuropharmacology 36:879.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.6).

    ica = gbar * m^2 * h * (v - eca)
    rates evaluated at u = v + 10 mV (the current uses the true v);
    taus divided by qt = 2.3^((34-21)/10) (fixed; celsius is not read)
    eca is the Nernst potential maintained by NEURON's ca ion.

Units: v, eca (mV); t, taus (ms); gbar, g (S/cm2); ica (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_Ca_LVAst
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
    LOCAL qt, u
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    u = vm + 10
    mInf = 1/(1 + exp((u + 30)/(-6)))
    mTau = (5 + 20/(1 + exp((u + 25)/5)))/qt
    hInf = 1/(1 + exp((u + 80)/6.4))
    hTau = (20 + 50/(1 + exp((u + 40)/7)))/qt
    UNITSON
}

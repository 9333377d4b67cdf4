COMMENT
sc_SK_E2: small-conductance Ca-activated K current (voltage independent).
Hay, Hill, Schuermann, Markram & Segev (2011) PLoS Comput Biol 7:e1002107;
kinetics after Koehler et al. (1996) Science 273:1709.
Written from the equations (project spec hay2011-kinetics.md, sec. 2.11).

    ik   = gbar * z * (v - ek)
    z'   = (zInf - z)/zTau,   zTau = 1 ms (one GLOBAL value)
    zInf = 1/(1 + (0.00043/c)^4.8),  c = cai, or cai + 1e-7 if cai < 1e-7 mM
    no temperature factor

Units: v, ek (mV); cai (mM); t, zTau (ms); gbar, g (S/cm2); ik (mA/cm2).
ENDCOMMENT

NEURON {
    SUFFIX sc_SK_E2
    USEION k READ ek WRITE ik
    USEION ca READ cai
    RANGE gbar, g
    RANGE zInf
    GLOBAL zTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
    (mM) = (milli/liter)
}

PARAMETER {
    gbar = 0.000001 (S/cm2)
    zTau = 1 (ms)
}

ASSIGNED {
    v (mV)
    ek (mV)
    cai (mM)
    ik (mA/cm2)
    g (S/cm2)
    zInf
}

STATE { z FROM 0 TO 1 }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*z
    ik = g*(v - ek)
}

DERIVATIVE states {
    rates(cai)
    z' = (zInf - z)/zTau
}

INITIAL {
    rates(cai)
    z = zInf
}

PROCEDURE rates(ca (mM)) {
    LOCAL c
    UNITSOFF
    c = ca
    if (c < 1e-7) { c = c + 1e-7 }
    zInf = 1/(1 + (0.00043/c)^4.8)
    UNITSON
}

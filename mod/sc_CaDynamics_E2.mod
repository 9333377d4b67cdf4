COMMENT
sc_CaDynamics_E2: intracellular Ca in a submembrane shell, first-order
removal towards minCai. Hay, Hill, Schuermann, Markram & Segev (2011)
PLoS Comput Biol 7:e1002107; after Destexhe et al. (1994).
Written from the equations (project spec hay2011-kinetics.md, sec. 3).

    cai' = -10000 * gamma * ica / (2 * F * depth) - (cai - minCai)/decay

ica is the total Ca current density of the segment (all Ca mechanisms).
The factor 10000/(2 F depth) turns mA/cm2 over a shell of depth um into
mM/ms. F = FARADAY from NEURON's units database.
There is deliberately no INITIAL block: cai starts at the ca ion default
(cai0_ca_ion, 5e-5 mM), not at minCai.

Units: ica (mA/cm2); cai, minCai (mM); decay, t (ms); depth (um);
gamma (1, free fraction).
ENDCOMMENT

NEURON {
    SUFFIX sc_CaDynamics_E2
    USEION ca READ ica WRITE cai
    RANGE gamma, decay, depth, minCai
}

UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    FARADAY = (faraday) (coulombs)
    (molar) = (1/liter)
    (mM) = (millimolar)
    (um) = (micron)
}

PARAMETER {
    gamma = 0.05 (1)
    decay = 80 (ms)
    depth = 0.1 (um)
    minCai = 1e-4 (mM)
}

ASSIGNED {
    ica (mA/cm2)
}

STATE {
    cai (mM)
}

BREAKPOINT {
    SOLVE states METHOD cnexp
}

DERIVATIVE states {
    cai' = -(10000)*(ica*gamma/(2*FARADAY*depth)) - (cai - minCai)/decay
}

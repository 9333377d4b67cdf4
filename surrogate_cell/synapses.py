"""Synaptic conductance from events, binned at 1 ms: what a segment's membrane feels from its synapses.

A synapse model's conductance after an event of weight w at time 0 is a
difference of exponentials,

    g(t) = s · w · F · (exp(−t/τ_decay) − exp(−t/τ_rise)),   t ≥ 0,

with F NEURON's peak normalisation (``Exp2Syn``: the peak is exactly s · w)
and s the conductance per unit weight (nS). ``ExpSyn`` is the limit
τ_rise → 0 (g jumps by s · w and decays). Events add linearly. The
conductance of a 1 ms bin is its mean over the bin (nS), computed exactly
from two exponential states per group of synapses that share kinetics and a
segment, so the cost grows with the number of (segment, kinetics) groups, not
of synapses.

Four receptor classes are told apart, as the physics separates them:
``ampa`` (excitatory, no Mg block), ``nmda`` (Mg-blocked, the conductance is
the unblocked one), ``gaba_a`` (inhibitory, chloride) and ``gaba_b``
(inhibitory, potassium). A class fixes the reversal potential and the
voltage dependence; the kinetics live in the conductance. So a plain
``Exp2Syn`` or ``ExpSyn`` is ``ampa`` when its reversal is excitatory
(it has no Mg block, whatever its decay), ``gaba_b`` when its reversal is at
or below :data:`GABA_B_REVERSAL_MAX_MV` (potassium) and ``gaba_a`` otherwise.
:func:`kinetics_of` maps a NEURON synapse model (its mod name and parameters,
as a NetPyNE ``synMechParams`` entry writes them) to its components;
:func:`declare_synapse` teaches it another mod.

Units: ms, mV, nS; NEURON's weights of ``Exp2Syn`` / ``ExpSyn`` are µS.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import UnknownReceptorError

RECEPTORS = ("ampa", "nmda", "gaba_a", "gaba_b")
#: Reversal potentials at or above this are excitatory (mV), below inhibitory.
EXCITATORY_REVERSAL_MIN_MV = -40.0
#: Inhibitory reversal potentials at or below this (mV) are potassium's: GABA_B-like.
GABA_B_REVERSAL_MAX_MV = -87.0
#: The reversal potential (mV) of each class in the training data (the model's input carries no reversal).
REVERSAL_MV = {"ampa": 0.0, "nmda": 0.0, "gaba_a": -80.0, "gaba_b": -93.0}


def input_channel(receptor: str, segment: int, n_segments: int) -> int:
    """The model input channel of ``receptor`` on segment-table row ``segment``: receptor-major,
    ``RECEPTORS.index(receptor) * n_segments + segment``."""
    return RECEPTORS.index(receptor) * int(n_segments) + int(segment)


class SynapseModelError(UnknownReceptorError):
    """A synapse model that cannot be mapped to receptor classes and kinetics."""


@dataclass(frozen=True)
class Kinetics:
    """One conductance component of a synapse model.

    Attributes
    ----------
    receptor : str
        One of :data:`RECEPTORS`.
    tau_rise_ms, tau_decay_ms : float
        Time constants (ms); ``tau_rise_ms`` 0 for a jump (``ExpSyn``).
    e_mV : float
        Reversal potential (mV).
    nS_per_weight : float
        Peak conductance (nS) of an event of weight 1.
    """

    receptor: str
    tau_rise_ms: float
    tau_decay_ms: float
    e_mV: float
    nS_per_weight: float

    def __post_init__(self):
        if self.receptor not in RECEPTORS:
            raise SynapseModelError(f"receptor must be one of {RECEPTORS}, got {self.receptor!r}")
        values = (self.tau_rise_ms, self.tau_decay_ms, self.e_mV, self.nS_per_weight)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise SynapseModelError(f"kinetics must be finite numbers, got {values}")
        if not (0 <= self.tau_rise_ms < self.tau_decay_ms) or self.nS_per_weight < 0:
            raise SynapseModelError(f"need 0 <= tau_rise_ms < tau_decay_ms and nS_per_weight >= 0, got "
                                    f"{self.tau_rise_ms}, {self.tau_decay_ms} ms, {self.nS_per_weight} nS")

    @property
    def factor(self) -> float:
        """NEURON's peak normalisation of the difference of exponentials (1 for a jump)."""
        tr, td = self.tau_rise_ms, self.tau_decay_ms
        if tr == 0:
            return 1.0
        tp = tr * td * math.log(td / tr) / (td - tr)
        return 1.0 / (math.exp(-tp / td) - math.exp(-tp / tr))


def exp2syn(tau1_ms: float, tau2_ms: float, e_mV: float, receptor: str | None = None) -> Kinetics:
    """NEURON's ``Exp2Syn`` (weights in µS). ``receptor`` None: from the reversal (see the module docs).

    As NEURON does, a ``tau1`` within 0.01 % of ``tau2`` is taken as 0.9999 · ``tau2``.
    """
    tau1, tau2 = float(tau1_ms), float(tau2_ms)
    if tau2 > 0 and tau1 / tau2 > 0.9999:
        tau1 = 0.9999 * tau2
    return Kinetics(receptor or _receptor(e_mV), tau1, tau2, float(e_mV), 1000.0)


def expsyn(tau_ms: float, e_mV: float, receptor: str | None = None) -> Kinetics:
    """NEURON's ``ExpSyn`` (weights in µS): a jump by the weight, then one exponential decay."""
    return Kinetics(receptor or _receptor(e_mV), 0.0, float(tau_ms), float(e_mV), 1000.0)


def _receptor(e_mV: float) -> str:
    """The class of a synapse without voltage dependence, from its reversal (see the module docs)."""
    if float(e_mV) >= EXCITATORY_REVERSAL_MIN_MV:
        return "ampa"
    return "gaba_b" if float(e_mV) <= GABA_B_REVERSAL_MAX_MV else "gaba_a"


def _project_ampanmda(p: dict) -> list[Kinetics]:
    e = float(p.get("e", 0.0))
    return [Kinetics("ampa", float(p.get("tau_r_AMPA", 0.3)), float(p.get("tau_d_AMPA", 3.0)), e,
                     1000.0 * float(p.get("gmax_AMPA", 0.0004))),
            Kinetics("nmda", float(p.get("tau_r_NMDA", 2.0)), float(p.get("tau_d_NMDA", 70.0)), e,
                     1000.0 * float(p.get("gmax_NMDA", 0.0004)))]


def _project_gabaa(p: dict) -> list[Kinetics]:
    return [Kinetics("gaba_a", float(p.get("tau_r", 0.2)), float(p.get("tau_d", 8.0)), float(p.get("e", -80.0)),
                     1000.0 * float(p.get("gmax", 0.001)))]


#: mod name -> function(params) -> components; NEURON's built-ins and the project's own.
_MODELS = {
    "Exp2Syn": lambda p: [exp2syn(p.get("tau1", 0.1), p.get("tau2", 10.0), p.get("e", 0.0), p.get("receptor"))],
    "ExpSyn": lambda p: [expsyn(p.get("tau", 0.1), p.get("e", 0.0), p.get("receptor"))],
    "sc_AMPANMDA": _project_ampanmda,
    "sc_GABAA": _project_gabaa,
    "sc_NMDA": lambda p: [Kinetics("nmda", float(p.get("tau1", 2.0)), float(p.get("tau2", 70.0)),
                                   float(p.get("e", 0.0)), 1000.0)],
}


def declare_synapse(mod: str, receptor: str, *, tau_rise: str | float, tau_decay: str | float,
                    e: str | float, nS_per_weight: float, defaults: dict | None = None) -> None:
    """Teach :func:`kinetics_of` a synapse mod: its receptor class and where its kinetics are.

    Parameters
    ----------
    mod : str
        The mod's name (its ``POINT_PROCESS``).
    receptor : str
        One of :data:`RECEPTORS` (``nmda``: give the unblocked conductance's kinetics).
    tau_rise, tau_decay, e : str or float
        The name of the mod's parameter that holds the value (read from the
        synapse's parameters, else from ``defaults``), or the value itself
        (ms, ms, mV).
    nS_per_weight : float
        Peak conductance (nS) of an event of weight 1 (1000 for weights in µS).

    Examples
    --------
    >>> declare_synapse("NMDA", "nmda", tau_rise="tau1", tau_decay="tau2", e="e", nS_per_weight=1000.0,
    ...                 defaults={"tau1": 15.0, "tau2": 150.0, "e": 0.0})
    """
    defaults = dict(defaults or {})

    def value(spec, params):
        if isinstance(spec, str):
            if spec in params:
                return float(params[spec])
            if spec in defaults:
                return float(defaults[spec])
            raise SynapseModelError(f"synapse mod {mod!r}: no value for its parameter {spec!r}; give it in the "
                                    "synMech's parameters or in declare_synapse(defaults=...)")
        return float(spec)

    Kinetics(receptor, 0.0, 1.0, 0.0, 0.0)  # checks the receptor name now
    _MODELS[mod] = lambda p: [Kinetics(receptor, value(tau_rise, p), value(tau_decay, p), value(e, p),
                                       float(nS_per_weight))]


def kinetics_of(params: dict, name: str = "") -> list[Kinetics]:
    """The conductance components of a synapse model written as a NetPyNE ``synMechParams`` entry.

    Parameters
    ----------
    params : dict
        ``{'mod': 'Exp2Syn', 'tau1': 0.1, 'tau2': 5.0, 'e': 0.0}`` and the like.
    name : str
        The synMech's label, for messages.

    Raises
    ------
    SynapseModelError
        A mod this package cannot map: the message names the synMech and
        :func:`declare_synapse`.
    """
    mod = params.get("mod")
    if mod not in _MODELS:
        raise SynapseModelError(
            f"synMech {name!r}: the synapse mod {mod!r} has no known receptor class and kinetics; declare it with "
            f"surrogate_cell.synapses.declare_synapse({mod!r}, receptor=..., tau_rise=..., tau_decay=..., e=..., "
            "nS_per_weight=...)")
    return _MODELS[mod](params)


def decay_over(span_ms, tau_ms) -> tuple[np.ndarray, np.ndarray]:
    """What is left of a unit exponential state after ``span_ms``, exp(−span/τ), and its integral over that span,
    ∫₀^span exp(−t/τ) dt (ms), elementwise; τ = 0 (the rise state of a jump, ``ExpSyn``) gives 0 and 0."""
    tau = np.asarray(tau_ms, dtype=np.float64)
    span = np.asarray(span_ms, dtype=np.float64)
    safe = np.where(tau > 0, tau, 1.0)
    left = np.where(tau > 0, np.exp(-span / safe), 0.0)
    integral = np.where(tau > 0, safe * -np.expm1(-span / safe), 0.0)
    return left, integral


class ConductanceBins:
    """Exact 1 ms bin means of the conductance of groups of synapses, stepped bin by bin.

    A group is synapses with one kinetics on one segment: they share two
    exponential states (rise and decay), whatever their number.

    Parameters
    ----------
    kinetics : sequence of Kinetics
        One per group.
    bin_ms : float
        The bin (ms).
    """

    def __init__(self, kinetics, bin_ms: float = 1.0):
        kinetics = list(kinetics)
        self.kinetics = kinetics
        self.bin_ms = float(bin_ms)
        tr = np.array([k.tau_rise_ms for k in kinetics], dtype=np.float64)
        td = np.array([k.tau_decay_ms for k in kinetics], dtype=np.float64)
        self.scale = np.array([k.nS_per_weight * k.factor for k in kinetics], dtype=np.float64)
        self._tau = np.stack([td, tr])  # (2, groups): decay, rise
        self._keep, self._area = decay_over(self.bin_ms, self._tau)  # per unit state over a whole bin
        self._sign = np.array([[1.0], [-1.0]])  # g = decay state - rise state
        self.state = np.zeros((2, len(kinetics)))

    def reset(self) -> None:
        self.state[:] = 0.0

    def step(self, groups=None, weights=None, offsets_ms=None) -> np.ndarray:
        """Advance one bin; its mean conductance per group (nS).

        Parameters
        ----------
        groups : array of int, optional
            The group of each event delivered in this bin.
        weights : array of float, optional
            Their weights.
        offsets_ms : array of float, optional
            Their times from the bin's start, in [0, bin_ms].
        """
        area = (self.state * self._area * self._sign).sum(0)
        self.state *= self._keep
        if groups is not None and len(groups):
            g = np.asarray(groups, dtype=np.int64)
            amount = self.scale[g] * np.asarray(weights, dtype=np.float64)
            rest = self.bin_ms - np.clip(np.asarray(offsets_ms, dtype=np.float64), 0.0, self.bin_ms)
            for row in (0, 1):
                left, integral = decay_over(rest, self._tau[row, g])
                np.add.at(area, g, self._sign[row, 0] * amount * integral)
                np.add.at(self.state[row], g, amount * left)
        return area / self.bin_ms

    @property
    def conductance_nS(self) -> np.ndarray:
        """The conductance (nS) of each group at the end of the last bin."""
        return self.state[0] - self.state[1]


#: Event weights (in units of the receptor's nS_per_weight) the generator's log-normal weights span, roughly
#: their 1st and 99th percentile: the peak conductances a model was trained on are these times nS_per_weight.
TRAINED_WEIGHT_SPAN = (0.5, 2.0)
#: A rise time this short (ms) is a jump at 1 ms bins: ExpSyn (rise 0) counts as in range where the trained
#: rise times start below it.
JUMP_RISE_MS = 0.1


def trained_ranges(kinetics: np.ndarray) -> dict:
    """The ranges a model's training data covered, per receptor class, from the data sets' kinetics tables.

    Parameters
    ----------
    kinetics : ndarray, shape (n_sims, 4, 4)
        Per simulation and receptor class: tau_rise_ms, tau_decay_ms, e_mV, nS_per_weight.

    Returns
    -------
    dict
        ``{receptor: {'tau_rise_ms': [lo, hi], 'tau_decay_ms': [lo, hi], 'peak_nS': [lo, hi], 'e_mV': e}}``
        (the metadata entry ``trained_inputs``; peaks over simulations where the receptor was present).
    """
    k = np.asarray(kinetics, dtype=np.float64).reshape(-1, len(RECEPTORS), 4)
    out = {}
    for i, r in enumerate(RECEPTORS):
        on = k[:, i, 3] > 0
        rows = k[on, i] if on.any() else k[:, i]
        out[r] = {"tau_rise_ms": [float(rows[:, 0].min()), float(rows[:, 0].max())],
                  "tau_decay_ms": [float(rows[:, 1].min()), float(rows[:, 1].max())],
                  "peak_nS": [float(rows[:, 3].min() * TRAINED_WEIGHT_SPAN[0]) if on.any() else 0.0,
                              float(rows[:, 3].max() * TRAINED_WEIGHT_SPAN[1]) if on.any() else 0.0],
                  "e_mV": float(np.median(k[:, i, 2]))}
    return out


#: A reversal potential this far (mV) from the trained one of its class is out of range.
REVERSAL_TOLERANCE_MV = 5.0


def out_of_range(components, trained: dict, weight: float | None = None) -> list[str]:
    """What of a synapse model (and a connection weight) lies outside a model's training data.

    Parameters
    ----------
    components : list of Kinetics
    trained : dict
        The model's ``trained_inputs``.
    weight : float or None
        A connection weight in the synapse model's units (µS for Exp2Syn).

    Returns
    -------
    list of str
        One phrase per value out of range (empty: all inside).
    """
    out = []
    for k in components:
        t = trained[k.receptor]
        rise_lo = t["tau_rise_ms"][0]
        rise_ok = t["tau_rise_ms"][0] <= k.tau_rise_ms <= t["tau_rise_ms"][1] or (
            k.tau_rise_ms < rise_lo <= JUMP_RISE_MS)
        if not rise_ok:
            out.append(f"{k.receptor} rise {k.tau_rise_ms:g} ms (trained {_span(t['tau_rise_ms'])} ms)")
        if not t["tau_decay_ms"][0] <= k.tau_decay_ms <= t["tau_decay_ms"][1]:
            out.append(f"{k.receptor} decay {k.tau_decay_ms:g} ms (trained {_span(t['tau_decay_ms'])} ms)")
        if abs(k.e_mV - t["e_mV"]) > REVERSAL_TOLERANCE_MV:
            out.append(f"{k.receptor} reversal {k.e_mV:g} mV (trained {t['e_mV']:g} mV)")
        if weight is not None and k.nS_per_weight > 0:
            peak = abs(float(weight)) * k.nS_per_weight
            if not t["peak_nS"][0] <= peak <= t["peak_nS"][1]:
                out.append(f"{k.receptor} peak conductance {peak:.3g} nS per event (trained {_span(t['peak_nS'])} nS)")
    return out


def _span(lo_hi) -> str:
    return f"{lo_hi[0]:.3g}–{lo_hi[1]:.3g}"

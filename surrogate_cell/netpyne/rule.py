"""``swap``: replace a detailed cell rule of a NetPyNE specification with the surrogate.

The swapped rule is an ordinary NetPyNE point-cell rule::

    netParams.cellParams[label] = {'cellModel': 'sc_Surrogate', 'surrogate': {...}}

whose ``'surrogate'`` entry (JSON-able, so ``saveCellParamsRule`` and NetPyNE's
own saving keep it) holds what the surrogate needs to place synapses the way
NetPyNE places them on the detailed cell: the model file, the detailed rule's
section names with their lengths and segment counts, its secLists, and the
section-name map to the model's segment table (``'apic_12'`` → ``'apic[12]'``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..neuron import RunnerConfig
from ..synapses import SynapseModelError, kinetics_of
from .errors import NetPyNESwapError, SwapMorphologyError, SynMechModelError

#: The artificial-cell mechanism every swapped rule uses as NetPyNE ``cellModel``.
CELL_MODEL = "sc_Surrogate"
#: Version tag of the ``'surrogate'`` entry of a swapped rule.
RULE_FORMAT = "surrogate_cell.netpyne/1"
SPIKE_TIMES = ("crossing", "emitted")
LFP_KINDS = ("line", "point", "soma_as_point")


@dataclass(frozen=True)
class SwapConfig:
    """Options of a swapped rule (stored with it).

    Attributes
    ----------
    spike_times : {'crossing', 'emitted'}
        What ``sim.allSimData['spkt']`` holds for surrogate cells: the somatic
        threshold crossing t* (as NetPyNE records a detailed cell's spike), or
        the emission time t* + 1 ms that NEURON's ``pc.spike_record`` sees
        (spikes whose emission falls after ``cfg.duration`` are then missing).
    lfp_kind : {'line', 'point', 'soma_as_point'}
        Source model of ``cfg.recordLFP`` (NetPyNE's own is a line source).
    lfp_dtype : {'float32', 'float64'}
        Precision of the surrogates' LFP kernels and of their product with the voltages.
    morphology : str or None
        The morphology file the model was trained on, to build the membrane-
        current transform T for the LFP; None: the geometry the model file
        carries (the synthetic L5PC for a file without one).
    length_tolerance_um : float
        Largest difference (µm) between a rule section's length and the
        model's section length before the model counts as trained on another
        morphology.
    runner : dict or None
        Fields of :class:`surrogate_cell.neuron.RunnerConfig` for the process's
        runner (None: its defaults).
    play_netstims : bool
        Replay the NetStim inputs of the swapped cells in the runner
        (:func:`surrogate_cell.neuron.play_netstim`: the same spikes, drawn at
        each ``finitialize`` up to ``cfg.duration``, without NEURON events)
        instead of letting NEURON deliver them: ``stimTargetParams`` NetStims
        (silenced, ``number = 0``, kept in ``cell.stims``) and NetStim
        population cells of the same rank (they keep firing for their other
        targets; the connection's ``hObj`` is None). Runs past
        ``cfg.duration`` are then an error.
    """

    spike_times: str = "crossing"
    lfp_kind: str = "line"
    lfp_dtype: str = "float32"
    morphology: str | None = None
    length_tolerance_um: float = 0.01
    runner: dict | None = field(default=None)
    play_netstims: bool = False

    def validate(self) -> None:
        if self.spike_times not in SPIKE_TIMES:
            raise NetPyNESwapError(f"SwapConfig.spike_times must be one of {SPIKE_TIMES}, got {self.spike_times!r}")
        if self.lfp_kind not in LFP_KINDS:
            raise NetPyNESwapError(f"SwapConfig.lfp_kind must be one of {LFP_KINDS}, got {self.lfp_kind!r}")
        if self.lfp_dtype not in ("float32", "float64"):
            raise NetPyNESwapError(f"SwapConfig.lfp_dtype must be 'float32' or 'float64', got {self.lfp_dtype!r}")
        if not (self.length_tolerance_um >= 0):
            raise NetPyNESwapError("SwapConfig.length_tolerance_um must be >= 0")
        if self.runner is not None:

            try:
                RunnerConfig(**self.runner).validate()
            except TypeError as exc:
                raise NetPyNESwapError(f"SwapConfig.runner: {exc}") from None

    def runner_config(self):
        """The :class:`~surrogate_cell.neuron.RunnerConfig` (None: the runner's defaults)."""

        return None if self.runner is None else RunnerConfig(**self.runner)


def model_section_name(name: str) -> str:
    """The model's name of a NetPyNE section: ``'apic_12'`` → ``'apic[12]'``, ``'soma'`` → ``'soma[0]'``.

    NetPyNE's hoc and Python imports name the array section ``apic[12]`` of a
    cell ``apic_12`` (``netpyne.conversion.neuronPyHoc.getSecName``).
    """
    name = str(name)
    if "[" in name:
        return name
    m = re.fullmatch(r"(.+)_(\d+)", name)
    return f"{m.group(1)}[{int(m.group(2))}]" if m else f"{name}[0]"


def _pt3d_length(points) -> float | None:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < 2 or pts.shape[1] < 3:
        return None
    return float(np.linalg.norm(np.diff(pts[:, :3], axis=0), axis=1).sum())


def section_geometry(label: str, secs: dict) -> dict:
    """Per NetPyNE section: the placement lengths and the effective length/nseg to check."""
    out = {}
    for name, sec in secs.items():
        geom = dict(sec.get("geom", {}) or {})
        rule_L = geom.get("L")
        if isinstance(rule_L, str):
            raise NetPyNESwapError(f"cell rule {label!r}: section {name!r} has a string-function length "
                                   f"{rule_L!r}; swap needs numeric geometry")
        L = _pt3d_length(geom["pt3d"]) if geom.get("pt3d") else None
        if L is None:
            L = float(rule_L) if rule_L is not None else None
        nseg = geom.get("nseg", 1)
        try:
            nseg = int(nseg)
        except (TypeError, ValueError):
            raise NetPyNESwapError(f"cell rule {label!r}: section {name!r} has nseg {nseg!r}; swap needs a "
                                   "number") from None
        entry = {"model": model_section_name(name), "L": L, "nseg": nseg,
                 "rule_L": None if rule_L is None else float(rule_L)}
        if isinstance(sec.get("weightNorm"), list):
            entry["weightNorm"] = [float(w) for w in sec["weightNorm"]]
        out[str(name)] = entry
    return out


def check_geometry(label: str, geometry: dict, model, tolerance_um: float) -> None:
    """Raise :class:`SwapMorphologyError` where the rule's sections are not the model's.

    Compares section names (through :func:`model_section_name`), segment counts
    (nseg) and lengths with the model's segment table.
    """
    table = model.segments
    model_secs, counts = np.unique(table.section, return_counts=True)
    model_count = dict(zip(model_secs.tolist(), counts.tolist()))
    model_len = {s: float(table.length_um[table.section == s].sum()) for s in model_count}
    problems = []
    mapped = {}
    for name, g in geometry.items():
        m = g["model"]
        if m in mapped:
            problems.append(f"sections {mapped[m]!r} and {name!r} both map to the model's {m!r}")
        mapped[m] = name
        if m not in model_count:
            problems.append(f"section {name!r} ({m}) is not in the model")
            continue
        if g["nseg"] != model_count[m]:
            problems.append(f"section {name!r} has nseg {g['nseg']}, the model's {m} {model_count[m]}")
        if g["L"] is not None and abs(g["L"] - model_len[m]) > tolerance_um + 1e-6 * model_len[m]:
            problems.append(f"section {name!r} is {g['L']:.3f} µm long, the model's {m} {model_len[m]:.3f} µm")
    missing = sorted(set(model_count) - set(mapped))
    if missing:
        problems.append(f"the model's sections {missing[:4]}{' ...' if len(missing) > 4 else ''} "
                        f"({len(missing)}) are not in the rule")
    if problems:
        raise SwapMorphologyError(
            f"model {model.path} was trained on another morphology than cell rule {label!r}: "
            f"{'; '.join(problems[:4])}{' ...' if len(problems) > 4 else ''} ({len(problems)} difference(s); "
            f"rule {len(geometry)} sections, model {len(model_count)} sections / {len(table)} segments, digest "
            f"{model.cell_digest[:12]}); use a model trained on this cell")


def synmech_components(label, synmech_params: dict) -> list:
    """The conductance components (:class:`~surrogate_cell.synapses.Kinetics`) of a synMech.

    Raises
    ------
    SynMechModelError
        ``label`` is not in ``synMechParams``, or its mod cannot be mapped.
    """
    if label not in synmech_params:
        raise SynMechModelError(f"synMech {label!r} is not in netParams.synMechParams "
                                f"({sorted(map(str, synmech_params))})")
    try:
        return kinetics_of(dict(synmech_params[label]), str(label))
    except SynapseModelError as exc:
        raise SynMechModelError(str(exc)) from None


@dataclass
class RuleInfo:
    """A swapped rule as the hooks use it (parsed from its ``'surrogate'`` entry)."""

    label: str
    model_path: str
    secs: dict
    sec_lists: dict
    config: SwapConfig
    synapses: dict = field(default_factory=dict)  # synMech label -> its components, read once

    @classmethod
    def from_rule(cls, label: str, rule: dict) -> "RuleInfo":
        meta = rule.get("surrogate")
        if not isinstance(meta, dict) or meta.get("format") != RULE_FORMAT:
            raise NetPyNESwapError(f"cell rule {label!r} uses cellModel {CELL_MODEL!r} but was not made by "
                                   "surrogate_cell.netpyne.swap (no 'surrogate' entry of format "
                                   f"{RULE_FORMAT!r}); swap the detailed rule instead")
        cfg = dict(meta.get("config") or {})
        return cls(label=str(label), model_path=str(meta["model"]), secs=dict(meta["secs"]),
                   sec_lists={k: list(v) for k, v in (meta.get("secLists") or {}).items()},
                   config=SwapConfig(**cfg))

    def synapse(self, synmech: str, synmech_params: dict) -> list:
        """:func:`synmech_components` of ``synmech``, read once per rule."""
        if synmech not in self.synapses:
            self.synapses[synmech] = synmech_components(synmech, synmech_params)
        return self.synapses[synmech]

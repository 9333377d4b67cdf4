"""``SurrogateCell``: one surrogate neuron in a NEURON network.

A surrogate cell is an ``sc_Surrogate`` artificial cell (``cell.source``):
a spike source for ``h.NetCon`` and ``pc.cell(gid, ...)``, and the target of
every connection onto the cell. Its dynamics are computed by the process's
population runner (:mod:`surrogate_cell.neuron.runner`).

Synaptic targets are addressed as on the detailed cell: section name, arc
position and the synapse model (``Exp2Syn`` with its tau1, tau2 and e, the
project's ``sc_AMPANMDA`` ...). Each resolves to the segment that contains
the position, and every event becomes that synapse model's conductance on
the segment, with the weight's meaning in that model (µS for ``Exp2Syn``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cells.segments import SegmentTable
from ..errors import MorphologyMismatchError, NetworkError, UnknownSectionError
from ..model import SurrogateModel
from ..synapses import Kinetics, SynapseModelError, kinetics_of, out_of_range
from .runner import RunnerConfig, get_runner

#: Shorthand names of :meth:`SurrogateCell.synapse` (case-insensitive): the project's own synapses, whose
#: weight 1 is 0.4 nS AMPA + 0.4 nS NMDA (``sc_AMPANMDA``) or 1 nS GABA_A (``sc_GABAA``), as on the detailed HayCell.
SHORTHANDS = {
    "exc": "sc_AMPANMDA", "ampanmda": "sc_AMPANMDA", "ampa+nmda": "sc_AMPANMDA", "sc_ampanmda": "sc_AMPANMDA",
    "inh": "sc_GABAA", "gaba": "sc_GABAA", "gabaa": "sc_GABAA", "gaba_a": "sc_GABAA", "sc_gabaa": "sc_GABAA",
}


class SynapseRangeWarning(UserWarning):
    """A synapse model or weight outside the range of the model's training data."""


def synapse_components(model, label: str | None = None) -> tuple[str, list]:
    """(label, Kinetics components) of a synapse model given as :meth:`SurrogateCell.synapse` takes it."""
    if isinstance(model, Kinetics):
        return label or model.receptor, [model]
    if isinstance(model, (list, tuple)) and model and all(isinstance(k, Kinetics) for k in model):
        return label or "+".join(k.receptor for k in model), list(model)
    if isinstance(model, str):
        mod = SHORTHANDS.get(model.strip().lower(), model.strip())
        return label or model, kinetics_of({"mod": mod}, label or model)
    if isinstance(model, dict):
        name = label or str(model.get("mod"))
        return name, kinetics_of(model, name)
    raise SynapseModelError(f"a synapse model must be a name ('exc', 'inh', 'Exp2Syn', ...), a synMechParams-like "
                            f"dict such as {{'mod': 'Exp2Syn', 'tau1': 0.1, 'tau2': 5, 'e': 0}}, or Kinetics; got "
                            f"{type(model).__name__}")


def warn_out_of_range(model: SurrogateModel, label: str, components, weight: float | None = None) -> None:
    """Warn (:class:`SynapseRangeWarning`) where a synapse model or a weight lies outside the training data."""
    outside = out_of_range(components, model.trained_inputs, weight)
    if outside:
        warnings.warn(f"synapse {label!r}: {'; '.join(outside)}, outside what model {Path(model.path).name} was "
                      "trained on; its response there is an extrapolation", SynapseRangeWarning, stacklevel=3)


def section_key(section) -> str:
    """``'apic[10]'`` for ``'apic[10]'``, ``'soma'`` → ``'soma[0]'``, or a NEURON Section's short name."""
    if not isinstance(section, str):
        name = getattr(section, "name", None)
        if name is None:
            raise UnknownSectionError(f"a section must be a name such as 'apic[10]' or a NEURON Section, "
                                      f"got {type(section).__name__}")
        section = name().split(".")[-1]
    section = section.strip()
    return section if "[" in section else f"{section}[0]"


def morphology_digest(expect) -> tuple[str, int]:
    """(cell digest, segment count) of a HayCell-like object (``.segments``), a SegmentTable or a digest string."""
    if isinstance(expect, str):
        return expect, -1
    table = getattr(expect, "segments", expect)
    if not isinstance(table, SegmentTable):
        raise NetworkError(f"expect_morphology must be a cell with a .segments table, a SegmentTable or a "
                           f"cell digest string, got {type(expect).__name__}")
    return table.digest(), len(table)


def check_morphology(model: SurrogateModel, expect) -> None:
    """Raise :class:`MorphologyMismatchError` where ``model`` was not trained on ``expect``."""
    digest, n = morphology_digest(expect)
    if digest != model.cell_digest:
        what = f"{n} segments, digest {digest[:12]}" if n >= 0 else f"digest {digest[:12]}"
        raise MorphologyMismatchError(
            f"model {model.path} was trained on another morphology ({model.n_segments} segments, digest "
            f"{model.cell_digest[:12]}) than the network asks for ({what}); use a model trained on this "
            "cell, or build the network on the model's morphology")


@dataclass(frozen=True)
class SynapseTarget:
    """A synapse of a surrogate cell: a synapse model on one segment.

    Use it as the target of :func:`~surrogate_cell.neuron.connect` /
    :func:`~surrogate_cell.neuron.gid_connect`. With a raw
    ``nc = h.NetCon(src, target.hoc)``, set ``nc.weight[1] = target.code``.

    Attributes
    ----------
    cell : SurrogateCell
    section : str
        Section name (``'apic[10]'``).
    x : float
        Arc position asked for (0–1).
    label : str
        The synapse model's name (a synMech label, a mod name or a shorthand).
    components : tuple of Kinetics
        Its conductance components (receptor class, kinetics, nS per unit weight).
    segment : int
        Segment-table row of the segment that contains ``x``.
    code : int
        ``NetCon.weight[1]`` value addressing this synapse (from 1; 0 means unset).
    """

    cell: "SurrogateCell"
    section: str
    x: float
    label: str
    components: tuple
    segment: int
    code: int

    @property
    def receptors(self) -> tuple:
        """The receptor classes of its components."""
        return tuple(k.receptor for k in self.components)

    def check_weight(self, weight: float) -> None:
        """Warn (:class:`SynapseRangeWarning`) where events of this weight peak outside the training data."""
        warn_out_of_range(self.cell.model, self.label, self.components, weight)

    @property
    def hoc(self):
        """The ``sc_Surrogate`` point process that receives the events."""
        return self.cell.source


class Recording:
    """Voltages of one or more segments of a surrogate cell, sampled every 1 ms.

    ``t`` starts at the run's start: ``v[0]`` is the model's rest voltage (one
    input-free step from its initial state), ``v[k]`` the voltage at
    ``t = t[0] + k`` ms, i.e. at the end of bin k − 1. Valid after a run (and
    during one, up to the last completed ms).
    """

    def __init__(self, batch, start: int, stop: int, section: str | None, x: float | None, segments):
        self.batch, self._cols = batch, slice(start, stop)
        self.section, self.x = section, x
        self.segments = np.asarray(segments)

    @property
    def t(self) -> np.ndarray:
        """Sample times (ms)."""
        return np.asarray(self.batch.t_ms)

    @property
    def v(self) -> np.ndarray:
        """Voltage (mV): shape (T,) for one segment, (T, n) for several."""
        data = self.batch.recorded()[:, self._cols]
        return data[:, 0] if self.section is not None else data

    def vector(self):
        """The voltage of a single-segment recording as a NEURON ``h.Vector`` (mV)."""
        if self.section is None:
            raise NetworkError("vector() is for a single-segment recording; use .v for record_all()")
        from neuron import h  # NEURON: only where a simulation is built

        return h.Vector(self.v)


class SurrogateCell:
    """One surrogate neuron in a NEURON network.

    Parameters
    ----------
    model : SurrogateModel or str or Path
        A loaded model (:func:`surrogate_cell.model.load`) or its file (loaded
        once per process). Cells sharing one loaded model are stepped as one
        batch.
    gid : int or None
        Register the cell under this gid on this rank (``pc.set_gid2node``,
        ``pc.cell``), for ``pc.gid_connect`` and ``pc.spike_record``.
    expect_morphology : HayCell, SegmentTable, str or None
        The morphology the network is built for (a cell with ``.segments``, a
        segment table, or a cell digest): a model trained on another one is an
        error.
    config : RunnerConfig or None
        Configuration of the process's runner (only where it creates it).
    source : hoc ``sc_Surrogate`` or None
        Adopt an ``sc_Surrogate`` created elsewhere (e.g. by NetPyNE for a
        point cell) instead of creating one. Its gid, if any, was registered
        by its creator: ``gid`` then names it (it must exist on this rank) and
        is declared a surrogate source, without ``pc.set_gid2node`` /
        ``pc.cell`` again.

    Attributes
    ----------
    source : hoc ``sc_Surrogate``
        The spike source (``h.NetCon(cell.source, target)``, ``pc.cell``) and
        the target of every input.
    gid : int or None
    model : SurrogateModel
    incoming, outgoing : list of h.NetCon
        NetCons made by :func:`~surrogate_cell.neuron.connect` /
        ``gid_connect`` onto and from this cell, kept alive with it.
    runner : SurrogateRunner
        The process's runner, which steps the cell.
    batch : ModelBatch
        The cells of its model in this process; ``row`` is its row there.

    Examples
    --------
    >>> from surrogate_cell.model import load
    >>> from surrogate_cell.neuron import SurrogateCell, connect
    >>> model = load("l5pc.pt")
    >>> cell = SurrogateCell(model, gid=0)
    >>> stim = h.NetStim(); stim.start, stim.number = 10, 1
    >>> nc = connect(stim, cell.synapse("apic[10]", 0.5, "exc"), weight=2.0, delay=1.0)
    >>> soma = cell.record("soma", 0.5)
    >>> h.finitialize(-65); h.continuerun(50)
    >>> soma.v, cell.spike_times
    """

    def __init__(self, model: SurrogateModel | str | Path, gid: int | None = None, *,
                 expect_morphology=None, config: RunnerConfig | None = None, source=None):
        runner = get_runner(config)
        if source is None and gid is not None and runner.pc.gid_exists(int(gid)):
            raise NetworkError(f"gid {int(gid)} is in use on this rank already; give every cell its own gid")
        if source is not None:
            if getattr(source, "hname", lambda: "")().split("[")[0] != "sc_Surrogate":
                raise NetworkError(f"source must be an sc_Surrogate point process, got {source!r}")
            if gid is not None and not runner.pc.gid_exists(int(gid)):
                raise NetworkError(f"gid {int(gid)} of an adopted sc_Surrogate is not registered on this rank; "
                                   "register it (pc.set_gid2node, pc.cell) before adopting the cell")
        if isinstance(model, (str, Path)):
            model = runner.load_model(model)
        if not isinstance(model, SurrogateModel):
            raise NetworkError(f"model must be a SurrogateModel (surrogate_cell.model.load) or a path, "
                               f"got {type(model).__name__}")
        if expect_morphology is not None:
            check_morphology(model, expect_morphology)
        h = runner.h
        self.model = model
        self.gid = None
        self.incoming: list = []
        self.outgoing: list = []
        self.source = h.sc_Surrogate() if source is None else source
        self._self_nc = h.NetCon(None, self.source)  # the runner's spike trigger (flag 2)
        self.runner = runner
        self.batch, self.row, cellid = runner.add_cell(self, model)
        self.source.cellid = cellid
        if gid is not None and source is None:
            self._register_gid(int(gid))
        elif gid is not None:
            self.gid = int(gid)
            runner.declare_surrogate_gids([self.gid])

    def _register_gid(self, gid: int) -> None:
        pc = self.runner.pc
        pc.set_gid2node(gid, pc.id())
        pc.cell(gid, self.runner.h.NetCon(self.source, None))
        self.gid = gid
        self.runner.declare_surrogate_gids([gid])

    @property
    def label(self) -> str:
        return f"gid {self.gid}" if self.gid is not None else f"#{int(self.source.cellid)}"

    def __repr__(self):
        return f"SurrogateCell({self.label}, model={Path(self.model.path).name})"

    @property
    def latency_ms(self) -> float:
        """Time from a somatic crossing to the emitted spike (ms)."""
        return self.runner.latency_ms

    # -- addressing ------------------------------------------------------------
    def segment(self, section, x: float = 0.5) -> int:
        """Segment-table row of ``section(x)``.

        Raises
        ------
        UnknownSectionError
            The model's cell has no such section, or ``x`` is outside [0, 1].
        """
        name = section_key(section)
        try:
            x = float(x)
        except (TypeError, ValueError):
            raise UnknownSectionError(f"location x must be a number in [0, 1], got {x!r}") from None
        if not (0.0 <= x <= 1.0):
            raise UnknownSectionError(f"location x must be in [0, 1], got {x} for {name}")
        table = self.model.segments
        if table.section_rows(name).size == 0:
            families = sorted({s.split("[")[0] for s in table.section})
            count = len(set(table.section))
            raise UnknownSectionError(
                f"the model's cell has no section {name!r} ({count} sections, families {families}; "
                "names like 'soma[0]', 'dend[3]', 'apic[10]')")
        return table.index(name, x)

    def synapse(self, section, x: float = 0.5, model="exc", *, label: str | None = None) -> SynapseTarget:
        """A synapse of ``model`` at ``section(x)``: events onto it become its conductance on that segment.

        Parameters
        ----------
        section : str or nrn.Section
            ``'soma'``, ``'axon[0]'``, ``'apic[10]'``, ``'dend[3]'`` ... (``'soma'`` means ``'soma[0]'``).
        x : float
            Arc position in [0, 1]; the synapse sits on the segment containing it.
        model : str, dict, Kinetics or list of Kinetics
            The synapse model. A dict as a NetPyNE ``synMechParams`` entry writes it
            (``{'mod': 'Exp2Syn', 'tau1': 0.1, 'tau2': 5, 'e': 0}``: weights in µS, a weight w
            peaks at w µS); a mod name with its default parameters (``'Exp2Syn'``,
            ``'sc_NMDA'``); ``'exc'`` / ``'inh'``, the project's ``sc_AMPANMDA`` / ``sc_GABAA``
            (weight 1 = 0.4 nS AMPA + 0.4 nS NMDA, or 1 nS GABA_A); or
            :class:`~surrogate_cell.synapses.Kinetics` components. Other mods:
            :func:`~surrogate_cell.synapses.declare_synapse`.
        label : str, optional
            The name used in messages (NetPyNE passes the synMech label).

        Raises
        ------
        UnknownSectionError
        SynapseModelError
            A synapse model that cannot be mapped to receptor classes.

        Warns
        -----
        SynapseRangeWarning
            Kinetics or a reversal outside the model's training data.
        """
        name, components = synapse_components(model, label)
        row = self.segment(section, x)
        warn_out_of_range(self.model, name, components)
        code = self.batch.target_code(row, components)
        return SynapseTarget(self, section_key(section), float(x), name, tuple(components), row, code)

    # -- recording -------------------------------------------------------------
    def record(self, section="soma", x: float = 0.5) -> Recording:
        """Record the voltage of ``section(x)`` every 1 ms (from the next ``finitialize``)."""
        row = self.segment(section, x)
        start, stop = self.batch.add_recording(self.row, [row])
        self.runner.structure_changed()
        return Recording(self.batch, start, stop, section_key(section), float(x), [row])

    def record_all(self) -> Recording:
        """Record every segment (``.v`` is (T, segments), rows of ``model.segments``)."""
        rows = np.arange(self.model.n_segments)
        start, stop = self.batch.add_recording(self.row, rows)
        self.runner.structure_changed()
        return Recording(self.batch, start, stop, None, None, rows)

    @property
    def spike_times(self) -> np.ndarray:
        """Somatic crossing times t* (ms) since the last ``finitialize``.

        The spike NEURON sees (NetCons, ``pc.spike_record``) is emitted at
        ``t* + latency_ms``.
        """
        return self.batch.cell_spikes(self.row)

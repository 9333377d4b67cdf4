"""How a swapped NetPyNE specification runs: three hooks, installed by ``swap`` (or ``install``).

NetPyNE 1.1.1 has no plug-in points, so :func:`install` replaces three
attributes of the ``netpyne.sim`` module (:func:`uninstall` restores them):

``sim.PointCell``
    :class:`~.cell.SurrogatePointCell`, a subclass that NetPyNE instantiates
    for every point-cell population. Cells of a swapped rule join the
    surrogate runner and place their connections and NetStim inputs on the
    model's input channels while NetPyNE builds the network
    (``createCells``, ``connectCells``, ``addStims``); other point cells are
    unchanged.
``sim.setupRecording``
    Wrapped. Before NetPyNE's own set-up (every NetPyNE flow calls it once,
    after cells, connections and stimuli exist, before the run) it finalises
    the network on every rank: the gids of all surrogate cells are gathered
    over ranks and declared to the runner, and every NetCon whose presynaptic
    cell is a surrogate gets its delay shortened by the surrogate's spike
    latency (1 ms; see ``docs/neuron.md``), with too-short delays an error.
    ``cfg.recordLFP`` is taken over (NetPyNE's own set-up fails on NEURON 9):
    detailed cells through :func:`~surrogate_cell.lfp.netpyne.setup_detailed_lfp`,
    surrogates through the runner's :meth:`record_lfp`.
``sim.gatherData``
    Wrapped. Before NetPyNE gathers, the surrogates' traces are written into
    their ``sim.simData`` vectors (linear between the model's 1 ms samples, at
    NetPyNE's ``recordStep`` times), and their spikes in ``spkt``/``spkid``
    become the somatic crossing times. After it, the LFP (detailed plus
    surrogates, summed over ranks) goes into ``sim.allSimData['LFP']`` with
    :func:`~surrogate_cell.lfp.netpyne.fill_netpyne_lfp`.

Networks without swapped rules run as before, except that ``cfg.recordLFP``
is taken over where NetPyNE's own LFP cannot run (NEURON without
``PtrVector.ptr_update_callback``).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import DelayTooShortError, SurrogateCellError
from .errors import NetPyNESwapError, SwapSectionError, UnsupportedFeatureError
from .rule import CELL_MODEL, RuleInfo, model_section_name

_ORIGINALS: dict = {}


class _State:
    """This process's surrogate bookkeeping for one ``sim.net``."""

    def __init__(self, net=None):
        self.net = net
        self.rules: dict = {}       # label -> RuleInfo
        self.views: dict = {}       # label -> _SectionView
        self.cells: dict = {}       # gid -> SurrogateCell (this rank)
        self.labels: dict = {}      # gid -> rule label
        self.traces: list = []      # (h.Vector, Recording)
        self.finalized = False
        self.surrogate_gids: set = set()
        self.lfp_positions = None   # cfg.recordLFP, taken over
        self.lfp_detailed = None    # DetailedLFPRecorder of this rank's compartmental cells
        self.lfp_recordings: list = []


_STATE = _State()


def _sim():
    from netpyne import sim

    return sim


def _state() -> _State:
    """The state of the current ``sim.net``; a new network starts a new state (and a fresh runner)."""
    global _STATE
    net = getattr(_sim(), "net", None)
    if _STATE.net is not net:
        old = _STATE
        _STATE = _State(net)
        _release_detailed_lfp(old)
        if old.cells or old.lfp_recordings:
            from ..neuron import runner as runner_mod

            runner = runner_mod._RUNNER
            if runner is not None:
                ours = {id(c) for c in old.cells.values()}
                if all(id(c) in ours for c in runner.cells):
                    runner_mod.reset_runner()  # every cell was the previous network's
                else:
                    for rec in old.lfp_recordings:
                        rec.close()
    return _STATE


def _release_detailed_lfp(st: _State) -> None:
    """Drop the detailed cells' LFP recorder: it holds their segments, which would outlive ``sim.clearAll``
    and keep being integrated in the next network of the process."""
    if st.lfp_detailed is not None:
        st.lfp_detailed.close()
        st.lfp_detailed = None


def _clear_all(*args, **kwargs):
    import gc

    _release_detailed_lfp(_STATE)
    out = _ORIGINALS["clearAll"](*args, **kwargs)
    gc.collect()  # free the cells now, not from inside a later run (NEURON 9 aborts on that)
    return out


# -- installation ------------------------------------------------------------------------
def installed() -> bool:
    """Whether the hooks are in place."""
    return bool(_ORIGINALS) and getattr(_sim().setupRecording, "_surrogate_hook", False)


def install() -> None:
    """Install the hooks (idempotent; :func:`~surrogate_cell.netpyne.swap` calls it).

    Raises
    ------
    NetPyNESwapError
        The installed NetPyNE lacks the synapse-placement functions the
        surrogate reuses (they are private to NetPyNE; 1.1.1 has them).
    """
    import netpyne
    from netpyne.cell.compartCell import CompartCell

    from ..mechanisms import load_mechanisms
    from .cell import PLACEMENT_FUNCTIONS, SurrogatePointCell

    if installed():
        return
    missing = [f for f in PLACEMENT_FUNCTIONS if not hasattr(CompartCell, f)]
    if missing:
        raise NetPyNESwapError(f"NetPyNE {netpyne.__version__} has no CompartCell.{missing[0]}; surrogate_cell's "
                               "NetPyNE integration was written against NetPyNE 1.1.1's synapse placement")
    load_mechanisms()  # sc_Surrogate must exist before NetPyNE resolves cell classes
    sim = _sim()
    _ORIGINALS.update(PointCell=sim.PointCell, setupRecording=sim.setupRecording, gatherData=sim.gatherData,
                      clearAll=sim.clearAll)
    sim.PointCell = SurrogatePointCell
    sim.setupRecording = _setup_recording
    sim.gatherData = _gather_data
    sim.clearAll = _clear_all


def uninstall() -> None:
    """Restore NetPyNE's own ``sim.PointCell``, ``setupRecording``, ``gatherData`` and ``clearAll``."""
    if not _ORIGINALS:
        return
    sim = _sim()
    sim.PointCell = _ORIGINALS["PointCell"]
    sim.setupRecording = _ORIGINALS["setupRecording"]
    sim.gatherData = _ORIGINALS["gatherData"]
    sim.clearAll = _ORIGINALS["clearAll"]
    _ORIGINALS.clear()


# -- cells ---------------------------------------------------------------------------------
def rule_info(tags) -> RuleInfo | None:
    """The swapped rule of a point cell's tags, or None for a point cell of another model."""
    if tags.get("cellModel") != CELL_MODEL:
        return None
    st = _state()
    label = tags.get("cellType")
    if label not in st.rules:
        rule = _sim().net.params.cellParams.get(label) if label is not None else None
        st.rules[label] = RuleInfo.from_rule(str(label), rule or {})
    return st.rules[label]


def section_view(info: RuleInfo):
    st = _state()
    if info.label not in st.views:
        from .cell import _SectionView

        st.views[info.label] = _SectionView(-1, info)
    return st.views[info.label]


def adopt(cell, info: RuleInfo) -> None:
    """Make ``cell``'s ``sc_Surrogate`` a :class:`~surrogate_cell.neuron.SurrogateCell` of the runner."""
    from ..neuron import SurrogateCell, get_runner

    st = _state()
    runner = get_runner(info.config.runner_config())
    model = runner.load_model(info.model_path)
    st.cells[cell.gid] = SurrogateCell(model, source=cell.hPointp)
    st.labels[cell.gid] = info.label


def register_gid(cell) -> None:
    """After NetPyNE registered the gid: name the surrogate and declare it a surrogate source."""
    st = _state()
    sc = st.cells.get(cell.gid)
    if sc is not None and _sim().cfg.createNEURONObj:
        sc.gid = int(cell.gid)
        sc._runner.declare_surrogate_gids([sc.gid])


def surrogate_of(cell):
    """The :class:`~surrogate_cell.neuron.SurrogateCell` of a swapped NetPyNE cell."""
    sc = _state().cells.get(cell.gid)
    if sc is None:
        raise UnsupportedFeatureError(f"cell gid {cell.gid} of swapped rule {cell.tags.get('cellType')!r} has no "
                                      "surrogate: NetPyNE did not create its NEURON objects "
                                      "(cfg.createNEURONObj must be True)")
    return sc


def record_traces(cell) -> None:
    """``cfg.recordTraces`` of a surrogate cell: membrane voltage of a section (``'var': 'v'``)."""
    from neuron import h

    sim = _sim()
    st = _state()
    info = rule_info(cell.tags)
    sc = surrogate_of(cell)
    for key, params in sim.cfg.recordTraces.items():
        if "conds" in params and not cell.checkConditions(params["conds"]):
            continue
        where = f"cfg.recordTraces[{key!r}] on cell gid {cell.gid} (swapped rule {info.label!r})"
        other = [k for k in ("mech", "synMech", "stim", "pointp") if k in params]
        if other or params.get("var", "v") != "v" or "sec" not in params:
            what = f"'{other[0]}'" if other else (f"var {params.get('var')!r}" if "sec" in params else "no 'sec'")
            raise UnsupportedFeatureError(
                f"{where} asks for {what}: a surrogate predicts membrane voltages only; record "
                "{'sec': ..., 'loc': ..., 'var': 'v'}, or add 'conds' that exclude the surrogate's population")
        sec = params["sec"]
        name = info.secs[sec]["model"] if sec in info.secs else model_section_name(sec)
        try:
            rec = sc.record(name, params.get("loc", 0.5))
        except SurrogateCellError as exc:
            raise SwapSectionError(f"{where}: {exc}") from None
        vec = h.Vector()
        sim.simData[key]["cell_" + str(cell.gid)] = vec
        st.traces.append((vec, rec))


# -- the hooks -----------------------------------------------------------------------------
def _swapped_in_use(sim) -> bool:
    labels = {label for label, rule in sim.net.params.cellParams.items() if "surrogate" in rule}
    return any(pop.tags.get("cellType") in labels for pop in sim.net.pops.values())


def _netpyne_lfp_broken() -> bool:
    from neuron import h

    return not hasattr(h.PtrVector(1), "ptr_update_callback")


def finalize(sim, st: _State) -> None:
    """Gather surrogate gids over ranks, compensate delays from surrogates, check the run settings."""
    if st.finalized:
        return
    from ..neuron import get_runner

    cfg = sim.cfg
    if not cfg.createNEURONObj or not cfg.createPyStruct:
        raise UnsupportedFeatureError("swapped rules need cfg.createNEURONObj and cfg.createPyStruct (the "
                                      "surrogates read NetPyNE's connection records)")
    duration = float(cfg.duration)
    if abs(duration - round(duration)) > 1e-9:
        raise UnsupportedFeatureError(f"cfg.duration = {duration} ms: surrogates step every 1 ms; use a whole "
                                      "number of ms")
    if float(cfg.dt) > 1.0 + 1e-9:
        raise UnsupportedFeatureError(f"cfg.dt = {float(cfg.dt):g} ms is longer than the surrogates' 1 ms step; use "
                                      "cfg.dt = 1 ms or less, e.g. 0.025")
    if (cfg.recordTraces or cfg.recordLFP) and (cfg.recordStep == "adaptive" or getattr(cfg, "use_local_dt", False)):
        raise UnsupportedFeatureError("cfg.recordStep 'adaptive' / cfg.use_local_dt are not supported with surrogates")
    if cfg.recordLFP and (getattr(cfg, "saveLFPCells", False) or getattr(cfg, "saveLFPPops", False)
                          or getattr(cfg, "recordDipole", False)):
        raise UnsupportedFeatureError("cfg.saveLFPCells, cfg.saveLFPPops and cfg.recordDipole are not supported "
                                      "with surrogates; cfg.recordLFP gives the network LFP")
    infos = [rule_info({"cellModel": CELL_MODEL, "cellType": label})
             for label, rule in sim.net.params.cellParams.items() if "surrogate" in rule]
    runner = get_runner(infos[0].config.runner_config() if infos else None)
    gids = sorted(st.cells)
    if int(sim.nhosts) > 1:
        everyone = set()
        for part in sim.pc.py_allgather(gids):
            everyone.update(int(g) for g in part)
    else:
        everyone = set(gids)
    runner.declare_surrogate_gids(everyone)
    latency = runner.latency_ms
    minimum = latency + runner.config.min_netcon_delay_ms
    for cell in sim.net.cells:
        for conn in cell.conns:
            pre = conn.get("preGid")
            if isinstance(pre, str) or pre is None or int(pre) not in everyone:
                continue
            nc = conn.get("hObj")
            if nc is None:
                continue
            d = float(conn["delay"])
            if d < minimum - 1e-12:
                label = conn.get("label")
                raise DelayTooShortError(
                    f"connection{f' {label!r}' if label else ''} from surrogate gid {pre} to gid {cell.gid}: delay "
                    f"{d:g} ms is below a surrogate's minimum {minimum:g} ms (it emits its spike {latency:g} ms "
                    "after the somatic crossing, compensated on its connections); use a longer delay")
            nc.delay = d - latency
    st.surrogate_gids = everyone
    st.finalized = True


def _setup_recording(*args, **kwargs):
    sim = _sim()
    st = _state()
    uses = _swapped_in_use(sim)
    if uses:
        finalize(sim, st)
    positions = None
    if sim.cfg.recordLFP and (uses or _netpyne_lfp_broken()):
        positions = np.asarray(sim.cfg.recordLFP, dtype=np.float64).tolist()
        sim.cfg.recordLFP = []  # NetPyNE's own LFP set-up fails on NEURON 9; ours below
    try:
        out = _ORIGINALS["setupRecording"](*args, **kwargs)
    except BaseException:
        if positions is not None:
            sim.cfg.recordLFP = positions
        raise
    if positions is not None:
        _setup_lfp(sim, st, positions)
    return out


_setup_recording._surrogate_hook = True


def _setup_lfp(sim, st: _State, positions) -> None:
    from ..lfp.netpyne import netpyne_cell_placement, netpyne_electrodes, setup_detailed_lfp
    from ..neuron import get_runner

    st.lfp_positions = positions
    infos = list(st.rules.values()) or [rule_info({"cellModel": CELL_MODEL, "cellType": label})
                                        for label, rule in sim.net.params.cellParams.items() if "surrogate" in rule]
    kind = infos[0].config.lfp_kind if infos else "line"
    if any(type(c).__name__ == "CompartCell" for c in sim.net.cells):
        st.lfp_detailed = setup_detailed_lfp(sim, positions, kind=kind)
    by_label: dict = {}
    for cell in sim.net.cells:
        if cell.gid in st.cells:
            by_label.setdefault(st.labels[cell.gid], {})[st.cells[cell.gid]] = netpyne_cell_placement(sim, cell)
    for label, placements in by_label.items():
        info = st.rules[label]
        runner = get_runner(info.config.runner_config())
        electrodes = netpyne_electrodes(positions, kind=info.config.lfp_kind)
        st.lfp_recordings.append(runner.record_lfp(electrodes, placements, morphology=info.config.morphology,
                                                   dtype=info.config.lfp_dtype))


def finish(sim, st: _State) -> None:
    """Write the surrogates' traces and spikes into ``sim.simData`` (after a run, before gathering)."""
    cfg = sim.cfg
    step = float(cfg.recordStep)
    t = sim.simData.get("t")
    n = len(t) if t is not None and len(t) else int(round(float(cfg.duration) / step)) + 1
    times = np.arange(n) * step
    for vec, rec in st.traces:
        rt, rv = rec.t, rec.v
        if len(rt) == 0 or times[-1] > rt[-1] + 1e-9:
            raise NetPyNESwapError(f"surrogate traces cover {rt[-1] if len(rt) else 'no'} ms, NetPyNE's "
                                   f"{times[-1]:g} ms: gather after running the full cfg.duration")
        vec.from_python(np.interp(times, rt, rv))
    if not st.cells or st.rules and all(i.config.spike_times == "emitted" for i in st.rules.values()):
        return
    spkt, spkid = sim.simData.get("spkt"), sim.simData.get("spkid")
    if spkt is None or spkid is None:
        return
    if cfg.recordCellsSpikes == -1:
        recorded = set(st.cells)
    else:
        from netpyne.sim import utils

        recorded = set(utils.getCellsList(cfg.recordCellsSpikes, returnGids=True)) & set(st.cells)
    crossing = {g for g in st.cells if st.rules[st.labels[g]].config.spike_times == "crossing"}
    t_all, id_all = np.asarray(spkt, dtype=np.float64), np.asarray(spkid, dtype=np.float64)
    keep = ~np.isin(id_all, np.array(sorted(crossing), dtype=np.float64))
    ts, ids = [t_all[keep]], [id_all[keep]]
    end = float(cfg.duration) + 1e-9
    for gid in sorted(crossing & recorded):
        s = st.cells[gid].spike_times
        s = s[s <= end]
        ts.append(s)
        ids.append(np.full(s.size, float(gid)))
    t_new, id_new = np.concatenate(ts), np.concatenate(ids)
    order = np.lexsort((id_new, t_new))
    spkt.from_python(t_new[order])
    spkid.from_python(id_new[order])


def _lfp_parts(sim, st: _State) -> list:
    cfg = sim.cfg
    step = float(cfg.recordStep)
    n = int(math.ceil(float(cfg.duration) / step - 1e-9))
    times = (np.arange(n) + 1) * step
    parts = [st.lfp_detailed] if st.lfp_detailed is not None else []
    sur = np.zeros((len(st.lfp_positions), n))
    for rec in st.lfp_recordings:
        sur = sur + rec.lfp_at(times, reduce=False)
    parts.append(sur)
    return parts


def _gather_data(*args, **kwargs):
    from ..lfp.netpyne import fill_netpyne_lfp

    sim = _sim()
    st = _state()
    if st.finalized:
        finish(sim, st)
    gather_lfp = kwargs.get("gatherLFP", args[0] if args else True)
    parts = _lfp_parts(sim, st) if st.lfp_positions is not None and gather_lfp else None
    out = _ORIGINALS["gatherData"](*args, **kwargs)
    if parts is not None:
        fill_netpyne_lfp(sim, *parts, positions=st.lfp_positions)
    return out


_gather_data._surrogate_hook = True

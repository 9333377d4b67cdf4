"""The surrogate bookkeeping of one NetPyNE network (``sim.net``) in this process.

Everything the point-cell adapter (:mod:`.cell`) and the hooks (:mod:`.hooks`)
share lives here, keyed by gid, not on the cell objects: NetPyNE pickles
cells' ``__dict__`` to gather them over MPI ranks. A new ``sim.net`` starts a
new state (and, where every surrogate was the previous network's, a fresh
runner).
"""
from __future__ import annotations

from ..errors import SurrogateCellError
from ..neuron import SurrogateCell, get_runner
from ..neuron import runner as runner_mod
from .errors import SwapSectionError, UnsupportedFeatureError
from .placement import SectionView
from .rule import CELL_MODEL, RuleInfo, model_section_name


class _State:
    """This process's surrogate bookkeeping for one ``sim.net``."""

    def __init__(self, net=None):
        self.net = net
        self.rules: dict = {}       # label -> RuleInfo
        self.views: dict = {}       # label -> SectionView
        self.cells: dict = {}       # gid -> SurrogateCell (this rank)
        self.labels: dict = {}      # gid -> rule label
        self.traces: list = []      # (h.Vector, Recording)
        self.finalized = False
        self.surrogate_gids: set = set()
        self.lfp_positions = None   # cfg.recordLFP, taken over
        self.lfp_detailed = None    # DetailedLFPRecorder of this rank's compartmental cells
        self.lfp_recordings: list = []


_STATE = _State()


def netpyne_sim():
    from netpyne import sim  # the one NetPyNE sim module, as the user's script has it

    return sim


def current() -> _State:
    """The state of the current ``sim.net``; a new network starts a new state (and a fresh runner)."""
    global _STATE
    net = getattr(netpyne_sim(), "net", None)
    if _STATE.net is not net:
        old = _STATE
        _STATE = _State(net)
        _release_detailed_lfp(old)
        if old.cells or old.lfp_recordings:
            runner = runner_mod._RUNNER
            if runner is not None:
                ours = {id(c) for c in old.cells.values()}
                if all(id(c) in ours for c in runner.cells):
                    runner_mod.reset_runner()  # every cell was the previous network's
                else:
                    for rec in old.lfp_recordings:
                        rec.close()
    return _STATE


def release_lfp() -> None:
    """Drop the current network's detailed-cell LFP recorder (before ``sim.clearAll``)."""
    _release_detailed_lfp(_STATE)


def _release_detailed_lfp(st: _State) -> None:
    """Drop the detailed cells' LFP recorder: it holds their segments, which would outlive ``sim.clearAll``
    and keep being integrated in the next network of the process."""
    if st.lfp_detailed is not None:
        st.lfp_detailed.close()
        st.lfp_detailed = None


# -- cells ---------------------------------------------------------------------------------
def rule_info(tags) -> RuleInfo | None:
    """The swapped rule of a point cell's tags, or None for a point cell of another model."""
    if tags.get("cellModel") != CELL_MODEL:
        return None
    st = current()
    label = tags.get("cellType")
    if label not in st.rules:
        rule = netpyne_sim().net.params.cellParams.get(label) if label is not None else None
        st.rules[label] = RuleInfo.from_rule(str(label), rule or {})
    return st.rules[label]


def section_view(info: RuleInfo):
    st = current()
    if info.label not in st.views:
        st.views[info.label] = SectionView(-1, info)
    return st.views[info.label]


def adopt(cell, info: RuleInfo) -> None:
    """Make ``cell``'s ``sc_Surrogate`` a :class:`~surrogate_cell.neuron.SurrogateCell` of the runner."""
    st = current()
    runner = get_runner(info.config.runner_config())
    model = runner.load_model(info.model_path)
    st.cells[cell.gid] = SurrogateCell(model, source=cell.hPointp)
    st.labels[cell.gid] = info.label


def register_gid(cell) -> None:
    """After NetPyNE registered the gid: name the surrogate and declare it a surrogate source."""
    st = current()
    sc = st.cells.get(cell.gid)
    if sc is not None and netpyne_sim().cfg.createNEURONObj:
        sc.gid = int(cell.gid)
        sc.runner.declare_surrogate_gids([sc.gid])


def surrogate_of(cell):
    """The :class:`~surrogate_cell.neuron.SurrogateCell` of a swapped NetPyNE cell."""
    sc = current().cells.get(cell.gid)
    if sc is None:
        raise UnsupportedFeatureError(f"cell gid {cell.gid} of swapped rule {cell.tags.get('cellType')!r} has no "
                                      "surrogate: NetPyNE did not create its NEURON objects "
                                      "(cfg.createNEURONObj must be True)")
    return sc


def record_traces(cell) -> None:
    """``cfg.recordTraces`` of a surrogate cell: membrane voltage of a section (``'var': 'v'``)."""
    from neuron import h  # loaded already: the cells exist

    sim = netpyne_sim()
    st = current()
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
def swapped_in_use(sim) -> bool:
    labels = {label for label, rule in sim.net.params.cellParams.items() if "surrogate" in rule}
    return any(pop.tags.get("cellType") in labels for pop in sim.net.pops.values())


def finalize(sim, st: _State) -> None:
    """Gather surrogate gids over ranks, compensate delays from surrogates, check the run settings."""
    if st.finalized:
        return
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
    for cell in sim.net.cells:
        for conn in cell.conns:
            pre = conn.get("preGid")
            if isinstance(pre, str) or pre is None or int(pre) not in everyone:
                continue
            nc = conn.get("hObj")
            if nc is None:
                continue
            label = conn.get("label")
            what = f"connection{f' {label!r}' if label else ''} from surrogate gid {pre} to gid {cell.gid}"
            nc.delay = runner.netcon_delay(float(conn["delay"]), what=what)
    st.surrogate_gids = everyone
    st.finalized = True

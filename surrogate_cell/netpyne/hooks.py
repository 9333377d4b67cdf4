"""How a swapped NetPyNE specification runs: three hooks, installed by ``swap`` (or ``install``).

NetPyNE 1.1.1 has no plug-in points, so :func:`install` replaces three
attributes of the ``netpyne.sim`` module (:func:`uninstall` restores them):

``sim.PointCell``
    :class:`~.cell.SurrogatePointCell`, a subclass that NetPyNE instantiates
    for every point-cell population. Cells of a swapped rule join the
    surrogate runner and place their connections and NetStim inputs on the
    model's synapses while NetPyNE builds the network
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
    detailed cells through :func:`~surrogate_cell.netpyne.lfp.setup_detailed_lfp`,
    surrogates through the runner's :meth:`record_lfp`.
``sim.gatherData``
    Wrapped. Before NetPyNE gathers, the surrogates' traces are written into
    their ``sim.simData`` vectors (linear between the model's 1 ms samples, at
    NetPyNE's ``recordStep`` times), and their spikes in ``spkt``/``spkid``
    become the somatic crossing times. After it, the LFP (detailed plus
    surrogates, summed over ranks) goes into ``sim.allSimData['LFP']`` with
    :func:`~surrogate_cell.netpyne.lfp.fill_netpyne_lfp`.

Networks without swapped rules run as before, except that ``cfg.recordLFP``
is taken over where NetPyNE's own LFP cannot run (NEURON without
``PtrVector.ptr_update_callback``).
"""
from __future__ import annotations

import gc
import math

import numpy as np

from ..mechanisms import load_mechanisms
from ..neuron import get_runner
from .cell import SurrogatePointCell
from .errors import NetPyNESwapError
from .lfp import fill_netpyne_lfp, netpyne_cell_placement, netpyne_electrodes, setup_detailed_lfp
from .placement import check_placement_functions
from .rule import CELL_MODEL
from .state import current, finalize, netpyne_sim, release_lfp, rule_info, swapped_in_use

_ORIGINALS: dict = {}


def _clear_all(*args, **kwargs):
    release_lfp()
    out = _ORIGINALS["clearAll"](*args, **kwargs)
    gc.collect()  # free the cells now, not from inside a later run (NEURON 9 aborts on that)
    return out


# -- installation ------------------------------------------------------------------------
def installed() -> bool:
    """Whether the hooks are in place."""
    return bool(_ORIGINALS) and getattr(netpyne_sim().setupRecording, "_surrogate_hook", False)


def install() -> None:
    """Install the hooks (idempotent; :func:`~surrogate_cell.netpyne.swap` calls it).

    Raises
    ------
    NetPyNESwapError
        The installed NetPyNE lacks the synapse-placement functions the
        surrogate reuses (they are private to NetPyNE; 1.1.1 has them).
    """
    if installed():
        return
    check_placement_functions()
    load_mechanisms()  # sc_Surrogate must exist before NetPyNE resolves cell classes
    sim = netpyne_sim()
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
    sim = netpyne_sim()
    sim.PointCell = _ORIGINALS["PointCell"]
    sim.setupRecording = _ORIGINALS["setupRecording"]
    sim.gatherData = _ORIGINALS["gatherData"]
    sim.clearAll = _ORIGINALS["clearAll"]
    _ORIGINALS.clear()


def _netpyne_lfp_broken() -> bool:
    from neuron import h  # loaded already: NetPyNE is running

    return not hasattr(h.PtrVector(1), "ptr_update_callback")


def _setup_recording(*args, **kwargs):
    sim = netpyne_sim()
    st = current()
    uses = swapped_in_use(sim)
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


def _setup_lfp(sim, st, positions) -> None:

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


def finish(sim, st) -> None:
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
        from netpyne.sim import utils  # NetPyNE: only for NetPyNE networks

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


def _lfp_parts(sim, st) -> list:
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
    sim = netpyne_sim()
    st = current()
    if st.finalized:
        finish(sim, st)
    gather_lfp = kwargs.get("gatherLFP", args[0] if args else True)
    parts = _lfp_parts(sim, st) if st.lfp_positions is not None and gather_lfp else None
    out = _ORIGINALS["gatherData"](*args, **kwargs)
    if parts is not None:
        fill_netpyne_lfp(sim, *parts, positions=st.lfp_positions)
    return out


_gather_data._surrogate_hook = True

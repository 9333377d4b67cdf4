"""Connections to and from surrogate cells, with checked weights and delays.

``connect(source, target, weight, delay)`` and ``gid_connect(gid, target,
weight, delay)`` make the ``h.NetCon`` (``pc.gid_connect``) a NEURON user
would make, and add what a surrogate needs:

* onto a :class:`~surrogate_cell.neuron.cell.SynapseTarget`: the synapse's code
  goes into ``weight[1]``, and a weight whose peak conductance lies outside
  the model's training data is warned about;
* from a surrogate: the NetCon delay is ``delay - latency_ms`` so that the
  spike arrives at ``t* + delay`` (t* the somatic crossing). ``delay`` must be
  at least ``latency_ms + RunnerConfig.min_netcon_delay_ms``.

Weights are in the units of the synapse model the target was made with, as
on a detailed cell: µS for ``Exp2Syn`` and ``ExpSyn`` (a weight w peaks at
w µS); for the shorthands ``'exc'`` / ``'inh'`` a multiple of 0.4 nS AMPA and
NMDA (``sc_AMPANMDA``) or of 1 nS GABA_A (``sc_GABAA``).
"""
from __future__ import annotations

from neuron import hoc, nrn

from ..errors import NetworkError
from .cell import SurrogateCell, SynapseTarget
from .checks import check_delay, check_weight
from .runner import get_runner


def netcon_delay(delay: float, from_surrogate: bool) -> float:
    """The NetCon delay (ms) that delivers at ``t* + delay`` (:meth:`SurrogateRunner.netcon_delay` for a surrogate
    source)."""
    return get_runner().netcon_delay(delay, what="a connection") if from_surrogate else check_delay(delay)


def _hoc_target(target):
    """The hoc object a NetCon onto ``target`` points at."""
    if isinstance(target, SynapseTarget):
        return target.hoc
    if isinstance(target, SurrogateCell):
        raise NetworkError("a surrogate cell has many inputs: connect to cell.synapse(section, x, model)")
    return target


def _finish(nc, weight, target, delay, source_cell):
    code, target_cell = (target.code, target.cell) if isinstance(target, SynapseTarget) else (None, None)
    if code is not None:
        target.check_weight(weight)
    nc.weight[0] = weight
    if code is not None:
        nc.weight[1] = code
    nc.delay = delay
    if target_cell is not None:
        target_cell.incoming.append(nc)
    if source_cell is not None:
        source_cell.outgoing.append(nc)
    return nc


def connect(source, target, weight: float = 1.0, delay: float = 1.0, threshold: float | None = None):
    """``h.NetCon(source, target)`` with the weight and delay semantics of the detailed cell.

    Parameters
    ----------
    source : SurrogateCell, nrn.Segment, hoc spike source or None
        A surrogate cell; a segment of a detailed cell (its voltage is
        watched, as ``h.NetCon(seg._ref_v, target, sec=seg.sec)``); a
        NetStim, artificial cell or other spike-emitting point process; or
        None (a NetCon for ``.event()``).
    target : SynapseTarget or hoc target
        ``cell.synapse(section, x, model)`` of a surrogate, or any NEURON
        target (a point process such as ``sc_AMPANMDA`` on a detailed cell).
    weight : float
        Synaptic weight, in the synapse model's units (µS for Exp2Syn).
    delay : float
        Delay (ms) from the presynaptic event (for a surrogate: its somatic
        crossing) to delivery.
    threshold : float or None
        ``NetCon.threshold`` (mV) for a voltage source; None leaves NEURON's
        default (10 mV). For a surrogate source it is unused.

    Returns
    -------
    h.NetCon
        Also kept on the surrogate cell(s) it touches (``incoming``/``outgoing``).

    Raises
    ------
    InvalidWeightError, DelayTooShortError, NetworkError
    """
    runner = get_runner()
    h = runner.h
    w = check_weight(weight)
    hoc_target = _hoc_target(target)
    source_cell = source if isinstance(source, SurrogateCell) else None
    d = netcon_delay(delay, from_surrogate=source_cell is not None)

    if hoc_target is not None and not isinstance(hoc_target, hoc.HocObject):
        raise NetworkError(f"target must be cell.synapse(...) or a NEURON point process, got {type(target).__name__}")
    if source_cell is not None:
        nc = h.NetCon(source_cell.source, hoc_target)
    elif isinstance(source, nrn.Segment):
        nc = h.NetCon(source._ref_v, hoc_target, sec=source.sec)
    elif isinstance(source, nrn.Section):
        raise NetworkError(f"source {source} is a section; give a segment, e.g. {source.name()}(0.5)")
    elif source is None or isinstance(source, hoc.HocObject):
        nc = h.NetCon(source, hoc_target)
    else:
        raise NetworkError(f"source must be a SurrogateCell, a segment, a NEURON spike source or None, "
                           f"got {type(source).__name__}")
    if threshold is not None:
        nc.threshold = float(threshold)
    return _finish(nc, w, target, d, source_cell)


def gid_connect(src_gid: int, target, weight: float = 1.0, delay: float = 1.0,
                surrogate_source: bool | None = None):
    """``pc.gid_connect(src_gid, target)`` with checked weight and delay.

    Parameters
    ----------
    src_gid : int
        Source gid, on any rank.
    target : SynapseTarget or hoc target
    weight, delay : float
        As for :func:`connect`.
    surrogate_source : bool or None
        Whether ``src_gid`` is a surrogate (its delay is then shortened by
        the latency). None: a gid registered by a ``SurrogateCell`` on this
        rank or declared with ``runner.declare_surrogate_gids`` (a
        :class:`~surrogate_cell.neuron.Population` declares its gids on every
        rank) is a surrogate. On a single process an unknown gid is an error
        (create the source cells first); under MPI an undeclared gid of
        another rank is taken as a non-surrogate.

    Returns
    -------
    h.NetCon
    """
    runner = get_runner()
    pc = runner.pc
    gid = int(src_gid)
    w = check_weight(weight)
    if surrogate_source is None:
        surrogate_source = runner.is_surrogate_gid(gid)
        if not surrogate_source and int(pc.nhost()) == 1 and not pc.gid_exists(gid):
            raise NetworkError(f"source gid {gid} does not exist (yet): create the source cells before "
                               "connecting, or pass surrogate_source=True/False")
    hoc_target = _hoc_target(target)
    if not isinstance(hoc_target, hoc.HocObject):
        raise NetworkError(f"target must be cell.synapse(...) or a NEURON point process, got {type(target).__name__}")
    d = netcon_delay(delay, from_surrogate=bool(surrogate_source))
    nc = pc.gid_connect(gid, hoc_target)
    return _finish(nc, w, target, d, None)

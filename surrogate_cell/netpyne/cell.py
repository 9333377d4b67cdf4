"""``SurrogatePointCell``: NetPyNE's PointCell, plus what a swapped rule's cells need.

:func:`~surrogate_cell.netpyne.install` makes it ``netpyne.sim.PointCell``, the
class NetPyNE instantiates for every point-cell population. Cells of other
point-cell rules (NetStim, VecStim, IntFire ...) behave exactly as NetPyNE's
PointCell; cells of a swapped rule (``cellModel 'sc_Surrogate'`` with a
``'surrogate'`` entry) additionally

* join the process's surrogate runner (their ``sc_Surrogate`` is adopted by a
  :class:`~surrogate_cell.neuron.SurrogateCell`);
* place every connection (``addConn``) and NetStim input (``addStim``, which
  NetPyNE's PointCell silently ignores) as a synapse of its synMech's
  kinetics (``synMechParams``, weights in the mod's units) on the segment where
  NetPyNE would place the synapse on the detailed cell, through NetPyNE's own
  placement functions (``CompartCell._secsAndLocsForSingleSynapse``,
  ``_secsAndLocsForMultisynapse``, ``_distributeSynsUniformly``,
  ``_randomSecAndLocFromList``) run on the rule's section geometry; the
  connection's ``sec`` and ``loc`` in ``cell.conns`` become the synapse's, as
  for a detailed cell, and ``NetCon.weight[1]`` the synapse's code;
* record ``cfg.recordTraces`` of their sections from the runner.

Per-cell state lives in :mod:`.state` (keyed by gid), not on the instance:
NetPyNE pickles cells' ``__dict__`` to gather them over MPI ranks.
"""
from __future__ import annotations

import math

from netpyne.cell.pointCell import PointCell
from netpyne.specs import Dict

from ..errors import DelayTooShortError, InvalidWeightError, SurrogateCellError
from ..neuron import play_netstim
from .errors import SwapSectionError, UnsupportedFeatureError
from .rule import CELL_MODEL
from .state import adopt, record_traces, register_gid, rule_info, section_view, surrogate_of


class SurrogatePointCell(PointCell):
    """NetPyNE's PointCell; for a swapped rule, a surrogate cell (see the module docstring)."""

    # -- identity ------------------------------------------------------------------
    def _rule_info(self):
        """The swapped rule's :class:`~.rule.RuleInfo`, or None for other point cells."""
        return rule_info(self.tags)

    # -- NEURON objects ------------------------------------------------------------
    def createNEURONObj(self, prop=None):
        info = self._rule_info()
        super().createNEURONObj(prop)
        if info is not None:
            if self.hPointp is None:
                raise UnsupportedFeatureError(f"NetPyNE could not create the {CELL_MODEL} of cell gid {self.gid}")
            adopt(self, info)

    def associateGid(self, threshold=None):
        super().associateGid(threshold)
        register_gid(self)

    # -- connections ---------------------------------------------------------------
    def addConn(self, params, netStimParams=None):
        info = self._rule_info()
        if info is None:
            return super().addConn(params, netStimParams)
        from netpyne import sim  # NetPyNE: only for NetPyNE networks

        params = dict(params)
        label = params.get("label")
        where = f"connection{f' {label!r}' if label else ''} from {params.get('preGid')} onto cell gid {self.gid} " \
                f"(swapped rule {info.label!r})"
        for key in ("plast", "shape"):
            if params.get(key):
                raise UnsupportedFeatureError(f"{where}: '{key}' is not supported on surrogate cells")
        if params.get("weightIndex") not in (None, 0):
            raise UnsupportedFeatureError(f"{where}: weightIndex {params['weightIndex']} is not supported; the "
                                          "surrogate reads weight[0]")
        if params.get("gapJunction") or sim.net.params.synMechParams.isPointerConn(params.get("synMech")):
            raise UnsupportedFeatureError(f"{where}: pointer connections (gap junctions) are not supported")
        if params.get("weight") is None:
            params["weight"] = sim.net.params.defaultWeight
        if params.get("delay") is None:
            params["delay"] = sim.net.params.defaultDelay
        if params.get("synsPerConn") is None:
            params["synsPerConn"] = 1
        if params["preGid"] == self.gid and not sim.cfg.allowSelfConns:
            return  # as NetPyNE does for every cell (a message only with cfg.verbose)
        sec_labels = self._sec_labels(params, info, where)
        weights, delays = self._connWeightsAndDelays(params, netStimParams)
        if not params.get("synMech"):
            synmechs = list(sim.net.params.synMechParams.keys())
            if not synmechs:
                raise UnsupportedFeatureError(f"{where}: no synMech given and netParams.synMechParams is empty")
            params["synMech"] = synmechs[0]  # NetPyNE's default for a detailed cell: the first synMech
        synmech = params["synMech"]
        components = info.synapse(synmech, sim.net.params.synMechParams)
        secs, locs = self._place(params, sec_labels)
        surrogate = surrogate_of(self)
        targets = []
        for i in range(params["synsPerConn"]):
            if not sim.cfg.allowConnsWithWeight0 and weights[i] == 0.0:
                targets.append(None)
                continue
            g = info.secs[secs[i]]
            norm = g.get("weightNorm")
            if norm is not None:  # NetPyNE's per-segment weight normalisation of the detailed rule
                weights[i] = weights[i] * norm[int(round(locs[i] * g["nseg"])) - 1]
            try:
                targets.append(surrogate.synapse(g["model"], locs[i], components, label=synmech))
            except SurrogateCellError as exc:
                raise SwapSectionError(f"{where}: synapse {i} on {secs[i]}({locs[i]:.4g}): {exc}") from None
            w = weights[i]
            if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                raise InvalidWeightError(f"{where}: weight {w!r}; a surrogate's weights must be finite and >= 0")
            d = delays[i]
            if not (isinstance(d, (int, float)) and math.isfinite(d) and d >= 0):
                raise DelayTooShortError(f"{where}: delay {d!r} ms; delays must be finite and >= 0")
            targets[-1].check_weight(w)
        for i, target in enumerate(targets):
            if target is None:
                continue
            netstim = self.addNetStim(netStimParams) if netStimParams else None
            if sim.cfg.createPyStruct:
                conn = {k: v for k, v in params.items() if k != "synsPerConn"}
                conn.update(weight=weights[i], delay=delays[i], sec=secs[i], loc=locs[i])
                if netStimParams:
                    conn["preGid"] = "NetStim"
                    conn["preLabel"] = netStimParams["source"]
                self.conns.append(Dict(conn))
            else:
                self.conns.append(Dict())
            source = None if netstim is not None or not info.config.play_netstims else \
                _local_netstim_source(sim, params["preGid"])
            if sim.cfg.createNEURONObj and source is not None:
                # a NetStim population cell of this rank: its spikes are played, it keeps firing for its other
                # targets, and no NetCon carries them here
                play_netstim(source, target, weight=weights[i], delay=delays[i], silence=False)
                self.conns[-1]["hObj"] = None
            elif sim.cfg.createNEURONObj:
                from neuron import h  # NEURON: only where a simulation is built

                nc = h.NetCon(netstim, self.hPointp) if netstim is not None else \
                    sim.pc.gid_connect(params["preGid"], self.hPointp)
                nc.weight[0] = weights[i]
                nc.weight[1] = target.code
                nc.delay = delays[i]  # from a surrogate: shortened by the spike latency in state.finalize
                self.conns[-1]["hObj"] = nc
                if netstim is not None and info.config.play_netstims:  # the NetCon stays, silent: bookkeeping
                    play_netstim(netstim, target, weight=weights[i], delay=delays[i])
            if sim.cfg.verbose:
                print(f"  Created connection preGid={params['preGid']}, postGid={self.gid} (surrogate), "
                      f"sec={secs[i]}, loc={locs[i]:.4g} -> {target.section}, segment {target.segment} "
                      f"({target.label}), weight={weights[i]:.4g}, delay={delays[i]:.2f}")

    def _sec_labels(self, params, info, where) -> list:
        """The rule sections a connection may use, as NetPyNE's ``_setConnSections``, without its fallbacks."""
        sec = params.get("sec")
        if not sec:
            default = "soma" if "soma" in info.secs else next(iter(info.secs))
            raise SwapSectionError(f"{where} gives no 'sec': NetPyNE would silently put it on {default!r} ('soma' "
                                   "if the rule has one, else its first section); name a section or secList of "
                                   f"cell rule {info.label!r} ({_known(info)})")
        if isinstance(sec, (list, tuple)):
            unknown = [s for s in sec if s not in info.secs]
            if unknown:
                raise SwapSectionError(f"{where}: sections {unknown[:5]} of its section list are not in cell "
                                       f"rule {info.label!r} ({_known(info)})")
            return list(sec)
        if not isinstance(sec, str):
            raise SwapSectionError(f"{where}: 'sec' must be a section, a secList or a list of sections; got {sec!r}")
        if sec in info.sec_lists:
            return list(info.sec_lists[sec])
        if sec in info.secs:
            return [sec]
        raise SwapSectionError(f"{where}: cell rule {info.label!r} has no section or secList {sec!r} "
                               f"({_known(info)}); NetPyNE would silently use the soma instead")

    def _place(self, params, sec_labels):
        """(sections, locs) of the synsPerConn synapses, by NetPyNE's own placement functions."""
        from netpyne import sim  # NetPyNE: only for NetPyNE networks

        view = section_view(rule_info(self.tags))
        view.gid = self.gid
        conn_random = params.get("connRandomSecFromList", sim.cfg.connRandomSecFromList)
        uniform = params.get("distributeSynsUniformly", sim.cfg.distributeSynsUniformly)
        if params.get("loc") is None:
            params["loc"] = 0.5
            explicit = False
        else:
            explicit = True
        n = params["synsPerConn"]
        if n > 1:
            secs, locs = view._secsAndLocsForMultisynapse(params, explicit, sec_labels, conn_random, uniform)
        else:
            secs, locs = view._secsAndLocsForSingleSynapse(params, sec_labels, conn_random)
        secs, locs = list(secs)[:n], [float(x) for x in list(locs)[:n]]
        if len(secs) < n or len(locs) < n:
            raise SwapSectionError(f"NetPyNE placed {len(secs)} of {n} synapses of a connection onto cell gid "
                                   f"{self.gid} (sections {sec_labels[:5]}); check 'sec', 'loc' and 'synsPerConn'")
        return secs, locs

    # -- stimulation ---------------------------------------------------------------
    def addStim(self, params):
        info = self._rule_info()
        if info is None:
            return PointCell.__getattr__(self, "addStim")(params)  # NetPyNE's PointCell: no stims
        from netpyne import sim  # NetPyNE: only for NetPyNE networks

        stype = params.get("type")
        if stype != "NetStim":
            raise UnsupportedFeatureError(f"stimulus {params.get('label')!r} of type {stype!r} onto cell gid "
                                          f"{self.gid} (swapped rule {info.label!r}): a surrogate takes synaptic "
                                          "events only (NetStim sources)")
        if "loc" not in params:
            params["loc"] = 0.5
        params.setdefault("start", 0)
        params.setdefault("number", 1e9)
        conn = {"preGid": "NetStim", "sec": params.get("sec"), "loc": params.get("loc"),
                "synMech": params.get("synMech"), "weight": params.get("weight"), "delay": params.get("delay"),
                "synsPerConn": params.get("synsPerConn")}
        if params.get("label") is not None:
            conn["label"] = params["label"]
        for key in ("shape", "plast"):
            if key in params:
                conn[key] = params[key]
        netstim = {"source": params["source"], "type": stype,
                   "rate": params["rate"] if "rate" in params else 1000.0 / params["interval"],
                   "noise": params.get("noise", 0.0), "number": params["number"], "start": params["start"],
                   "seed": params.get("seed", sim.cfg.seeds["stim"])}
        self.addConn(conn, netstim)

    # -- recording -------------------------------------------------------------------
    def recordTraces(self):
        if self._rule_info() is None:
            return super().recordTraces()
        record_traces(self)


def _local_netstim_source(sim, pre_gid):
    """The hoc NetStim of a NetPyNE NetStim population cell ``pre_gid`` on this rank, or None.

    None also for a time-varying rate (``rates``, played into the interval
    by NetPyNE), which a replay from fixed parameters would miss.
    """
    if isinstance(pre_gid, str) or pre_gid is None:
        return None
    lid = sim.net.gid2lid.get(int(pre_gid))
    if lid is None:
        return None
    cell = sim.net.cells[lid]
    if cell.tags.get("cellModel") != "NetStim" or "rates" in getattr(cell, "params", {}):
        return None
    return getattr(cell, "hPointp", None)


def _known(info) -> str:
    names = list(info.secs)
    lists = sorted(info.sec_lists)
    return f"sections such as {names[:3]} ... ({len(names)}), secLists {lists}"

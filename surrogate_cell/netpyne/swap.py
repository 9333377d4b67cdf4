"""``swap``: replace a detailed cell rule of a NetPyNE specification with the surrogate, in one call."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..model import SurrogateModel, load
from .errors import NetPyNESwapError
from .hooks import install
from .rule import CELL_MODEL, RULE_FORMAT, SwapConfig, check_geometry, section_geometry


def _load_model(model):

    if model is None or isinstance(model, (str, Path)):
        return load(model)
    if isinstance(model, SurrogateModel):
        if not Path(model.path).is_file():
            raise NetPyNESwapError(f"model {model.path} is not a file; every MPI rank loads the model from its file")
        return model
    raise NetPyNESwapError(f"model must be a path, a SurrogateModel or None (the packaged model), "
                           f"got {type(model).__name__}")


def swap(netParams, cell_label: str, model=None, *, config: SwapConfig | None = None):
    """Replace the detailed cell rule ``cell_label`` of ``netParams`` with the surrogate.

    After the call the specification runs unchanged with NetPyNE
    (``sim.createSimulateAnalyze`` or ``sim.create`` / ``simulate`` /
    ``analyze``, under MPI too): every cell of the rule is a surrogate, its
    connections and NetStim inputs become the conductance of their synMech
    (its mod's kinetics, its weight in the mod's units: µS for ``Exp2Syn``)
    on the segment where NetPyNE would have put the synapse on the detailed
    cell (``sec``, ``loc``, ``synsPerConn`` spreading),
    ``cfg.recordTraces`` of its sections give the predicted voltages, and
    ``cfg.recordLFP`` includes the surrogates. See ``docs/netpyne.md``.

    Parameters
    ----------
    netParams : netpyne.specs.NetParams
        The specification; changed in place.
    cell_label : str
        A key of ``netParams.cellParams`` holding a detailed rule (``secs``),
        e.g. from ``importCellParams`` or ``loadCellParamsRule``.
    model : str, Path, SurrogateModel or None
        The exported surrogate; None: the packaged default model.
    config : SwapConfig or None

    Returns
    -------
    dict
        The new rule (also in ``netParams.cellParams[cell_label]``).

    Raises
    ------
    NetPyNESwapError
        No such rule, a rule that is no detailed cell, a rule swapped already,
        ``netParams.subConnParams`` (not supported).
    SwapMorphologyError
        The model was trained on another morphology (section names, nseg or
        lengths differ from the rule's).
    SynMechModelError
        (while NetPyNE creates the network) a connection's synMech whose mod
        has no known receptor class and kinetics; declare it with
        :func:`surrogate_cell.synapses.declare_synapse`.

    Examples
    --------
    >>> netParams.loadCellParamsRule("L5PC", "l5pc_rule.json")       # or importCellParams(...)
    >>> surrogate_cell.netpyne.swap(netParams, "L5PC", "l5pc.pt")
    >>> sim.createSimulateAnalyze(netParams, cfg)
    """

    config = config or SwapConfig()
    config.validate()
    params = netParams.cellParams
    if cell_label not in params:
        raise NetPyNESwapError(f"netParams.cellParams has no rule {cell_label!r}; rules: {sorted(map(str, params))}")
    rule = params[cell_label]
    if "surrogate" in rule or rule.get("cellModel") == CELL_MODEL:
        raise NetPyNESwapError(f"cell rule {cell_label!r} is swapped already")
    secs = rule.get("secs") or {}
    if not secs:
        raise NetPyNESwapError(f"cell rule {cell_label!r} has no sections ('secs'); swap replaces a detailed "
                               "(compartmental) cell rule")
    if getattr(netParams, "subConnParams", None):
        raise NetPyNESwapError("netParams.subConnParams (subcellular redistribution of synapses) is not supported "
                               "with swapped rules")
    loaded = _load_model(model)
    geometry = section_geometry(cell_label, secs)
    check_geometry(cell_label, geometry, loaded, config.length_tolerance_um)
    sec_lists = {}
    for name, members in (rule.get("secLists") or {}).items():
        members = [str(m) for m in members]
        unknown = [m for m in members if m not in geometry]
        if unknown:
            raise NetPyNESwapError(f"cell rule {cell_label!r}: secList {name!r} names sections {unknown[:3]} that "
                                   "the rule does not have")
        sec_lists[str(name)] = members
    install()
    new_rule = {
        "cellModel": CELL_MODEL,
        "surrogate": {
            "format": RULE_FORMAT,
            "label": str(cell_label),
            "model": str(Path(loaded.path).resolve()),
            "cell_digest": loaded.cell_digest,
            "secs": geometry,
            "secLists": sec_lists,
            "config": asdict(config),
        },
    }
    params[cell_label] = new_rule
    for pop in netParams.popParams.values():
        if pop.get("cellType") == cell_label and "cellModel" in pop:
            pop["cellModel"] = CELL_MODEL  # a pop's cellModel takes precedence over its rule's in NetPyNE
    return params[cell_label]

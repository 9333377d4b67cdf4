"""Errors of the NetPyNE integration; all derive from :class:`~surrogate_cell.errors.NetworkError`.

Each is raised before the simulation starts (in :func:`~surrogate_cell.netpyne.swap`
or while NetPyNE creates the network in ``sim.create``), never as a silent
fallback.
"""
from ..errors import MorphologyMismatchError, NetworkError, UnknownSectionError
from ..synapses import SynapseModelError


class NetPyNESwapError(NetworkError):
    """A NetPyNE specification cannot run with the surrogate as asked (base of the errors below)."""


class SwapSectionError(NetPyNESwapError, UnknownSectionError):
    """A connection, stimulus or trace names a section or secList the swapped rule does not have."""


class SynMechModelError(NetPyNESwapError, SynapseModelError):
    """A connection's synMech is not in ``synMechParams``, or its mod has no known receptor class and
    kinetics (declare it with :func:`surrogate_cell.synapses.declare_synapse`)."""


class SwapMorphologyError(NetPyNESwapError, MorphologyMismatchError):
    """The model was trained on another morphology than the cell rule describes."""


class UnsupportedFeatureError(NetPyNESwapError):
    """A NetPyNE feature the surrogate cannot reproduce (IClamps, plasticity, non-voltage traces, ...)."""

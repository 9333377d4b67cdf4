"""Exceptions raised for bad input.

Every error a user can cause derives from :class:`SurrogateCellError`. Its
message names the problem and the fix; the command-line interface prints it as
one line and exits non-zero, without a traceback.
"""


class SurrogateCellError(Exception):
    """Base class of the errors that bad input or a bad environment causes."""


class OutputPathError(SurrogateCellError):
    """An output path names a file where a folder is needed, or the other way round, or cannot be written."""


class MechanismBuildError(SurrogateCellError):
    """The NMODL mechanisms could not be compiled or loaded."""


class MorphologyError(SurrogateCellError):
    """A morphology file is missing, unreadable, or lacks a required part."""


class DataError(SurrogateCellError):
    """A training data set, its parameters, or its output path is invalid."""


class NetworkError(SurrogateCellError):
    """A surrogate cell in a NEURON network was set up wrongly (base of the errors below)."""


class UnknownSectionError(NetworkError):
    """A connection or recording names a section or location the cell does not have."""


class UnknownReceptorError(NetworkError):
    """A connection names a receptor kind the surrogate has no input channel for."""


class InvalidWeightError(NetworkError):
    """A connection weight is NaN, infinite or negative."""


class DelayTooShortError(NetworkError):
    """A connection delay is NaN, negative, or too short for the surrogate's spike latency."""


class MorphologyMismatchError(NetworkError):
    """A model was trained on another morphology than the network asks for."""


class DeviceUnavailableError(NetworkError):
    """The requested torch device (e.g. ``'cuda'``) is not available."""


class RunnerStateError(NetworkError):
    """The population runner was used out of order (e.g. cells added after ``finitialize``)."""

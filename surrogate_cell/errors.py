"""Exceptions raised for bad input.

Every error a user can cause derives from :class:`SurrogateCellError`. Its
message names the problem and the fix; the command-line interface prints it as
one line and exits non-zero, without a traceback.
"""


class SurrogateCellError(Exception):
    """Base class of the errors that bad input or a bad environment causes."""


class MechanismBuildError(SurrogateCellError):
    """The NMODL mechanisms could not be compiled or loaded."""


class MorphologyError(SurrogateCellError):
    """A morphology file is missing, unreadable, or lacks a required part."""


class DataError(SurrogateCellError):
    """A training data set, its parameters, or its output path is invalid."""

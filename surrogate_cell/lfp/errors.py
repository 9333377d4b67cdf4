"""Errors of the LFP package; all derive from :class:`~surrogate_cell.errors.SurrogateCellError`."""
from ..errors import SurrogateCellError


class LFPError(SurrogateCellError):
    """Bad input to the LFP computation (base of the errors below)."""


class ElectrodeError(LFPError):
    """Electrode contacts of the wrong shape, of an unknown kind, or inside a soma."""


class TransformError(LFPError):
    """The membrane-current transform cannot be built for, or does not fit, a cell."""

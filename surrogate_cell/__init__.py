"""surrogate_cell: distil a detailed NEURON cell into a fast multi-task surrogate
that runs as a cell in NEURON and NetPyNE networks.

>>> import surrogate_cell
>>> model = surrogate_cell.load()          # the shipped default surrogate of the synthetic Hay L5PC
"""

__version__ = "0.1.0"


def load(path=None, device: str = "cpu"):
    """Load an exported surrogate; ``path=None`` gives the model shipped with the package.

    See :func:`surrogate_cell.model.load`.
    """
    from .model import load as _load

    return _load(path, device=device)

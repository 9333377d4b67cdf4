"""surrogate_cell: distil a detailed NEURON cell into a fast multi-task surrogate
that runs as a cell in NEURON and NetPyNE networks.

>>> import surrogate_cell
>>> model = surrogate_cell.load()          # the shipped default surrogate of the published Hay L5PC (cell1.asc)

The subpackages follow the data flow: ``cells`` (the detailed cell) →
``data`` (training data) → ``training`` (models, export) → ``model`` (an
exported model) → ``neuron`` / ``netpyne`` (the surrogate in networks) →
``lfp`` (the network LFP); ``plots`` draws, ``cli`` is the command line.
"""

__version__ = "0.1.0"

from .model import SurrogateModel, load  # noqa: E402  (after __version__, which the training code reads)

__all__ = ["load", "SurrogateModel", "__version__"]

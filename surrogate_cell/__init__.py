"""surrogate_cell: distil a detailed NEURON cell into a fast multi-task surrogate
that runs as a cell in NEURON and NetPyNE networks."""

__version__ = "0.1.0"

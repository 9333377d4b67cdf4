"""Training data: the detailed cell under synaptic bombardment, stored in HDF5.

* :class:`GeneratorConfig`, :func:`draw_inputs` — the input generator (``inputs``);
* :class:`CellSpec` — which detailed cell, and its input channels (``cellspec``);
* :class:`Simulator`, :class:`SimSettings` — one simulation (``simulate``);
* :class:`GenerationPlan`, :func:`generate` — many simulations, workers or MPI,
  resumable (``generate``);
* :func:`data_digest`, part files, assembly (``store``); the format's name,
  version and digests (``format``);
* :class:`Dataset` — the lazy reader with windows and streaming batches, and
  :class:`DatasetUnion` — several sets of one cell read as one (``dataset``).

The file layout is the contract documented in ``docs/dataset.md``.
"""
from .cellspec import CellSpec
from .dataset import Dataset, DatasetUnion
from .generate import GenerationPlan, generate
from .inputs import REGIMES, GeneratorConfig
from .simulate import SimSettings
from .store import data_digest

__all__ = ["CellSpec", "GeneratorConfig", "SimSettings", "GenerationPlan", "generate", "Dataset", "DatasetUnion",
           "REGIMES", "data_digest"]

"""NMODL sources of the project's mechanisms (installed as ``surrogate_cell._mod``)."""

"""Training pipeline (installed as ``surrogate_cell.training``).

The runtime side of the package never imports this.
"""

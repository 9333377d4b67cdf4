"""Build entry point. Metadata lives in pyproject.toml.

The top-level folders ``mod/`` (NMODL) and ``training/`` (training pipeline)
are shipped inside the package as ``surrogate_cell._mod`` and
``surrogate_cell.training`` so that no generic top-level name lands in
site-packages.
"""
from setuptools import setup

setup(
    packages=[
        "surrogate_cell",
        "surrogate_cell.cells",
        "surrogate_cell.commands",
        "surrogate_cell.lfp",
        "surrogate_cell.data",
        "surrogate_cell.neuron",
        "surrogate_cell.netpyne",
        "surrogate_cell._mod",
        "surrogate_cell.training",
    ],
    package_dir={
        "surrogate_cell": "surrogate_cell",
        "surrogate_cell._mod": "mod",
        "surrogate_cell.training": "training",
    },
    package_data={"surrogate_cell._mod": ["*.mod"], "surrogate_cell": ["default_model/*.pt"]},
    include_package_data=False,
)

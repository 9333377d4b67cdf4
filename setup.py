"""Build entry point. Metadata lives in pyproject.toml.

The top-level folder ``mod/`` (the NMODL sources) ships inside the package as
``surrogate_cell._mod`` so that no generic top-level name lands in
site-packages. ``training/`` at the top level holds the recipes (shell
commands) that train the shipped models; the training code itself is the
subpackage ``surrogate_cell.training``.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["surrogate_cell", "surrogate_cell.*"]) + ["surrogate_cell._mod"],
    package_dir={"surrogate_cell._mod": "mod"},
    package_data={"surrogate_cell._mod": ["*.mod"], "surrogate_cell": ["default_model/*.pt"]},
    include_package_data=False,
)

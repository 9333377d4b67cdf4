"""Python callbacks that NEURON calls from inside its integrator.

NEURON 9 aborts ("erase() called on a frozen structure") when Python's garbage collector frees
an unreachable NEURON object (a cell of an earlier network, say) while NEURON is inside
``finitialize`` or ``fadvance``. Every callback we hand to NEURON (``FInitializeHandler``,
``CVode().event``) therefore runs with the collector paused.
"""

from __future__ import annotations

import functools
import gc


def without_gc(callback):
    """Wrap ``callback`` so that Python's garbage collector is paused while it runs."""

    @functools.wraps(callback)
    def wrapped(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return callback(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapped

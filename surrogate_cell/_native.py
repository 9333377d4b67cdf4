"""Capture what NEURON's C code prints, so that errors reach the user as one line."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

# NEURON prints this on import on machines without a display; it is noise here.
_IMPORT_NOISE = ("Warning: no DISPLAY environment variable.", "--No graphics will be displayed.")


@contextlib.contextmanager
def captured_native_output():
    """Redirect file descriptors 1 and 2 into a temporary file.

    Yields a list that receives the captured text (one string) on exit.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    result = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield result
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            result.append(sink.read().decode(errors="replace"))


def import_neuron_quietly():
    """``from neuron import h`` without NEURON's no-display warning; returns ``h``."""
    if "neuron" in sys.modules:
        from neuron import h  # NEURON: only where a simulation is built

        return h
    with captured_native_output() as text:
        from neuron import h  # NEURON: only where a simulation is built
    rest = [ln for ln in text[0].splitlines() if ln.strip() and ln.strip() not in _IMPORT_NOISE]
    if rest:
        print("\n".join(rest), file=sys.stderr)
    return h

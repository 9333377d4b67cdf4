"""The data set format: its name and version, digests, and how read failures are reported.

Every module of :mod:`surrogate_cell.data` takes these from here; the file
layout is documented in ``docs/dataset.md``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json

from ..errors import DataError

#: The ``format`` attribute of every data set file.
DATASET_FORMAT = "surrogate_cell.dataset"
FORMAT_VERSION = 2  # 2: conductance inputs on every segment, per-simulation kinetics
#: Time extent of one HDF5 chunk of voltages and inputs (ms).
CHUNK_MS = 250
#: Arrays hashed by :func:`data_digest`, in this order (``segments/*`` sorted by name).
DIGEST_ARRAYS = ("segments/*", "channels/segment", "channels/kind", "channels/reversal_mV",
                 "voltage_mV", "inputs", "spikes/times_ms", "spikes/offsets",
                 "events/time_ms", "events/channel", "events/weight", "events/offsets",
                 "sims/seed", "sims/regime", "sims/rate_hz", "sims/kinetics")


@contextlib.contextmanager
def readable(path, what: str):
    """Turn HDF5's read failures inside the block (a damaged chunk or a missing array) into one :class:`DataError`."""
    try:
        yield
    except KeyError as exc:
        raise DataError(f"{path} lacks {what} ({exc.args[0] if exc.args else exc}); it is not a complete "
                        "surrogate_cell data set: generate it again") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} ({exc}); the file is damaged: copy it again or "
                        "generate it again") from None


def canonical_json(obj) -> str:
    """JSON with sorted keys and no spaces: equal parameters give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def generation_digest(params: dict) -> str:
    """sha256 (hex) of the canonical JSON of a data set's generation parameters (``params_sha256``)."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()

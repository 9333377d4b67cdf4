"""``surrogate-cell inspect``: summarise a generated data set and print its content digest.

The digest is a sha256 over the arrays' raw little-endian bytes in a fixed
order, independent of HDF5 metadata, chunking and compression: compare it
after a transfer, or between runs with different worker or rank counts.
"""
from __future__ import annotations

import json

from ..data.dataset import summary

EXAMPLES = """
examples:
  surrogate-cell inspect data.h5
  surrogate-cell inspect data.h5 --json
"""


def register(sub, formatter):
    p = sub.add_parser("inspect", help="summarise a data set and print its content digest",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("path", metavar="DATA.h5", help="a data set written by 'surrogate-cell generate'")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-digest", action="store_true", help="skip the digest (reads every array)")
    p.set_defaults(func=run)


def run(args) -> int:
    info = summary(args.path, digest=not args.no_digest)
    if args.json:
        print(json.dumps(info))
        return 0
    r = info["rate_hz"]
    print(f"{info['path']}: {info['simulated_seconds']:g} s simulated "
          f"({info['n_simulations']} x {info['sim_ms']} ms), cell {info['cell'].get('morphology')}")
    print(f"  segments {info['n_segments']}, input channels {info['n_channels']}, events {info['n_events']}")
    print(f"  somatic spikes {info['n_somatic_spikes']}; rate per simulation mean {r['mean']:.1f} Hz, "
          f"median {r['median']:.1f}, range {r['min']:.1f}-{r['max']:.1f}")
    print(f"  regimes {info['regimes']}")
    print(f"  cell digest {info['cell_digest']}")
    if "digest" in info:
        print(f"  digest {info['digest']}")
    return 0

"""``surrogate-cell build-mechanisms``: compile the NMODL mechanisms into the cache."""
from __future__ import annotations

import json

from ..mechanisms import build_key, build_mechanisms

EXAMPLES = """
examples:
  surrogate-cell build-mechanisms            # before 'mpiexec -n 64 ...'
  surrogate-cell build-mechanisms --force --json
"""


def register(sub, formatter):
    p = sub.add_parser("build-mechanisms", help="compile the NMODL mechanisms into the per-user cache",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--force", action="store_true", help="rebuild even if a cached build exists")
    p.add_argument("--json", action="store_true", help="print the library path and cache key as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    library = build_mechanisms(force=args.force)
    if args.json:
        print(json.dumps({"library": str(library), "key": build_key()}))
    else:
        print(f"mechanisms ready: {library}")
    return 0

"""``python -m surrogate_cell.cli``: the ``surrogate-cell`` command."""
import sys

from . import main

sys.exit(main())

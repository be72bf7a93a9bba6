"""``python -m bench``: see ``bench.cli``."""

from __future__ import annotations

import sys

from bench.cli import main

# Guarded: multiprocessing's "spawn" re-imports this module (as __mp_main__) in every worker.
if __name__ == "__main__":
    sys.exit(main())

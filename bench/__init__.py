"""meetsrv's benchmark harness: `python -m bench [--quick]` (see bench/README.md)."""

import os
import sys

_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if _SRC not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, _SRC)

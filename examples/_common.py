"""Shared helpers for the examples: quick mode and where figures go.

Set ``LINTHEORY_QUICK=1`` for small, fast versions (the test suite does); figures are
written to ``examples/output/`` (or ``$LINTHEORY_EXAMPLES_OUT``).
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

QUICK = os.environ.get("LINTHEORY_QUICK", "") not in ("", "0")
OUT = Path(os.environ.get("LINTHEORY_EXAMPLES_OUT", Path(__file__).parent / "output"))


def save(fig, name):
    """Save ``fig`` as ``OUT/name.png`` and print where it went."""
    from lintheory.io import save_figure

    (path,) = save_figure(fig, OUT / name, formats=("png",))
    print(f"figure: {path}")
    return path

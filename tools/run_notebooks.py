"""Execute the classroom notebooks top to bottom, each on a fresh kernel (nbclient).

    python tools/run_notebooks.py                 # every notebooks/*.ipynb
    python tools/run_notebooks.py notebooks/03_fa_stalls.ipynb

Needs only the ``classroom`` extra (``pip install -e ".[classroom]"``). Each notebook runs
in a temporary working directory and nothing is written back: the repository stays clean.
On the first failing cell it prints the notebook, the cell number, its source and the
error, and exits 1. ``--timeout`` is per cell (seconds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class NotebookError(RuntimeError):
    """A cell failed: ``path``, ``index`` (0-based cell number) and nbclient's error."""

    def __init__(self, path: Path, index: int, error: Exception):
        self.path, self.index, self.error = path, index, error
        super().__init__(f"{path}: cell {index} failed\n{error}")


def run_notebook(path: Path, timeout: float = 300.0, kernel: str = "python3"):
    """Execute ``path`` cell by cell on a fresh kernel in a temporary directory.

    Returns the executed notebook (the file itself is not modified) and the timings:
    ``{"kernel": seconds to start the kernel, "cells": [seconds of each cell]}``. Raises
    :class:`NotebookError` naming the first failing cell.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="lintheory-nb-") as cwd:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": cwd}})
        # No front-end mimic of ipywidgets' Output widget (the sliders' figure area). Its
        # state sync sends on the shell socket while nbclient waits on that socket for the
        # cell's reply; on a busy machine the reply is then noticed only at the cell's
        # timeout (nbclient issue #312: every slider cell took exactly `timeout` beside
        # pytest, and passed). The figures inside the widget are not kept either way: the
        # executed notebook is not saved.
        client.widget_registry = {}
        t0 = time.perf_counter()
        times = {"kernel": 0.0, "cells": []}
        with client.setup_kernel():
            times["kernel"] = time.perf_counter() - t0
            for i, cell in enumerate(nb.cells):
                t0 = time.perf_counter()
                try:
                    client.execute_cell(cell, i)
                except CellExecutionError as exc:
                    raise NotebookError(path, i, exc) from None
                times["cells"].append(time.perf_counter() - t0)
    return nb, times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path,
                    help="notebooks to run (default: every notebooks/*.ipynb)")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds allowed per cell (default 300)")
    args = ap.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks found under notebooks/", file=sys.stderr)
        return 1
    start = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        try:
            nb, times = run_notebook(path, timeout=args.timeout)
        except NotebookError as exc:
            print(f"FAILED {exc}", file=sys.stderr)
            return 1
        n_code = sum(c.cell_type == "code" for c in nb.cells)
        slow = max(range(len(times["cells"])), key=times["cells"].__getitem__)
        print(f"ok {path.name}: {n_code} code cells, {time.perf_counter() - t0:.1f} s "
              f"(kernel start {times['kernel']:.1f} s, slowest cell {slow}: "
              f"{times['cells'][slow]:.1f} s)")
    print(f"{len(paths)} notebooks executed in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Support for the example scripts in ``examples/`` and for their gallery in the docs.

An example script needs only three functions, so that it runs alone (copied anywhere,
with just lintheory installed) and never chooses a matplotlib backend::

    from lintheory.examples_support import quick_mode, save_example_figure

    QUICK = quick_mode()            # LINTHEORY_QUICK=1: small, fast versions
    ...
    save_example_figure(fig, "01_linear_task")   # output/01_linear_task.png
    plt.show()                      # a window, or inline in a notebook; no-op under Agg

The rest serves the documentation build (``docs/conf.py``) and the example tests:

- :func:`source_fingerprint` names what a quick run's figures depend on (the script and
  the lintheory sources), so figures made by ``tests/test_examples.py`` can be reused by
  the docs build instead of running every example a second time;
- :func:`store_figures` / :func:`cached_figures` keep such figures in a cache folder,
  one sub-folder per script and fingerprint, written atomically;
- :func:`percent_cells` / :func:`percent_to_notebook` turn a "percent" script (cells
  marked ``# %%`` and ``# %% [markdown]``, the jupytext format) into a Jupyter notebook
  (nbformat 4 as a plain dict; write it with ``json.dump``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

QUICK_ENV = "LINTHEORY_QUICK"
OUT_ENV = "LINTHEORY_EXAMPLES_OUT"
CACHE_ENV = "LINTHEORY_EXAMPLES_CACHE"


def quick_mode() -> bool:
    """True when ``$LINTHEORY_QUICK`` is set to anything but ``""`` or ``"0"``.

    Examples then use smaller sizes and shorter times (the tests and the docs build do).
    """
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def output_folder() -> Path:
    """Where examples write their figures.

    ``$LINTHEORY_EXAMPLES_OUT`` if set; else ``output/`` beside the running script (so
    ``python examples/01_linear_task.py`` writes to ``examples/output/``); else, in a
    notebook or an interactive session, ``output/`` in the current folder. Not created
    here (:func:`save_example_figure` creates it).
    """
    if os.environ.get(OUT_ENV):
        return Path(os.environ[OUT_ENV])
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and Path(main_file).suffix == ".py" and Path(main_file).is_file():
        return Path(main_file).resolve().parent / "output"
    return Path.cwd() / "output"


def save_example_figure(fig, name: str) -> Path:
    """Save ``fig`` as ``output_folder() / (name + ".png")`` (atomically) and print where.

    Leaves the figure open, so it still shows inline in a notebook or with ``plt.show()``.
    Returns the path written.
    """
    from .io import save_figure

    if not name or Path(name).name != name:
        raise ValueError(f"name must be a plain file name without folders, got {name!r}")
    (path,) = save_figure(fig, output_folder() / name, formats=("png",))
    print(f"figure: {path}")
    return path


# ---------------------------------------------------------------------------------------
# Gallery: figure cache shared by the example tests and the docs build


def _package_sources() -> list[Path]:
    root = Path(__file__).resolve().parent
    return sorted(root.rglob("*.py"))


def source_fingerprint(script) -> str:
    """SHA-256 (hex) of what a quick run of ``script`` depends on.

    It covers the script's bytes, every ``.py`` file of the lintheory package (relative
    path and bytes) and the numpy and matplotlib versions: figures stored under this
    fingerprint are those the script would draw now.
    """
    import matplotlib
    import numpy

    script = Path(script)
    h = hashlib.sha256()
    h.update(b"script\0" + script.read_bytes())
    root = Path(__file__).resolve().parent
    for path in _package_sources():
        h.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    h.update(f"\0numpy {numpy.__version__} matplotlib {matplotlib.__version__}".encode())
    return h.hexdigest()


def _entry(cache, script, fingerprint: str) -> Path:
    return Path(cache) / Path(script).stem / fingerprint


def cached_figures(cache, script, fingerprint: str) -> list[Path]:
    """The PNG figures stored for ``script`` under ``fingerprint`` in ``cache`` (sorted);
    ``[]`` when there are none."""
    entry = _entry(cache, script, fingerprint)
    return sorted(entry.glob("*.png")) if entry.is_dir() else []


def store_figures(cache, script, figures, fingerprint: str) -> Path:
    """Copy the PNG files ``figures`` into ``cache/<script stem>/<fingerprint>/``.

    The folder appears complete or not at all (filled under a temporary name, then
    renamed); entries of the same script with another fingerprint are removed. Returns
    the entry's folder.
    """
    figures = [Path(f) for f in figures]
    if not figures or any(f.suffix != ".png" or not f.is_file() for f in figures):
        raise ValueError(f"figures must be existing .png files, got {figures}")
    entry = _entry(cache, script, fingerprint)
    entry.parent.mkdir(parents=True, exist_ok=True)
    if not cached_figures(cache, script, fingerprint):
        tmp = Path(tempfile.mkdtemp(prefix=f".{fingerprint[:8]}.", dir=entry.parent))
        for f in figures:
            shutil.copy2(f, tmp / f.name)
        try:
            os.replace(tmp, entry)
        except OSError:  # another writer stored the same entry first
            shutil.rmtree(tmp, ignore_errors=True)
    for other in entry.parent.iterdir():
        if other.name != entry.name and not other.name.startswith("."):
            shutil.rmtree(other, ignore_errors=True)
    return entry


# ---------------------------------------------------------------------------------------
# Gallery: percent script -> notebook


def percent_cells(text: str) -> list[tuple[str, str]]:
    """Split a "percent" script into cells: a list of ``(kind, source)``.

    ``kind`` is ``"markdown"`` for a cell opened by ``# %% [markdown]`` (each line's
    leading ``# `` or ``#`` removed) and ``"code"`` for ``# %%`` (or for text before the
    first marker). Blank lines at either end of a cell are dropped, as are empty cells.
    """
    cells, kind, lines = [], "code", []

    def close():
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            cells.append((kind, "\n".join(lines)))

    for line in text.splitlines():
        marker = line.strip()
        if marker == "# %%" or marker.startswith("# %% ") or marker.startswith("# %%["):
            close()
            kind, lines = ("markdown" if "[markdown]" in marker else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        else:
            lines.append(line)
    close()
    return cells


def percent_to_notebook(text: str) -> dict:
    """An nbformat-4 notebook (a JSON-ready dict) with the cells of a percent script.

    No outputs; cell ids are ``cell-0``, ``cell-1`` ... so the same script gives the same
    file. The kernel is Python 3.
    """
    cells = []
    for i, (kind, source) in enumerate(percent_cells(text)):
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }

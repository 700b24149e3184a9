"""Atomic writing of results (JSON, NPZ, figures).

Every file lintheory writes goes through these helpers: the content is written to a
temporary file in the destination folder and renamed over the target, so an interrupted
run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def check_output_path(path) -> Path:
    """``ValueError`` if ``path``'s folder could not be created or written; creates nothing.

    Commands call it before long work, so a bad output path fails in a second, not after.
    """
    path = Path(path)
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():  # the same words mkdir would give at write time
        why = "File exists" if existing == path.parent else "Not a directory"
        raise ValueError(f"cannot create output folder {path.parent}: {why}")
    if not os.access(existing, os.W_OK):
        raise ValueError(f"output folder {existing} is not writable")
    return path


def ensure_parent(path) -> Path:
    """Create ``path``'s folder if needed; ``ValueError`` if it cannot exist or be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output folder {path.parent}: {exc.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise ValueError(f"output folder {path.parent} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The parent folder is created if needed. ``suffix`` (default: ``path``'s suffix) is
    kept so that writers that infer the format from the name (matplotlib) still work.
    """
    path = ensure_parent(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix,
        dir=path.parent,
    )
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _to_builtin(obj):
    if isinstance(obj, dict):
        return {str(k): _to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_builtin(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _to_builtin(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        raise ValueError("refusing to write a non-finite number to JSON")
    return obj


def write_json(path, data: dict) -> Path:
    """Write ``data`` (numpy arrays allowed) as indented JSON, atomically.

    Non-finite floats are refused: results are never written with NaN in them.
    """
    text = json.dumps(_to_builtin(data), indent=1, sort_keys=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
    return Path(path)


def read_json(path) -> dict:
    """Read a JSON file written by :func:`write_json`.

    ``ValueError`` naming the path when it is a folder, empty, or not JSON (truncated);
    ``FileNotFoundError`` when it does not exist.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, expected a JSON file")
    text = path.read_text()
    if not text.strip():
        raise ValueError(f"{path} is empty, expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}; "
                         "truncated?)") from None
    except RecursionError:
        raise ValueError(f"{path} is not valid JSON (nested too deeply)") from None


def write_npz(path, **arrays) -> Path:
    """Write arrays to a compressed NPZ file, atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return Path(path)


def save_figure(fig, stem, formats=("png", "pdf"), dpi: int = 150, *,
                tight: bool = True) -> list[Path]:
    """Save a matplotlib figure as ``stem.png``, ``stem.pdf`` ... atomically.

    The PDF carries no creation date, so the same figure gives the same bytes on every
    run (re-running a command leaves a clone clean). ``tight=False`` keeps the figure's own
    layout and skips the extra drawing pass that ``bbox_inches="tight"`` costs per format.
    """
    stem = Path(stem)
    out = []
    for fmt in formats:
        path = stem.with_suffix("." + fmt)
        meta = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None,
                        metadata=meta)
        out.append(path)
    return out

"""JSON as lintheory writes and reads it: plain types only, no NaN, one-line read errors.

:func:`lintheory.io.write_json` writes :func:`_json_text` atomically; :func:`read_json`
reads it back and turns a folder, an empty or a truncated file into a ``ValueError``
naming the path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


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


def _json_text(data) -> str:
    return json.dumps(_to_builtin(data), indent=1, sort_keys=False) + "\n"


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

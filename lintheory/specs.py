"""Sweep specs: canonical JSON values, their short stable keys, and grids of them.

A spec is a dict (or dataclass) of JSON values; :func:`spec_key` hashes its canonical JSON
so that the result of a spec can live in ``<results_dir>/<key>.json``
(:func:`result_path`). Used by :mod:`lintheory.sweep`, which re-exports every name here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

KEY_LENGTH = 16  # hex digits of sha256 kept in a key (64 bits)


def _plain(value, where: str):
    """``value`` as plain JSON types (finite floats only), or ValueError naming ``where``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"spec field {where} must be a finite number, got {value}")
        return float(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar
        return _plain(value.item(), where)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"spec keys must be strings, got {k!r} in {where}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    raise ValueError(
        f"spec field {where} must be a JSON value (number, string, bool, None, list), "
        f"got {type(value).__name__}"
    )


def canonical_spec(spec) -> dict:
    """The spec as a dict of plain JSON values (a dataclass is converted with ``asdict``)."""
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        spec = dataclasses.asdict(spec)
    if not isinstance(spec, dict):
        raise ValueError(f"a spec must be a dict or a dataclass, got {type(spec).__name__}")
    return _plain(spec, "spec")


def spec_key(spec) -> str:
    """Short stable hash of a spec: sha256 of its canonical JSON (sorted keys), 16 hex digits.

    ``1`` and ``1.0`` are different specs; key order does not matter.
    """
    text = json.dumps(canonical_spec(spec), sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def result_path(results_dir, spec) -> Path:
    """``<results_dir>/<key>.json``."""
    return Path(results_dir) / f"{spec_key(spec)}.json"


def failed_path(results_dir, spec) -> Path:
    """``<results_dir>/<key>.failed.json``."""
    return Path(results_dir) / f"{spec_key(spec)}.failed.json"


def grid(**axes) -> list[dict]:
    """Cartesian product of the given axes, as a list of specs (last axis varies fastest).

    ``grid(rule=["fa", "raf"], rank=[1, 2], seed=0)`` gives four specs; a scalar is an
    axis of length one.
    """
    specs = [{}]
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        specs = [{**s, name: v} for s in specs for v in values]
    return specs

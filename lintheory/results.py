"""Result records of sweeps on disk: which run function, which key, is the file sound.

A sweep stores the result of a spec and a run function in ``<results_dir>/<key>.json``
(:func:`result_key`: the spec's canonical JSON hashed together with the run function's
name). :func:`check_record` decides whether such a file is a finished result of exactly
this spec and run (it parses, and holds both); :func:`find_result` also finds files of
sweeps written before the run was part of the key; :func:`set_aside` renames a broken
one to ``<name>.bad``; :func:`load_results` reads records back. Used by
:mod:`lintheory.sweep`, which re-exports every name here.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from .io import read_json
from .specs import KEY_LENGTH, canonical_spec, spec_key


def resolve_run(run):
    """The function named ``"package.module:function"`` (a callable is returned as is)."""
    if callable(run):
        return run
    if not isinstance(run, str) or ":" not in run:
        raise ValueError(f"run must be 'package.module:function', got {run!r}")
    module, _, name = run.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"cannot import the run function's module {module!r}: {exc}") from None
    try:
        for part in name.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ValueError(f"module {module!r} has no function {name!r}") from None
    if not callable(obj):
        raise ValueError(f"{run!r} is not callable")
    return obj


def run_name(run) -> str:
    """The importable name ``"module:qualname"`` of a run function (or the string itself)."""
    if isinstance(run, str):
        resolve_run(run)
        return run
    name = f"{run.__module__}:{run.__qualname__}"
    if "<" in name or run.__module__ == "__main__":
        raise ValueError(
            f"run function {name} is not importable by worker processes; define it at "
            "module level in an importable module"
        )
    return name


def run_id(run) -> str:
    """The canonical name ``"module:qualname"`` of the function ``run`` resolves to.

    Aliases give one id (``"lintheory.sweep:train_run"`` and
    ``"lintheory.nn.runs:train_run"`` name the same function), so a result key depends on
    the function that computes the result, not on how it was named.
    """
    fn = resolve_run(run)
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def result_key(spec, run) -> str:
    """The key of the result of ``run`` on ``spec``: :func:`spec_key` of both together.

    Two run functions on one spec have two keys, so they can share a results folder.
    (Sweeps before this key was introduced stored ``spec_key(spec)``; such files are still
    found and used when their record names the same function, see :func:`find_result`.)
    """
    return spec_key({"run": run_id(run), "spec": canonical_spec(spec)})


def check_record(path, spec, run) -> str | None:
    """Why the file at ``path`` is not a finished result of ``run`` on ``spec`` (None if it is).

    A result counts as done only when it is a regular file holding JSON with the
    ``key``/``spec``/``run``/``result`` fields, the same canonical spec, and a run
    function that resolves to the same function as ``run``.
    """
    path = Path(path)
    if path.is_dir():
        return "a directory, not a result file"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return "missing"
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable ({getattr(exc, 'strerror', None) or exc})"
    if not text.strip():
        return "empty"
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at line {exc.lineno}: truncated?)"
    except RecursionError:
        return "not JSON (nested too deeply)"
    if not isinstance(rec, dict) or not {"spec", "run", "result"} <= set(rec):
        return "not a sweep result record (needs the spec, run and result fields)"
    if rec["spec"] != canonical_spec(spec):
        return "holds a different spec"
    if rec["run"] != run and not _same_run(rec["run"], run):
        return f"holds the result of another run function ({rec['run']})"
    return None


def _same_run(a, b) -> bool:
    try:
        return run_id(a) == run_id(b)
    except ValueError:  # the recorded function no longer imports: not ours
        return False


def _legacy_path(results_dir, spec) -> Path:
    return Path(results_dir) / f"{spec_key(spec)}.json"


def find_result(results_dir, spec, run) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The verified result file of ``run`` on ``spec`` in ``results_dir``, or None; and the
    broken files found on the way (``(path, why)``: empty, truncated, a directory...)."""
    broken = []
    for path in (Path(results_dir) / f"{result_key(spec, run)}.json",
                 _legacy_path(results_dir, spec)):
        if not path.exists() and not path.is_symlink():
            continue
        why = check_record(path, spec, run)
        if why is None:
            return path, broken
        if not why.startswith(("holds a different spec", "holds the result of another")) \
                or path.name.startswith(result_key(spec, run)):
            broken.append((path, why))  # a legacy file of another run is not ours to move
    return None, broken


def set_aside(path, why: str) -> Path:
    """Rename a broken result file (or folder) to ``<name>.bad`` (``.bad.2``...) so that
    the run is redone; prints one line naming both; returns the new path."""
    import sys

    path = Path(path)
    new = path.with_name(path.name + ".bad")
    n = 1
    while new.exists() or new.is_symlink():
        n += 1
        new = path.with_name(f"{path.name}.bad.{n}")
    try:
        os.replace(path, new)
    except FileNotFoundError:  # another sweep sharing the folder moved it first
        return new
    print(f"sweep: {path} is {why}; moved it to {new.name} and running it again",
          file=sys.stderr)
    return new


def load_results(results_dir, specs=None, run=None, *, as_frame: bool = False):
    """The result records ``{"key", "spec", "run", "result", "seconds"}`` in a folder.

    ``as_frame=True`` returns them as a table instead: a ``pandas.DataFrame`` with one row
    per record and one column per spec field and per scalar result field (see
    :func:`records_table`; needs pandas, ``pip install -e ".[tables]"``).

    With ``specs``, return the records of those specs in the same order (``None`` where a
    spec has no verified result yet) computed by ``run``; with ``run=None``, by the one
    run function that has results for the spec in the folder (ValueError if several do).
    Without ``specs``, every record in the folder, sorted by key. A broken file (empty,
    truncated, another spec) is a ValueError naming it.
    """
    if as_frame:
        try:
            import pandas as pd
        except ImportError:
            raise ValueError("as_frame=True needs pandas: pip install -e \".[tables]\" "
                             "(or use records_table for plain rows)") from None
        return pd.DataFrame(records_table(load_results(results_dir, specs, run)))
    results_dir = Path(results_dir)
    if specs is None:
        return [_read_record(p) for p in _record_paths(results_dir)]
    index = None
    out = []
    for spec in specs:
        spec = canonical_spec(spec)
        if run is not None:
            path, broken = find_result(results_dir, spec, run)
            if path is None and broken:
                bad, why = broken[0]
                raise ValueError(f"result file {bad} is {why}; run the sweep again to redo it")
            out.append(None if path is None else _read_record(path))
            continue
        if index is None:
            index = {}
            for p in _record_paths(results_dir):
                rec = _read_record(p)
                rid = _safe_id(rec["run"])
                if p.stem not in (spec_key({"run": rid, "spec": rec["spec"]}),
                                  spec_key(rec["spec"])):
                    raise ValueError(f"result file {p} holds a different spec than its name "
                                     "says (edited, or a hash collision?)")
                index.setdefault(json.dumps(rec["spec"], sort_keys=True), []).append(rec)
        recs = index.get(json.dumps(spec, sort_keys=True), [])
        runs = sorted({_safe_id(r["run"]) for r in recs})
        if len(runs) > 1:
            raise ValueError(f"{results_dir} holds results of several run functions for one "
                             f"spec ({', '.join(runs)}); pass run= to choose")
        out.append(recs[0] if recs else None)
    return out


def _safe_id(run) -> str:
    try:
        return run_id(run)
    except ValueError:
        return str(run)


def _record_paths(results_dir) -> list[Path]:
    return sorted(p for p in Path(results_dir).glob("*.json")
                  if len(p.stem) == KEY_LENGTH and "." not in p.stem)


def _read_record(path) -> dict:
    rec = read_json(path)
    if not isinstance(rec, dict) or not {"spec", "run", "result"} <= set(rec):
        raise ValueError(f"result file {path} is not a sweep result record (needs the spec, "
                         "run and result fields)")
    return rec




def records_table(records) -> list[dict]:
    """Flat rows of result records, one per record (``None`` entries skipped).

    Each row holds ``key``, ``run``, ``seconds``, every spec field as ``spec.NAME`` and
    every result field as ``NAME`` when it is a number, a string or a bool; a list of
    numbers (e.g. the mode strengths ``a``) becomes ``NAME[0]``, ``NAME[1]``, ... . Nested
    objects are left out.
    """
    rows = []
    for rec in records:
        if rec is None:
            continue
        row = {"key": rec.get("key"), "run": rec.get("run"), "seconds": rec.get("seconds")}
        for k, v in rec["spec"].items():
            row[f"spec.{k}"] = v
        for k, v in (rec["result"] if isinstance(rec["result"], dict) else {}).items():
            if isinstance(v, (int, float, str, bool)) or v is None:
                row[k] = v
            elif isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
                row.update({f"{k}[{i}]": x for i, x in enumerate(v)})
        rows.append(row)
    return rows

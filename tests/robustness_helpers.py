"""Helpers of the tests/test_robustness_*.py modules: run the real CLI in a subprocess and
check what a careful user expects of a failure (one line, no traceback, nothing left).

Also the run functions those sweeps import by name (``robustness_helpers:NAME``; the
subprocesses get this folder on ``PYTHONPATH``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def cli_env(**extra) -> dict:
    """The environment of a CLI subprocess: this folder importable, one BLAS thread."""
    return {**os.environ, "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
            **extra}


def cli_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "lintheory", *map(str, args)]


def run_cli(*args, timeout=120, env=None, **kw) -> subprocess.CompletedProcess:
    """``python -m lintheory ARGS`` in its own session; checks no process of it is left."""
    proc = subprocess.Popen(cli_cmd(*args), env=env or cli_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.communicate()
    assert_no_process_left(proc.pid)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def session_pids(sid: int) -> list[int]:
    """Processes (not zombies) whose session id is ``sid`` (Linux /proc)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(d.name))
    return pids


def assert_no_process_left(sid: int, timeout: float = 5.0) -> None:
    """Every process the command started (workers, forkserver, resource tracker) is gone."""
    t0 = time.monotonic()
    while session_pids(sid):
        if time.monotonic() - t0 > timeout:
            left = session_pids(sid)
            for pid in left:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            raise AssertionError(f"processes left behind: {left}")
        time.sleep(0.05)


def assert_one_line_error(res, *needles, code=None) -> str:
    """Non-zero exit, exactly one line on stderr starting ``lintheory``, no traceback, and
    each of ``needles`` in that line; returns the line."""
    assert res.returncode != 0, (res.stdout, res.stderr)
    if code is not None:
        assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("lintheory"), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def snapshot(folder) -> dict:
    """``{relative path: (mode, sha256 of the bytes or 'dir')}`` of everything in ``folder``."""
    out = {}
    folder = Path(folder)
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        if p.is_symlink():
            out[str(p.relative_to(folder))] = (st.st_mode, "->" + os.readlink(p))
        elif p.is_dir():
            out[str(p.relative_to(folder))] = (st.st_mode, "dir")
        else:
            out[str(p.relative_to(folder))] = (
                st.st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


# --- run functions for the sweeps of these tests -----------------------------------------


def square(spec):
    """A cheap run: ``{"y": x**2}`` (and ``x`` echoed)."""
    return {"x": spec["x"], "y": spec["x"] ** 2}


def cube(spec):
    """Another cheap run on the same specs: ``{"y": x**3}``."""
    return {"x": spec["x"], "y": spec["x"] ** 3}


def slow_square(spec):
    """:func:`square` after ``spec["sleep"]`` seconds (default 0.3)."""
    time.sleep(spec.get("sleep", 0.3))
    return square(spec)


def dies_on_three(spec):
    """The process running it ends with ``os._exit(3)`` when x == 3; otherwise square."""
    if spec["x"] == 3:
        os._exit(3)
    time.sleep(0.05)
    return square(spec)


def exits_on_three(spec):
    """``sys.exit(7)`` when x == 3; otherwise square."""
    if spec["x"] == 3:
        sys.exit(7)
    return square(spec)

"""Run many ``lintheory`` command lines in one process and report each as JSON.

Used by ``tests/test_robustness_inputs.py``: one interpreter start for a whole family of
cases. ``python tests/robustness_batch.py CASES.json`` reads a list of
``{"id", "argv", "env", "files"}`` (``files``: name -> text written in the case's empty
working folder first), runs each through :func:`lintheory.cli.main` in its own folder
with stdout and stderr captured and a per-case alarm, and prints one JSON line per case:
``{"id", "code", "stderr", "seconds", "new_files", "timeout"}``. ``new_files`` lists
every path (below the folder) that was not there before the case ran.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

CASE_SECONDS = int(os.environ.get("ROBUSTNESS_CASE_SECONDS", "60"))


class _Alarm(BaseException):
    """A case ran longer than ``CASE_SECONDS``."""


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_case(case: dict) -> dict:
    """Run one case in a fresh folder; the JSON-ready report."""
    from lintheory.cli import main

    root = Path(tempfile.mkdtemp(prefix="robust-"))
    for name, text in case.get("files", {}).items():
        (root / name).write_text(text)
    before = _tree(root)
    old_env = {k: os.environ.get(k) for k in case.get("env", {})}
    os.environ.update(case.get("env", {}))
    timed_out = False
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()

    fired = []

    def on_alarm(signum, frame):
        fired.append(True)
        raise _Alarm  # the command may turn it into its one-line error; `fired` tells

    signal.signal(signal.SIGALRM, on_alarm)
    t0 = time.perf_counter()
    try:
        os.chdir(root)
        signal.alarm(CASE_SECONDS)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(case["argv"])
            except SystemExit as exc:  # argparse errors
                code = exc.code if isinstance(exc.code, int) else 2
    except _Alarm:
        timed_out, code = True, None
    finally:
        signal.alarm(0)
        seconds = time.perf_counter() - t0
        os.chdir(cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"id": case["id"], "code": code, "stderr": err.getvalue(),
            "seconds": round(seconds, 3), "new_files": sorted(_tree(root) - before),
            "timeout": timed_out or bool(fired)}


if __name__ == "__main__":
    cases = json.loads(Path(sys.argv[1]).read_text())
    for case in cases:
        print(json.dumps(run_case(case)), flush=True)

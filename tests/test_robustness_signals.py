"""Clean shutdown (issue 14, item 2): SIGTERM and SIGHUP behave like Ctrl-C, a worker that
dies fails only its own run, ``sys.exit`` in a run fails only that run.

Signals go to real ``python -m lintheory`` subprocesses (the process itself, as ``kill``
or a batch scheduler sends them); each test checks the exit status, the one line on
stderr, that no process of the command (workers, forkserver, resource tracker) is left,
that no temporary file is left and that finished results are kept and resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from robustness_helpers import (
    assert_no_process_left,
    cli_cmd,
    cli_env,
    run_cli,
)

from lintheory.shutdown import Terminated, raise_pending, signals_as_interrupts
from lintheory.sweep import load_results

SLOW = "robustness_helpers:slow_square"


def _specs(tmp_path, n, **extra):
    path = tmp_path / "specs.jsonl"
    path.write_text("".join(json.dumps({"x": x, **extra}) + "\n" for x in range(n)))
    return path, [{"x": x, **extra} for x in range(n)]


def _results(folder):
    return [p for p in folder.glob("*.json") if len(p.stem) == 16] if folder.exists() else []


def _start(args, cwd=None):
    return subprocess.Popen(cli_cmd(*args), env=cli_env(), cwd=cwd, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(cond, proc, timeout=60.0):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, ("ended before the signal", proc.communicate())
        assert time.monotonic() - t0 < timeout, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize("sig, code, line", [
    (signal.SIGTERM, 143, "lintheory sweep: terminated by SIGTERM"),
    (signal.SIGHUP, 129, "lintheory sweep: terminated by SIGHUP"),
    (signal.SIGINT, 130, "lintheory sweep: interrupted"),
], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_signal_to_a_parallel_sweep_stops_everything_and_keeps_results(tmp_path, sig, code,
                                                                      line):
    spec_file, specs = _specs(tmp_path, 8, sleep=0.25)
    res = tmp_path / "res"
    args = ["sweep", "--specs", spec_file, "--run", SLOW, "--results", res, "--quiet"]
    proc = _start([*args, "--workers", "2"])
    try:
        _wait(lambda: len(_results(res)) >= 2, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [line], err
    assert_no_process_left(proc.pid)
    done = _results(res)
    assert 2 <= len(done) < 8
    assert not [p for p in res.iterdir() if p.name.startswith(".")], "temporary file left"
    assert json.loads((res / "_sweep.json").read_text())["interrupted"] is True
    for p in done:  # every result kept is complete
        rec = json.loads(p.read_text())
        assert rec["result"]["y"] == rec["spec"]["x"] ** 2
    if sig != signal.SIGTERM:
        return
    again = run_cli(*args, "--workers", "2")  # resume: only the missing runs
    assert again.returncode == 0, again.stderr
    assert f"8 runs, {len(done)} already done, {8 - len(done)} finished, 0 failed" \
        in again.stdout
    assert [r["result"]["y"] for r in load_results(res, specs, run=SLOW)] == \
        [x * x for x in range(8)]


def test_sigterm_during_a_serial_sweep(tmp_path):
    spec_file, _ = _specs(tmp_path, 4, sleep=0.3)
    res = tmp_path / "res"
    proc = _start(["sweep", "--specs", spec_file, "--run", SLOW, "--results", res, "--quiet",
                   "--workers", "1"])
    try:
        _wait(lambda: len(_results(res)) >= 1, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 143
    assert err.strip() == "lintheory sweep: terminated by SIGTERM"
    assert 1 <= len(_results(res)) < 4
    assert not [p for p in res.iterdir() if p.name.startswith(".")]


def test_sigterm_during_simulate_leaves_no_file(tmp_path):
    """A long ODE run killed with SIGTERM: exit 143, one line, no output or temporary file."""
    # T x lam = 1e5, the most RK45 is allowed (lintheory.preflight): about 2e5 evaluations
    proc = _start(["simulate", "--rule", "raf", "--T", "4000", "--lam", "25", "--points", "3",
                   "--out", "long.json"], cwd=tmp_path)
    try:
        seen = ""
        while seen.count("t = ") < 2:  # the integration is running (see test_cli_bad_input)
            ch = proc.stderr.read(1)
            assert ch, "the run ended before it could be terminated"
            seen += ch
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 143
    assert "Traceback" not in err
    assert err.replace("\r", "\n").strip().splitlines()[-1] == \
        "lintheory simulate: terminated by SIGTERM"
    assert list(tmp_path.iterdir()) == []
    assert_no_process_left(proc.pid)


@pytest.mark.parametrize("workers", [1, 2])
def test_sys_exit_in_a_run_fails_only_that_run(tmp_path, workers):
    spec_file, specs = _specs(tmp_path, 6)
    res = tmp_path / "res"
    out = run_cli("sweep", "--specs", spec_file, "--run", "robustness_helpers:exits_on_three",
                  "--results", res, "--quiet", "--workers", workers)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "6 runs, 0 already done, 5 finished, 1 failed" in out.stdout
    assert "SystemExit: the run function called sys.exit(7)" in out.stdout
    recs = load_results(res, specs, run="robustness_helpers:exits_on_three")
    assert [r is None for r in recs] == [x == 3 for x in range(6)]


def test_a_worker_that_dies_fails_only_its_own_run(tmp_path):
    spec_file, specs = _specs(tmp_path, 8)
    res = tmp_path / "res"
    run = "robustness_helpers:dies_on_three"
    out = run_cli("sweep", "--specs", spec_file, "--run", run, "--results", res, "--quiet",
                  "--workers", "2")
    assert out.returncode == 1, out.stderr
    assert "8 runs, 0 already done, 7 finished, 1 failed" in out.stdout
    assert "died (exit code 3)" in out.stdout
    recs = load_results(res, specs, run=run)
    assert [r is None for r in recs] == [x == 3 for x in range(8)]
    assert [r["result"]["y"] for r in recs if r] == [x * x for x in range(8) if x != 3]


def _signal_inside(module: str, sig: int):
    """A function whose frame belongs to ``module`` and which signals this process: the
    handler runs while that frame is the current one (the next bytecode after ``kill``)."""
    def body(signum):
        os.kill(os.getpid(), signum)
        return "returned"

    fn = type(body)(body.__code__, {"__name__": module, "os": os}, "body")
    return lambda: fn(sig)


@pytest.mark.parametrize("sig, exc", [(signal.SIGINT, KeyboardInterrupt),
                                      (signal.SIGTERM, Terminated)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_inside_numba_code_is_raised_at_the_next_check(sig, exc):
    """numba drops or garbles an exception raised inside its own Python code (converting a
    typed list: "can't unbox ..."), so a signal arriving there is kept and raised by
    ``raise_pending`` (called between compiled calls), and only there."""
    with signals_as_interrupts():
        assert _signal_inside("numba.typed.typedlist", sig)() == "returned"
        with pytest.raises(exc):
            raise_pending()
        raise_pending()                      # raised once: nothing is left pending
    with pytest.raises(exc), signals_as_interrupts():
        _signal_inside("lintheory.flow", sig)()   # ordinary code: raised at once
        raise AssertionError("the signal outside numba was not raised at once")


def test_a_deferred_signal_no_check_reached_ends_the_body():
    """If no ``raise_pending`` runs after it, the deferred interrupt is raised when the body
    ends, so the command still stops with 130 instead of finishing as if nothing happened."""
    reached_end = []
    with pytest.raises(KeyboardInterrupt), signals_as_interrupts():
        _signal_inside("numba.core.dispatcher", signal.SIGINT)()
        reached_end.append(True)
    assert reached_end == [True]
    raise_pending()                          # and nothing stays pending afterwards

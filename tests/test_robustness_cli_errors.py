"""Every failure one line (issue 14, items 4 and 5): any exception is
``lintheory COMMAND: error: ...`` with exit 2 (the user can fix it) or 1 (unexpected),
``--debug`` shows the traceback; option values are parsed by typed parsers with length
limits; spec lines are named in errors; a Dask scheduler that is closed or silent is named
within the timeout.

The cases run ``python -m lintheory`` in real subprocesses (in a folder of their own, which
must stay unchanged), except the exception-to-message mapping, checked in process.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
import time

import pytest
from robustness_helpers import assert_one_line_error, cli_env, run_cli, snapshot

from lintheory.cli import describe_error, main
from lintheory.errors import DivergenceError

SQUARE = "robustness_helpers:square"


@pytest.fixture
def work(tmp_path):
    (tmp_path / "specs.jsonl").write_text('{"x": 1}\n{"x": 2}\n')
    return tmp_path


def _sweep(work, *args, **kw):
    return run_cli("sweep", "--results", work / "res", "--quiet", "--workers", "1", *args,
                   cwd=work, **kw)


def _in_process(capsys, *argv):
    """``lintheory ARGV`` in this process (for errors found before any work): a
    CompletedProcess-like result with the exit status and the captured output."""
    import subprocess

    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    cap = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, cap.out, cap.err)


def test_exception_classes_map_to_exit_codes_and_one_line():
    assert describe_error(ValueError("bad --x")) == (2, "bad --x")
    assert describe_error(DivergenceError("diverged\nat step 3")) == (2, "diverged; at step 3")
    code, msg = describe_error(OSError(errno.ENOSPC, "No space left on device", "r.npz"))
    assert (code, msg) == (2, "No space left on device: r.npz")
    assert describe_error(MemoryError())[0] == 2
    assert "nested too deeply" in describe_error(RecursionError("maximum depth"))[1]
    code, msg = describe_error(KeyError("oops"))
    assert code == 1 and msg.startswith("KeyError: 'oops'") and "--debug" in msg
    long = describe_error(ValueError("x" * 5000))[1]
    assert len(long) < 2100 and "\n" not in long


def test_unexpected_error_is_exit_1_and_debug_shows_the_traceback(work):
    # importing the run function's module raises a RuntimeError (not an ImportError)
    (work / "broken_mod.py").write_text("raise RuntimeError('broken at import')\n")
    env = cli_env(PYTHONPATH=f"{work}:{cli_env()['PYTHONPATH']}")
    before = snapshot(work)
    args = ("sweep", "--specs", work / "specs.jsonl", "--run", "broken_mod:f", "--results",
            work / "res", "--quiet")
    res = run_cli(*args, env=env, cwd=work)
    line = assert_one_line_error(res, "lintheory sweep: error: RuntimeError: broken at import",
                                 "--debug", code=1)
    assert "unexpected" in line
    dbg = run_cli("--debug", *args, env=env, cwd=work)
    assert dbg.returncode == 1
    assert "Traceback (most recent call last)" in dbg.stderr
    assert dbg.stderr.strip().splitlines()[-1] == line
    assert snapshot(work) == {k: v for k, v in before.items()}


@pytest.mark.parametrize("option, value, needle", [
    ("--set", "lr=", "lr= needs a value"),
    ("--set", "lr=" + "-" * 100_000, "at most 1000"),
    ("--set", "lr=[[[1]]]", "nested lists are not supported"),
    ("--set", "=3", "KEY an option name"),
    ("--set", "lr=nan", "lr must be a finite number"),
], ids=["empty", "100k-dashes", "nested", "no-key", "nan"])
def test_key_value_options_are_typed_and_bounded(work, capsys, monkeypatch, option, value,
                                                 needle):
    monkeypatch.chdir(work)
    before = snapshot(work)
    res = _in_process(capsys, "sweep", option, value, "--dry-run")
    line = assert_one_line_error(res, "lintheory sweep: error: argument --set", needle,
                                 code=2)
    assert len(line) < 400
    assert snapshot(work) == before


def test_feedback_arg_of_train_is_typed(work):  # the real process, once
    res = run_cli("train", "--rule", "raf", "--feedback-arg", "q_decay=" + "-" * 100_000,
                  cwd=work)
    assert_one_line_error(res, "argument --feedback-arg", "at most 1000", code=2)
    assert snapshot(work) == {"specs.jsonl": snapshot(work)["specs.jsonl"]}


@pytest.mark.parametrize("lines, needle", [
    (['{"x": 1}', "[" * 100_000 + "]" * 100_000], "line 2: 200000 characters"),
    (['{"x": 1}', '{"x": ' + "[" * 50 + "]" * 50 + "}"], "line 2: nested more than 20"),
    (['{"x": 1}', "", '{"x": '], "line 3: not JSON"),
    (['[1, 2]'], "line 1: expected a JSON object"),
    (['{"x": 1e999}'], "line 1: spec field spec.x must be a finite number"),
], ids=["long", "nested", "truncated", "not-an-object", "infinite"])
def test_bad_spec_lines_are_named_by_number(work, capsys, lines, needle):
    (work / "bad.jsonl").write_text("\n".join(lines) + "\n")
    before = snapshot(work)
    res = _in_process(capsys, "sweep", "--results", work / "res", "--quiet", "--specs",
                      work / "bad.jsonl", "--run", SQUARE)
    assert_one_line_error(res, f"--specs {work / 'bad.jsonl'} {needle}", code=2)
    assert snapshot(work) == before  # not even the results folder


def test_specs_that_is_a_folder(work):  # the real process
    res = _sweep(work, "--specs", work, "--run", SQUARE)
    assert_one_line_error(res, f"--specs {work} is a folder", code=2)


def test_closed_scheduler_port_is_named_at_once(work):
    with socket.socket() as s:  # a free port, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    res = _sweep(work, "--kind", "linear", "--T", "1", "--scheduler", f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - t0 < 15
    assert_one_line_error(res, f"--scheduler tcp://127.0.0.1:{port}", "Connection refused",
                          code=2)
    assert not (work / "res").exists() or not list((work / "res").glob("*.json"))


def test_silent_scheduler_times_out_naming_the_option(work):
    """A server that accepts connections and never answers: the error comes within the
    timeout (here 2 s via LINTHEORY_CONNECT_TIMEOUT), not after minutes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    conns = []

    def accept():
        while True:
            try:
                conns.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        t0 = time.monotonic()
        res = run_cli("sweep", "--kind", "linear", "--T", "1", "--results", work / "res",
                      "--quiet", "--scheduler", f"tcp://127.0.0.1:{port}", cwd=work,
                      env=cli_env(LINTHEORY_CONNECT_TIMEOUT="2"))
        elapsed = time.monotonic() - t0
    finally:
        server.close()
        for c in conns:
            c.close()
    assert_one_line_error(res, f"--scheduler tcp://127.0.0.1:{port}", code=2)
    assert elapsed < 30


def test_results_that_is_a_file(work, capsys):
    res = _in_process(capsys, "sweep", "--specs", work / "specs.jsonl", "--run", SQUARE,
                      "--results", work / "specs.jsonl", "--quiet", "--workers", "1")
    assert_one_line_error(res, "cannot create results folder", code=2)
    assert json.loads((work / "specs.jsonl").read_text().splitlines()[0]) == {"x": 1}

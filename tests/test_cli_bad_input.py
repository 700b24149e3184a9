"""Every ``lintheory`` command fed bad input (issue 6, item 5).

Missing, negative, non-numeric and out-of-range values, an unwritable output location and
a diverging learning rate: each ends with a non-zero exit and a one-line error (argparse
usage errors print the usage and then one ``error:`` line), never a traceback, and leaves
no output file and no temporary file behind. Commands run in process (fast) inside an
empty working folder, so a default output path would show up as a stray file; a few run
as real subprocesses to see the exit status and stderr a user sees, and one is
interrupted with SIGINT.

"Unwritable output": the tests run as root, where permission bits are not enforced, so the
output goes below a regular *file* (``afile/x.json``), which no user can create either.

An interrupted sweep that resumes is tested by the sweep's own tests:
``tests/test_sweep_cli.py::test_killed_sweep_reruns_only_the_missing_runs`` (SIGKILL
mid-sweep, re-run executes only the missing runs) and
``tests/test_sweep.py::test_interrupted_sweep_resumes_with_only_the_missing_runs``.
The list of inputs tried and the exact messages is in the project notes (bad-inputs.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lintheory.cli import main

SMALL = ["--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60", "--quiet"]
SIM = ["simulate", *SMALL, "--T", "2", "--points", "5", "--out", "run.json"]
FIG2 = ["figure2", *SMALL, "--rank-low", "1", "--T", "2", "--points", "5", "--sgd-points", "3",
        "--lr", "0.05", "--batch", "10", "--out", "figs/figure2"]
ANIM = ["animate", "--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60", "--T", "1",
        "--frames", "3", "--quiet", "--out", "anim/a.gif"]
# online SGD with lr = 2 on this task blows up within a few steps
DIVERGE = ["--method", "sgd", "--rule", "bp", "--lr", "2", "--batch", "online", "--T", "200",
           "--init-scale", "0.5"]
TRAIN = ["train", "--hidden", "8", "--depth", "1", "--epochs", "1", "--quiet", "--out", "t.json"]
TRAIN_NO_SIZE = ["train", "--epochs", "1", "--quiet", "--out", "t.json"]
FDEEP = ["figure-deep", "--depths", "2,3", "--width", "6", "--n", "6", "--m", "5", "--d", "3",
         "--samples", "60", "--low-rank", "1", "--T", "2", "--quiet", "--out", "fd/f"]
SWEEP = ["sweep", "--workers", "1", "--quiet", "--results", "res"]
FIG3 = ["figure3", "--quick", "--panels", "a", "--epochs", "1", "--seeds", "1", "--ranks", "1",
        "--workers", "1", "--quiet", "--results", "res3", "--out", "fig3/f"]

# (id, argv, a fragment of the error line). Fixtures in the working folder: "afile" is a
# regular file, "spec.jsonl" holds one linear spec.
CASES = [
    # simulate
    ("sim-T-text", [*SIM, "--T", "abc"], "argument --T: invalid float value: 'abc'"),
    ("sim-T-negative", [*SIM, "--T", "-1"], "T (final time) must be in (0.0, inf), got -1.0"),
    ("sim-T-nan", [*SIM, "--T", "nan"], "T (final time) must be finite, got nan"),
    ("sim-T-inf", [*SIM, "--T", "inf"], "T (final time) must be finite, got inf"),
    ("sim-points-1", [*SIM, "--points", "1"], "points (output times) must be in [2, inf)"),
    ("sim-samples-0", [*SIM, "--samples", "0"], "--samples must be in [2, inf), got 0"),
    ("sim-n-negative", [*SIM, "--n", "-3"], "n must be in [1, inf), got -3"),
    ("sim-d-too-big", [*SIM, "--d", "9"], "d must be in [1, 5], got 9"),
    ("sim-rank-0", [*SIM, "--rank", "0"], "rank r must be in [1, 5], got 0"),
    ("sim-rank-missing", [*SIM, "--rank"], "argument --rank: expected one argument"),
    ("sim-seed-negative", [*SIM, "--seed", "-1"], "seed must be in [0, inf), got -1"),
    ("sim-init-scale-negative", [*SIM, "--init-scale", "-1"],
     "--init-scale must be in (0.0, 1000.0]"),
    ("sim-lam-negative", [*SIM, "--lam", "-1"], "lam must be in [0.0, 1e+06], got -1.0"),
    ("sim-wd-negative", [*SIM, "--wd", "-1"], "wd (weight decay) must be in [0.0, 1e+06]"),
    ("sim-p-rate-negative", [*SIM, "--p-rate", "-1"], "p_rate must be in [0.0, 1e+06]"),
    ("sim-noise-nan", [*SIM, "--noise", "nan"], "--noise (sigma) must be finite, got nan"),
    ("sim-rule-unknown", [*SIM, "--rule", "nope"], "argument --rule: invalid choice: 'nope'"),
    ("sim-solver-unknown", [*SIM, "--solver", "FOO"],
     "solver must be one of RK45, RK23, DOP853, Radau, BDF, LSODA; got 'FOO'"),
    ("sim-rtol-0", [*SIM, "--rtol", "0"], "rtol must be in (0.0, inf), got 0.0"),
    ("sim-sv-text", [*SIM, "--singular-values", "a,b"], "--singular-values must be comma-sep"),
    ("sim-sv-count", [*SIM, "--singular-values", "3,2"], "singular_values must have d = 3"),
    ("sim-sv-negative", [*SIM, "--singular-values=-1,2,3"],
     "--singular-values must be in (0.0, 1e+06]"),
    ("sim-lr-nan", [*SIM, "--method", "sgd", "--lr", "nan"], "lr (learning rate) must be finite"),
    ("sim-lr-negative", [*SIM, "--method", "sgd", "--lr", "-0.1"],
     "lr (learning rate) must be in (0.0, inf)"),
    ("sim-batch-0", [*SIM, "--method", "sgd", "--batch", "0"],
     "batch (mini-batch size) must be in [1, inf), got 0"),
    ("sim-batch-text", [*SIM, "--method", "sgd", "--batch", "some"],
     "batch (--batch) must be full, online or an integer >= 1; got 'some'"),
    ("sim-batch-gt-N", [*SIM, "--method", "sgd", "--batch", "1000"],
     "batch (mini-batch size) must be in [1, 60], got 1000"),
    ("sim-out-not-json", [*SIM, "--out", "x.txt"], "--out must end in .json"),
    ("sim-out-unwritable", [*SIM, "--out", "afile/x.json"],
     "cannot create output folder afile: "),
    ("sim-diverges", [*SIM, *DIVERGE], "SGD (bp, batch=online) diverged at step 3 (t = 6)"),
    # figure2
    ("fig2-rank-low-0", [*FIG2, "--rank-low", "0"], "r_low (low feedback rank) must be in [1, 5]"),
    ("fig2-rank-low-eq-d", [*FIG2, "--rank-low", "3"], "r_low (low feedback rank) must be < d = 3"),
    ("fig2-points-1", [*FIG2, "--points", "1"], "points (output times) must be in [2, inf)"),
    ("fig2-t-min-negative", [*FIG2, "--t-min", "-1"], "t_min must be in (0.0, inf)"),
    ("fig2-t-min-above-T", [*FIG2, "--t-min", "100"], "t_min must be < T = 2.0, got 100.0"),
    ("fig2-sgd-points-0", [*FIG2, "--sgd-points", "0"], "sgd_points must be in [2, inf), got 0"),
    ("fig2-batch-0", [*FIG2, "--batch", "0"], "batch (mini-batch size) must be in [1, inf), got 0"),
    ("fig2-batch-gt-N", [*FIG2, "--batch", "61"],
     "batch (mini-batch size) must be in [1, 60], got 61"),
    ("fig2-batch-text", [*FIG2, "--batch", "abc"], "batch (--batch) must be full, online or an"),
    ("fig2-lr-negative", [*FIG2, "--lr", "-1"], "lr (learning rate) must be in (0.0, inf)"),
    ("fig2-T-0", [*FIG2, "--T", "0"], "T (final time) must be in (0.0, inf), got 0.0"),
    ("fig2-seed-negative", [*FIG2, "--seed", "-1"], "seed must be in [0, inf), got -1"),
    ("fig2-k-text", [*FIG2, "--k", "wide"], "argument --k: invalid int value: 'wide'"),
    ("fig2-out-dir-is-a-file", [*FIG2, "--out", "afile/figure2"],
     "cannot create output folder afile"),
    ("fig2-out-dir-unwritable", [*FIG2, "--out", "afile/sub/figure2"],
     "cannot create output folder afile/sub: Not a directory"),
    ("fig2-diverges", [*FIG2, "--T", "20", "--lr", "2", "--batch", "online", "--init-scale",
                       "0.5"], "SGD (bp, batch=online) diverged at step 3 (t = 6)"),
    # animate
    ("anim-frames-1", [*ANIM, "--frames", "1"], "--frames must be >= 2, got 1"),
    ("anim-frames-0", [*ANIM, "--frames", "0"], "argument --frames: expected a positive integer"),
    ("anim-fps-text", [*ANIM, "--fps", "fast"], "argument --fps: expected a positive integer"),
    ("anim-T-negative", [*ANIM, "--T", "-1"], "argument --T: expected a finite number >= 0"),
    ("anim-rank-gt-m", [*ANIM, "--rank", "9"], "--rank must be in [1, 5] (m), got 9"),
    ("anim-d-gt-m", [*ANIM, "--d", "9"], "d must be in [1, 5], got 9"),
    ("anim-too-few-samples", [*ANIM, "--samples", "3"], "N (samples) must be >= n = 6"),
    ("anim-out-not-gif", [*ANIM, "--out", "a.png"], "--out must end in .gif, got a.png"),
    ("anim-out-unwritable", [*ANIM, "--out", "afile/a.gif"], "cannot create output folder afile"),
    # verify
    ("verify-only-no-match", ["verify", "--only", "zzz*"], "--only 'zzz*' matches no check"),
    ("verify-break-unknown", ["verify", "--break", "nope"], "broken variant must be one of"),
    # train
    ("train-epochs-0", [*TRAIN, "--epochs", "0"], "argument --epochs: expected a positive integer"),
    ("train-epochs-text", [*TRAIN, "--epochs", "x"], "expected a positive integer, got 'x'"),
    ("train-lr-negative", [*TRAIN, "--lr", "-1"], "argument --lr: expected a finite number >= 0"),
    ("train-lr-0", [*TRAIN, "--lr", "0"], "argument --lr: expected a number > 0, got 0"),
    ("train-batch-0", [*TRAIN, "--batch-size", "0"], "argument --batch-size: expected a positive"),
    ("train-rank-0", [*TRAIN, "--rank", "0"], "argument --rank: ranks must be integers >= 1"),
    ("train-rank-too-big", [*TRAIN, "--rule", "raf", "--rank", "99"],
     "rank of layer 'fc2' must be in [1, 10]"),
    ("train-rank-list-length", [*TRAIN, "--rule", "raf", "--rank", "2,2,2"],
     "rank list must have one entry per feedback layer"),
    ("train-rule-unknown", [*TRAIN, "--rule", "nope"], "rule must be one of"),
    ("train-model-unknown", [*TRAIN, "--model", "rnn"], "argument --model: invalid choice"),
    ("train-val-fraction", [*TRAIN, "--val-fraction", "0.9"], "val_fraction must be in [0.0, 0.5]"),
    ("train-classes-1", [*TRAIN, "--classes", "1"], "classes must be in [2, 10], got 1"),
    ("train-classes-repeated", [*TRAIN, "--classes", "0,0"], "classes must be distinct labels"),
    ("train-seed-negative", [*TRAIN, "--seed", "-1"], "argument --seed: expected seeds >= 0"),
    ("train-lr-decay-2", [*TRAIN, "--lr-decay", "2"], "lr_decay must be in (0.0, 1.0], got 2.0"),
    ("train-momentum-2", [*TRAIN, "--optimizer", "sgd", "--momentum", "2"],
     "momentum must be in [0.0, 1.0], got 2.0"),
    ("train-model-arg-no-equals", [*TRAIN, "--model-arg", "dropout"], "expected KEY=VALUE"),
    ("train-model-arg-unknown", [*TRAIN, "--model-arg", "foo=1"], "unknown option(s) ['foo']"),
    ("train-dropout-text", [*TRAIN, "--model-arg", "dropout=abc"],
     "dropout p must be a number in [0, 1), got 'abc'"),
    ("train-dropout-2", [*TRAIN, "--model-arg", "dropout=2"], "dropout p must be a number in"),
    ("train-hidden-text", [*TRAIN_NO_SIZE, "--model-arg", "hidden=abc"],
     "hidden must be a positive int or 4 positive ints, got abc"),
    ("train-cnn-channels-text", [*TRAIN_NO_SIZE, "--model", "cnn", "--model-arg", "channels=abc"],
     "channels must be three positive ints, got abc"),
    ("train-vit-heads", [*TRAIN, "--model", "vit", "--model-arg", "heads=3"],
     "heads must be >= 1 and divide dim=8, got 3"),
    ("train-vit-patch-text", [*TRAIN, "--model", "vit", "--model-arg", "patch=abc"],
     "patch must be an int >= 1, got 'abc'"),
    ("train-feedback-arg-unknown", [*TRAIN, "--rule", "raf", "--feedback-arg", "nope=1"],
     "unknown feedback hyperparameter(s) ['nope']"),
    ("train-q-decay-negative", [*TRAIN, "--rule", "raf", "--feedback-arg", "q_decay=-1"],
     "q_decay must be a number in [0, 1e+06], got -1"),
    ("train-q-decay-text", [*TRAIN, "--rule", "raf", "--feedback-arg", "q_decay=abc"],
     "q_decay must be a number in [0, 1e+06], got 'abc'"),
    ("train-clip-text", [*TRAIN, "--rule", "raf", "--feedback-arg", "clip=abc"],
     "clip must be None or > 0, got 'abc'"),
    ("train-centre-text", [*TRAIN, "--rule", "raf", "--feedback-arg", "centre=abc"],
     "centre must be True or False"),
    ("train-out-unwritable", [*TRAIN, "--out", "afile/x.json"], "cannot create output folder"),
    ("train-diverges", [*TRAIN, "--optimizer", "sgd", "--lr", "1e6"],
     "training diverged: the loss became"),
    # sweep
    ("sweep-workers-negative", [*SWEEP, "--workers", "-1"], "workers must be a positive integer"),
    ("sweep-ranks-0", [*SWEEP, "--ranks", "0"], "argument --ranks: ranks must be >= 1, got 0"),
    ("sweep-ranks-text", [*SWEEP, "--ranks", "x"], "argument --ranks: expected ranks like"),
    ("sweep-kind-unknown", [*SWEEP, "--kind", "deep"], "argument --kind: invalid choice"),
    ("sweep-set-unknown", [*SWEEP, "--set", "foo=1"], "unknown training option(s) ['foo']"),
    ("sweep-specs-missing", [*SWEEP, "--specs", "missing.jsonl", "--run", "x:y"],
     "cannot read --specs missing.jsonl: No such file or directory"),
    ("sweep-specs-not-json", [*SWEEP, "--specs", "afile", "--run", "lintheory.sweep:linear_run"],
     "--specs afile line 1: not JSON"),
    ("sweep-specs-without-run", [*SWEEP, "--specs", "spec.jsonl"], "--specs and --run go together"),
    ("sweep-run-not-importable", [*SWEEP, "--specs", "spec.jsonl", "--run", "nomod:f"],
     "cannot import the run function's module 'nomod'"),
    ("sweep-results-unwritable", [*SWEEP, "--kind", "linear", "--results", "afile/sw"],
     "cannot create results folder afile/sw: Not a directory"),
    # figure3
    ("fig3-panels", [*FIG3, "--panels", "xyz"], "argument --panels: expected panel letters"),
    ("fig3-ranks-text", [*FIG3, "--ranks", "a"], "argument --ranks: expected comma-separated"),
    ("fig3-ranks-0", [*FIG3, "--ranks", "0"], "ranks must be integers >= 1, got (0,)"),
    ("fig3-seeds-0", [*FIG3, "--seeds", "0"], "argument --seeds: expected a positive integer"),
    ("fig3-lr-0", [*FIG3, "--lr", "0"], "argument --lr: expected a number > 0, got 0"),
    ("fig3-workers-negative", [*FIG3, "--workers", "-2"], "workers must be a positive integer"),
    ("fig3-dataset-unknown", [*FIG3, "--dataset", "cifar"], "argument --dataset: invalid choice"),
    # figure-deep
    ("fdeep-depth-1", [*FDEEP, "--depths", "1"], "--depths must list depths >= 2, got [1]"),
    ("fdeep-depths-text", [*FDEEP, "--depths", "a"], "argument --depths: expected comma-separated"),
    ("fdeep-width-0", [*FDEEP, "--width", "0"], "argument --width: expected a positive integer"),
    ("fdeep-d-gt-m", [*FDEEP, "--d", "9"], "d must be in [1, 5], got 9"),
    ("fdeep-low-rank-eq-d", [*FDEEP, "--low-rank", "3"],
     "--low-rank must be in [1, d - 1] = [1, 2]"),
    ("fdeep-T-nan", [*FDEEP, "--T", "nan"], "argument --T: expected a finite number >= 0, got nan"),
    ("fdeep-lr-0", [*FDEEP, "--lr", "0"], "lr (learning rate) must be in (0.0, inf), got 0.0"),
    ("fdeep-batch-gt-N", [*FDEEP, "--batch", "1000"], "batch (mini-batch size) must be in [1, 60]"),
    ("fdeep-lam-negative", [*FDEEP, "--lam", "-1"], "lam must be in [0.0, 1e+06], got -1.0"),
    ("fdeep-product-init-0", [*FDEEP, "--product-init", "0"], "argument --product-init: expected"),
    ("fdeep-seed-negative", [*FDEEP, "--seed", "-1"], "seed must be in [0, inf), got -1"),
    ("fdeep-too-few-samples", [*FDEEP, "--samples", "2"], "N (samples) must be >= n = 6"),
    ("fdeep-out-unwritable", [*FDEEP, "--out", "afile/f"], "cannot create output folder afile"),
    ("fdeep-diverges", [*FDEEP, "--lr", "5", "--T", "50"],
     "SGD (bp, batch=20) diverged at step 4 (t = 20)"),
    # demo
    ("demo-out-unwritable", ["demo", "--fast", "--quiet", "--out-dir", "afile/x"],
     "cannot create output folder afile/x: Not a directory"),
    ("demo-unknown-option", ["demo", "--bogus"], "unrecognized arguments: --bogus"),
]

# Cases that do the work and fail only when writing: finished sweep records may stay in
# the results folder (they are complete, atomic, and reused on the next run).
MAY_LEAVE = {"fig3-out-unwritable": {"res3"}}
CASES.append(("fig3-out-unwritable", [*FIG3, "--out", "afile/f"],
              "cannot create output folder afile"))


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working folder with the two fixtures the cases refer to."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a regular file, not a folder\n")
    (tmp_path / "spec.jsonl").write_text('{"kind": "linear", "rule": "bp", "r": 1}\n')
    return tmp_path


def run_in_process(argv, capsys) -> tuple[int, str]:
    """``lintheory ARGV`` in this process: (exit status, stderr). Exceptions propagate."""
    code, _, err = run_with_output(argv, capsys)
    return code, err


def run_with_output(argv, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``lintheory ARGV`` run in this process."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_one_line_error_and_writes_nothing(workdir, capsys, request, argv,
                                                          fragment):
    before = _files(workdir)
    code, err = run_in_process(argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    # argparse reports unknown options as "lintheory: error: unrecognized arguments: ..."
    prefixes = (f"lintheory {argv[0]}: error: ", "lintheory: error: unrecognized arguments")
    errors = [ln for ln in lines if ln.startswith(prefixes)]
    assert len(errors) == 1 and errors[0] == lines[-1], err  # exactly one error line, last
    if lines[-1].startswith(prefixes[0]) and ": error: argument " not in lines[-1]:
        assert len(lines) == 1, err  # our own errors: nothing but that line
    assert fragment in lines[-1]
    case = request.node.callspec.id
    new = _files(workdir) - before
    allowed = MAY_LEAVE.get(case, set())
    stray = {f for f in new if f.split(os.sep)[0] not in allowed}
    assert not stray, f"files left behind: {sorted(stray)}"
    assert not any(Path(f).name.startswith(".") for f in new), "temporary file left behind"


def test_divergence_message_names_the_step_and_a_smaller_lr(workdir, capsys):
    code, err = run_in_process([*SIM, *DIVERGE], capsys)
    assert code == 2
    assert "diverged at step 3 (t = 6)" in err and "e.g. lr=0.5 (lr/4)" in err
    code, err = run_in_process([*TRAIN, "--optimizer", "sgd", "--lr", "1e6"], capsys)
    assert code == 2
    assert "at epoch 1, step " in err and "e.g. --lr 250000" in err


def test_failing_sweep_runs_are_reported_without_a_traceback(workdir, capsys):
    """A sweep whose runs fail (an unknown spec field) finishes, lists each failure, exits
    1; a bad grid value (an unknown rule) is refused before the sweep starts (exit 2)."""
    (workdir / "bad.jsonl").write_text('{"kind": "linear", "rule": "bp", "r": 1, "T": 1, '
                                       '"bogus": 1}\n')
    code, out, err = run_with_output(
        [*SWEEP, "--specs", "bad.jsonl", "--run", "lintheory.linear_run:linear_run"], capsys)
    assert code == 1
    out += err
    assert "Traceback" not in out
    assert "1 failed" in out
    assert "ValueError: unknown linear-run spec fields: bogus" in out
    code, out, err = run_with_output(
        [*SWEEP, "--kind", "linear", "--rules", "nope", "--T", "1", "--results", "r2"], capsys)
    assert code == 2 and not (workdir / "r2").exists()
    assert err.startswith("lintheory sweep: error: rule must be one of bp, fa, kp, raf, ")
    assert "got 'nope'" in err and err.count("\n") == 1


def _subprocess(argv, cwd, **kw):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "lintheory", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180, **kw)


@pytest.mark.parametrize("argv, fragment", [
    ([*SIM, *DIVERGE], "lintheory simulate: error: SGD (bp, batch=online) diverged at step 3"),
    ([*ANIM, "--out", "afile/a.gif"],  # once also printed matplotlib's unsaved-animation warning
     "lintheory animate: error: cannot create output folder afile: File exists"),
], ids=["diverges", "animate-unwritable"])
def test_real_process_exit_status_and_stderr(workdir, argv, fragment):
    proc = _subprocess(argv, workdir)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(fragment), proc.stderr
    assert proc.stdout == ""
    assert _files(workdir) == {"afile", "spec.jsonl"}


def test_sigint_ends_a_run_cleanly_with_no_file(workdir):
    """Ctrl-C during a long ODE run: exit 130, one line, no output or temporary file."""
    # T x lam = 1e5, the most RK45 is allowed (lintheory.preflight): about 2e5 evaluations
    argv = ["simulate", "--rule", "raf", "--T", "4000", "--lam", "25", "--points", "3",
            "--out", "long.json"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    # SIGINT at its default in the child even when this process ignores it (pytest started
    # in the background by a shell, or under nohup): Python then raises KeyboardInterrupt
    proc = subprocess.Popen([sys.executable, "-m", "lintheory", *argv], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        seen = ""
        # wait for the progress bar's second update: imports and the numba compilation (a
        # cold cache in a fresh clone) are done and the integration is running
        while seen.count("t = ") < 2:
            ch = proc.stderr.read(1)
            assert ch, "the run ended before it could be interrupted"
            seen += ch
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = err.replace("\r", "\n")
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "lintheory simulate: interrupted"
    assert _files(workdir) == {"afile", "spec.jsonl"}

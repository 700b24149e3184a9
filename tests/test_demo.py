"""``lintheory demo``: the narrated tour runs, narrates every step, writes its figures,
and the numbers it reports agree with their references (Saxe closed form, S Pi from
numpy's pinv, Oja's top-r subspace from numpy's eigh)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lintheory.demo import STEPS, WIDTH, run_demo, step_next


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, MPLBACKEND="Agg", COLUMNS="80")
    proc = subprocess.run([sys.executable, "-m", "lintheory", "demo", "--fast", "--out-dir",
                           str(out)], env=env, capture_output=True, text=True, timeout=300)
    return proc, out


def test_demo_fast_exits_0_and_narrates_every_step(fast_run):
    proc, out = fast_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    for i, step in enumerate(STEPS, 1):
        assert f"[{i}/{len(STEPS)}] {step.title}" in text
    assert text.count("What runs:") == len(STEPS)
    assert text.count("What to look at:") == len(STEPS)
    assert f"figures in {out}" in text.splitlines()[-1]
    # narration is wrapped at 80 columns and plain ASCII (progress bars go to stderr)
    long = [ln for ln in text.splitlines() if len(ln) > WIDTH and str(out) not in ln]
    assert not long
    assert text.isascii()


def test_demo_fast_writes_figures_and_json(fast_run):
    proc, out = fast_run
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == len(STEPS) - 1          # the last step ("where next") draws nothing
    for png in pngs:
        assert png.stat().st_size > 10_000
        assert png.with_suffix(".pdf").exists() and png.with_suffix(".json").exists()
        assert f"figure: {png}" in proc.stdout


def test_demo_numbers_match_their_references(fast_run):
    from lintheory.task import make_task

    _, out = fast_run
    saxe = json.loads((out / "02_bp_vs_saxe.json").read_text())
    assert saxe["max_abs_error"] < 1e-6               # ODE vs closed form (rtol 1e-10)
    fa = json.loads((out / "03_fa_stalls.json").read_text())
    pred, reached = np.array(fa["predicted"]), np.array(fa["reached"])
    assert np.abs(pred - reached).max() < 5e-3        # stalls at S Pi ...
    assert np.abs(reached - 1).max() > 0.3            # ... which is not the task
    raf = json.loads((out / "04_raf_top_modes.json").read_text())
    np.testing.assert_allclose(raf["reached"], [1, 1, 0, 0], atol=2e-2)
    np.testing.assert_allclose(raf["principal_cos"], [1, 1], atol=1e-3)
    task = json.loads((out / "01_task_svd.json").read_text())
    ref = make_task(n=20, m=10, d=4, N=task["N"], sigma=1.0, singular_values=[4, 3, 2, 1],
                    seed=0)
    s_np = np.linalg.svd(ref.Y.T @ ref.X / ref.X.shape[0], compute_uv=False)
    np.testing.assert_allclose(task["s"], s_np, rtol=1e-10)
    checks = json.loads((out / "05_verify.json").read_text())["checks"]
    assert checks and all(c["ok"] for c in checks)
    digits = json.loads((out / "06_digits_raf_vs_bp.json").read_text())
    assert set(digits) == {"BP", "RAF r=10"}
    assert digits["BP"]["test_acc"][-1] > 0.5         # chance is 0.1


def test_quiet_prints_only_the_summary(tmp_path):
    lines = []
    ctx = run_demo(tmp_path, quiet=True, steps=[STEPS[0], STEPS[-1]], echo=lines.append)
    assert len(lines) == 1 and lines[0].startswith("demo finished")
    assert [p.name for p in ctx.figures] == ["01_task_svd.png"]


def test_where_next_lists_only_existing_commands():
    from lintheory.cli import build_parser

    parser = build_parser()
    for line in step_next(None):
        if line.startswith("lintheory "):
            with pytest.raises(SystemExit) as exc:  # exits 0 only for a known command
                parser.parse_args([line.split()[1], "--help"])
            assert exc.value.code == 0, line
    assert any(line.startswith("lintheory verify") for line in step_next(None))


def test_the_tour_does_not_import_the_cli():
    """``lintheory.demo`` is a library module: the CLI imports it, never the reverse."""
    code = ("import sys, lintheory.demo as d; d.step_next(None); "
            "print(sorted(m for m in sys.modules if m.startswith(('lintheory.cli', "
            "'lintheory.commands'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"

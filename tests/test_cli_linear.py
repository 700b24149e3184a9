"""``lintheory simulate`` and ``lintheory figure2`` end to end (small sizes, in process).

One test runs ``python -m lintheory figure2`` with its defaults in a fresh folder, as a
user would after installing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lintheory.cli import main

SMALL = ["--n", "8", "--k", "12", "--m", "6", "--d", "3", "--samples", "200"]


def run_cli(*argv):
    return main([str(a) for a in argv])


def test_simulate_writes_json_and_npz(tmp_path):
    out = tmp_path / "run.json"
    rc = run_cli("simulate", "--rule", "raf", *SMALL, "--rank", "2", "--T", "10",
                 "--points", "11", "--out", out, "--quiet")
    assert rc == 0
    res = json.loads(out.read_text())
    z = np.load(tmp_path / "run.npz")
    for key in ("times", "mode_strengths", "singular_values", "parameters", "leak", "loss"):
        assert key in res
    assert res["parameters"]["r"] == 2 and res["parameters"]["rule"] == "raf"
    assert len(res["times"]) == 11 and len(res["mode_strengths"][0]) == 3
    for key in ("S", "W1bar", "W2bar", "Q", "Pbar"):
        assert key in z.files
    assert z["W1bar"].shape == (11, 12, 8) and z["Pbar"].shape == (11, 2, 6)
    # the JSON's mode strengths are the diagonal of the stored W2bar W1bar over s
    M = z["W2bar"] @ z["W1bar"]
    s = np.diag(z["S"])
    np.testing.assert_allclose(res["mode_strengths"], M[:, [0, 1, 2], [0, 1, 2]] / s[:3],
                               atol=1e-12)
    # RAF r = 2 < d = 3 learns the top two modes
    np.testing.assert_allclose(res["mode_strengths"][-1], [1, 1, 0], atol=0.02)


def test_simulate_both_stores_sgd_weights_at_the_same_times(tmp_path):
    out = tmp_path / "both.json"
    rc = run_cli("simulate", "--rule", "fa", *SMALL, "--rank", "6", "--T", "4",
                 "--points", "5", "--method", "both", "--lr", "0.01", "--batch", "20",
                 "--out", out, "--quiet")
    assert rc == 0
    res = json.loads(out.read_text())
    z = np.load(out.with_suffix(".npz"))
    for key in ("sgd_W1bar", "sgd_W2bar", "sgd_Q", "sgd_Pbar"):
        assert z[key].shape[0] == 5
    np.testing.assert_allclose(z["sgd_times"], z["times"], atol=1e-12)
    np.testing.assert_allclose(res["sgd"]["times"], res["times"], atol=1e-12)
    assert res["sgd"]["info"]["batch_size"] == 20
    # same initial weights, and SGD at small lr stays near the ODE
    np.testing.assert_allclose(z["sgd_W1bar"][0], z["W1bar"][0], atol=1e-14)
    a_ode, a_sgd = np.array(res["mode_strengths"]), np.array(res["sgd"]["mode_strengths"])
    assert np.abs(a_ode - a_sgd).max() < 0.1


def test_simulate_balanced_bp_matches_saxe(tmp_path):
    out = tmp_path / "saxe.json"
    rc = run_cli("simulate", "--rule", "bp", *SMALL, "--init", "balanced", "--init-scale",
                 "0.1", "--T", "5", "--points", "6", "--rtol", "1e-10", "--atol", "1e-13",
                 "--out", out, "--quiet")
    assert rc == 0
    res = json.loads(out.read_text())
    t = np.array(res["times"])[:, None]
    s = np.array(res["singular_values"][:3])
    e = np.exp(2 * s * t)
    a = e / (e - 1 + s / 0.01)  # normalised strength a_i = a / s_i
    np.testing.assert_allclose(res["mode_strengths"], a, rtol=1e-6)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--rank", "0"], "rank r"),
        (["--rank", "7"], "rank r"),  # > m = 6
        (["--d", "7"], "d must be"),  # > min(m, n) = 6
        (["--k", "0"], "k"),
        (["--lr", "-0.1"], "lr"),
        (["--noise", "-1"], "sigma"),
        (["--batch", "zero"], "batch"),
        (["--singular-values", "3,2"], "singular_values"),
        (["--T", "0"], "T"),
    ],
)
def test_simulate_bad_arguments_exit_2_with_a_clear_message(tmp_path, capsys, args, match):
    out = tmp_path / "bad.json"
    rc = run_cli("simulate", *SMALL, *args, "--out", out, "--quiet")
    assert rc == 2
    err = capsys.readouterr().err
    assert "error" in err and match in err and "Traceback" not in err
    assert not out.exists()


def test_simulate_divergence_names_the_step_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "div.json"
    rc = run_cli("simulate", "--rule", "bp", *SMALL, "--method", "sgd", "--lr", "1.5",
                 "--T", "30", "--init-scale", "0.5", "--out", out, "--quiet")
    assert rc == 2
    err = capsys.readouterr().err
    assert "diverged at step" in err and "smaller learning rate" in err
    assert list(tmp_path.iterdir()) == []


FIG_SMALL = [*SMALL, "--rank-low", "1", "--T", "15", "--points", "30", "--lr", "0.01",
             "--batch", "20", "--sgd-points", "8"]


def test_figure2_writes_png_pdf_json_with_every_curve(tmp_path):
    rc = run_cli("figure2", *FIG_SMALL, "--out-dir", tmp_path, "--quiet")
    assert rc == 0
    for ext in ("png", "pdf", "json"):
        assert (tmp_path / f"figure2.{ext}").stat().st_size > 1000
    data = json.loads((tmp_path / "figure2.json").read_text())
    assert data["lintheory_version"]
    assert data["config"]["r_low"] == 1 and data["config"]["d"] == 3
    panels = {p["key"]: p for p in data["panels"]}
    assert sorted(panels) == list("abcdef")
    for p in panels.values():
        ode = np.array(p["ode"])
        assert ode.shape == (30, 3) and len(p["times"]) == 30
        assert np.array(p["sgd"]).shape == (len(p["sgd_times"]), 3)
        # markers sit near the lines: compare at the last time (both converged)
        assert np.abs(np.array(p["sgd"])[-1] - ode[-1]).max() < 0.1
    for key in ("c", "d"):  # fixed P of rank 1 < d: the ODE ends at the S Pi prediction
        np.testing.assert_allclose(panels[key]["ode"][-1], panels[key]["prediction"], atol=2e-3)
    np.testing.assert_allclose(panels["f"]["ode"][-1], [1, 0, 0], atol=0.01)
    for key in ("a", "b", "e"):
        np.testing.assert_allclose(panels[key]["ode"][-1], [1, 1, 1], atol=0.01)


def test_figure2_divergence_writes_no_figure(tmp_path, capsys):
    out = tmp_path / "figs"
    rc = run_cli("figure2", *FIG_SMALL[:-6], "--lr", "3", "--batch", "full",
                 "--out-dir", out, "--quiet")
    assert rc == 2
    err = capsys.readouterr().err
    assert "diverged at step" in err and "smaller learning rate" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_figure2_bad_rank_low(tmp_path, capsys):
    rc = run_cli("figure2", *SMALL, "--rank-low", "3", "--out-dir", tmp_path, "--quiet")
    assert rc == 2
    assert "r_low" in capsys.readouterr().err


def test_figure2_runs_with_defaults_as_a_fresh_command(tmp_path):
    """``python -m lintheory figure2 --quiet`` in an empty folder writes figures/figure2.*"""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "lintheory", "figure2", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for ext in ("png", "pdf", "json"):
        assert (Path(tmp_path) / "figures" / f"figure2.{ext}").is_file()
    data = json.loads((tmp_path / "figures" / "figure2.json").read_text())
    f = {p["key"]: p for p in data["panels"]}["f"]
    np.testing.assert_allclose(f["ode"][-1], [1, 1, 0, 0], atol=0.01)
    # the committed figure is what the code computes: every number equal to 1e-12
    committed = json.loads((Path(__file__).parents[1] / "figures" / "figure2.json").read_text())
    _assert_same_numbers(data, committed, "figure2.json")


def _assert_same_numbers(a, b, where, tol=1e-12):
    """Recursive equality of two JSON documents, numbers to ``tol``, the version field aside."""
    if isinstance(a, dict):
        assert set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            if k != "lintheory_version":
                _assert_same_numbers(a[k], b[k], f"{where}.{k}", tol)
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_numbers(x, y, f"{where}[{i}]", tol)
    elif isinstance(a, (int, float)) and not isinstance(a, bool) and b is not None:
        assert abs(a - b) <= tol, (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_figure2_data_same_seed_same_numbers():
    from lintheory.figure2 import Figure2Config, figure2_data

    cfg = Figure2Config(n=8, k=12, m=6, d=3, r_low=1, N=200, T=5.0, points=10, lr=0.01,
                        batch=20, sgd_points=5, panels=("c", "f"))
    a, b = figure2_data(cfg), figure2_data(cfg)
    c = figure2_data(Figure2Config(**{**cfg.__dict__, "seed": 1}))
    for pa, pb, pc in zip(a["panels"], b["panels"], c["panels"]):
        np.testing.assert_array_equal(pa["ode"], pb["ode"])
        np.testing.assert_array_equal(pa["sgd"], pb["sgd"])
        assert np.abs(pa["sgd"] - pc["sgd"]).max() > 1e-3


def test_figure2_lr_beyond_T_is_an_error_not_missing_markers(tmp_path, capsys):
    """An lr so large that every output time snaps to step 0 would draw no SGD at all."""
    from lintheory.cli import main

    assert main(["figure2", "--lr", "100", "--quiet", "--out-dir", str(tmp_path)]) == 2
    assert "would take no step" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_figure2_parallel_panels_equal_serial(tmp_path):
    """--workers 2 (separate processes) writes the same JSON bytes as the serial run."""
    from lintheory.cli import main

    args = ["figure2", "--quiet", "--n", "6", "--k", "8", "--m", "5", "--d", "3",
            "--samples", "200", "--T", "4", "--points", "12"]
    assert main([*args, "--workers", "1", "--out-dir", str(tmp_path / "a")]) == 0
    assert main([*args, "--workers", "2", "--out-dir", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "figure2.json").read_bytes() == (
        tmp_path / "b" / "figure2.json").read_bytes()

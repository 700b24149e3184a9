"""Same command, same seed, same bytes (issue 6, item 6).

The JSON files the commands write are compared byte for byte across two runs, and across a
cold and a warm numba cache (fresh ``NUMBA_CACHE_DIR`` in a subprocess, then the same one
again). Files carry no wall-clock timings for this reason (``train --timings`` opts in).
Each figure's JSON carries its parameters and ``lintheory.__version__``. A different seed
must change the bytes, so the comparisons can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

import lintheory
from lintheory.cli import main

SMALL = ["--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60", "--quiet"]
SIM = ["simulate", *SMALL, "--rule", "raf", "--rank", "2", "--method", "both", "--lr", "0.01",
       "--batch", "7", "--T", "2", "--points", "5"]
TRAIN = ["train", "--hidden", "8", "--depth", "1", "--epochs", "2", "--rule", "raf", "--rank",
         "3", "--classes", "4", "--quiet"]


def _keys(obj):
    """Every dict key in a JSON document, recursively."""
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def test_simulate_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        assert main([*SIM, "--out", str(tmp_path / f"{name}.json")]) == 0
    assert main([*SIM, "--seed", "1", "--out", str(tmp_path / "c.json")]) == 0
    a, b, c = ((tmp_path / f"{x}.json").read_bytes() for x in "abc")
    assert a == b
    assert a != c  # the seed matters
    za, zb = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert za.files == zb.files and "sgd_W1bar" in za.files
    for key in za.files:
        np.testing.assert_array_equal(za[key], zb[key])
    res = json.loads(a)
    assert res["lintheory_version"] == lintheory.__version__
    assert res["parameters"]["seed"] == 0 and res["parameters"]["batch"] == 7
    assert not _keys(res) & {"seconds", "seconds_total", "time_s", "timestamp"}


def test_train_same_seed_same_bytes_and_timings_only_when_asked(tmp_path):
    for name in ("a", "b"):
        assert main([*TRAIN, "--out", str(tmp_path / f"{name}.json")]) == 0
    assert main([*TRAIN, "--seed", "1", "--out", str(tmp_path / "c.json")]) == 0
    a, b, c = ((tmp_path / f"{x}.json").read_bytes() for x in "abc")
    assert a == b
    assert a != c
    assert not _keys(json.loads(a)) & {"seconds", "seconds_total"}
    assert main([*TRAIN, "--timings", "--out", str(tmp_path / "t.json")]) == 0
    timed = json.loads((tmp_path / "t.json").read_text())
    assert timed["runs"][0]["seconds_total"] > 0 and len(timed["runs"][0]["seconds"]) == 2
    # apart from the timings, the timed file holds the same numbers
    for r in timed["runs"]:
        del r["seconds"], r["seconds_total"]
    assert timed == json.loads(a)


def test_figure2_json_same_bytes_with_parameters_and_version(tmp_path):
    argv = ["figure2", *SMALL, "--rank-low", "1", "--T", "3", "--points", "6", "--lr", "0.05",
            "--batch", "10", "--sgd-points", "3"]
    for name in ("a", "b"):
        assert main([*argv, "--out-dir", str(tmp_path / name)]) == 0
    a, b = ((tmp_path / x / "figure2.json").read_bytes() for x in "ab")
    assert a == b
    data = json.loads(a)
    assert data["lintheory_version"] == lintheory.__version__
    cfg = data["config"]
    assert (cfg["n"], cfg["k"], cfg["m"], cfg["d"], cfg["r_low"], cfg["N"]) == (6, 8, 5, 3, 1, 60)
    assert cfg["lr"] == 0.05 and cfg["batch"] == 10 and cfg["seed"] == 0


def test_figure3_json_same_bytes_with_parameters_and_version(tmp_path, monkeypatch):
    """Two fresh runs (same relative paths, different folders) write identical JSON."""
    argv = ["figure3", "--quick", "--panels", "a", "--epochs", "1", "--seeds", "1", "--ranks",
            "1", "--workers", "1", "--quiet", "--results", "res", "--out", "fig/f3"]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        assert main(argv) == 0
    a, b = ((tmp_path / x / "fig" / "f3.json").read_bytes() for x in "ab")
    assert a == b
    data = json.loads(a)
    assert data["lintheory_version"] == lintheory.__version__
    assert data["config"]["epochs"] == 1 and data["config"]["ranks"] == [1]
    assert data["config"]["panels"] == "a" and data["config"]["seeds"] == [0]
    assert "seconds" not in data and "seconds" not in data["sweep"]


def test_animate_json_carries_parameters_and_version(tmp_path):
    out = tmp_path / "a.gif"
    assert main(["animate", *SMALL, "--rank", "2", "--T", "2", "--frames", "3", "--seed", "4",
                 "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["lintheory_version"] == lintheory.__version__
    assert data["parameters"] == {"rank": 2, "T": 2.0, "frames": 3, "fps": 12, "seed": 4}
    assert data["task"]["n"] == 6 and data["k"] == 8


def test_cold_and_warm_numba_cache_write_identical_json(tmp_path):
    """A fresh NUMBA_CACHE_DIR (compiles the online SGD kernel and saves it), the same
    folder again (loads it), and this process (the usual cache) give the same bytes."""
    argv = ["simulate", *SMALL, "--rule", "raf", "--rank", "2", "--method", "sgd", "--lr",
            "0.005", "--batch", "online", "--T", "1", "--points", "3"]
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "MPLBACKEND": "Agg"}
    for name in ("cold", "warm"):
        proc = subprocess.run([sys.executable, "-m", "lintheory", *argv, "--out",
                               str(tmp_path / f"{name}.json")], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        if name == "cold":
            saved = sorted(p.name for p in cache.rglob("*.nbi"))
            assert any(n.startswith("kernels._online_loop") for n in saved), saved
    assert main([*argv, "--out", str(tmp_path / "here.json")]) == 0
    cold, warm, here = ((tmp_path / f"{x}.json").read_bytes() for x in ("cold", "warm", "here"))
    assert cold == warm == here
    assert json.loads(cold)["info"]["engine"] == "numba"

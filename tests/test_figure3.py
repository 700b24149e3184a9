"""figure3: the runs each panel asks for, the statistics over seeds, the command end to end."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from lintheory.cli import main
from lintheory.figure3 import (
    PRESETS,
    Figure3Config,
    collect,
    figure3_points,
    minimal_ranks,
    plot_figure3,
)
from lintheory.sweep import load_results, run_sweep

TINY = Figure3Config(seeds=(0, 1), epochs=1, hidden=12, depth=2, ranks=(1, 2, 16),
                     classes=(3, 10), class_ranks=(1, 2), draf_ranks=(1, 2), panels="abcd")


def by_panel(points, panel):
    return [p for p in points if p["panel"] == panel]


def test_panel_a_constrains_one_layer_at_a_time():
    pts = by_panel(figure3_points(TINY), "a")
    # depth 2: feedback layers fc2 (12 units) and fc3 (10 classes)
    for p in pts:
        if p["series"] == "BP":
            assert p["spec"]["rule"] == "bp" and p["spec"]["rank"] is None
            continue
        layer = int(p["series"].split()[1]) - 1
        full = [12, 10]
        assert p["spec"]["rank"][layer] == min(p["x"], full[layer])
        assert [r for i, r in enumerate(p["spec"]["rank"]) if i != layer] == [
            d for i, d in enumerate(full) if i != layer]
    xs = sorted({p["x"] for p in pts if p["series"].startswith("layer 2")})
    assert xs == [1, 2, 10]  # rank 16 is clipped to the 10 output units


def test_panel_b_compares_with_narrow_bp_networks_and_c_d_specs():
    pts = figure3_points(TINY)
    narrow = [p for p in by_panel(pts, "b") if p["series"].startswith("BP, narrow")]
    assert sorted({(p["x"], p["spec"]["hidden"], p["spec"]["rule"]) for p in narrow}) == [
        (1, 1, "bp"), (2, 2, "bp"), (16, 16, "bp")]
    c3 = [p for p in by_panel(pts, "c") if p["series"] == "3 classes"]
    assert {p["spec"]["classes"] for p in c3} == {3}
    assert all(p["spec"]["rank"][-1] <= 3 for p in c3)  # output layer has 3 units
    d = [p for p in by_panel(pts, "d") if p["series"] == "dRAF"]
    assert {p["spec"]["rule"] for p in d} == {"draf"}
    assert len(pts) == len(TINY.seeds) * len({(p["panel"], p["series"], p["x"]) for p in pts})


def test_cnn_fractions_and_vit_ranks():
    cfg = dataclasses.replace(PRESETS["quick"], panels="ef", seeds=(0,))
    pts = figure3_points(cfg)
    cnn = [p for p in by_panel(pts, "e") if p["series"] == "RAF"]
    widths = PRESETS["quick"].cnn_channels[1:] + (PRESETS["quick"].cnn_hidden,)
    for p in cnn:  # conv2, conv3, fc1 at a fraction of their width; the output full (10)
        assert p["spec"]["rank"] == [max(1, round(p["x"] * w)) for w in widths] + [10]
    vit = [p for p in by_panel(pts, "f") if p["series"] == "RAF"]
    for p in vit:
        assert max(p["spec"]["rank"]) == p["x"] and p["spec"]["model"] == "vit"


def test_collect_gives_mean_and_std_over_seeds(tmp_path):
    cfg = dataclasses.replace(TINY, panels="b", ranks=(2,))
    pts = figure3_points(cfg)
    rep = run_sweep("lintheory.sweep:train_run", [p["spec"] for p in pts], tmp_path,
                    workers=1, progress=False)
    assert rep.ok
    data = collect(pts, tmp_path)
    b = data["panels"]["b"]
    for series, rows in b["series"].items():
        for row in rows:
            specs = [p["spec"] for p in pts if p["series"] == series and p["x"] == row["x"]]
            vals = [r["result"]["test_acc"][-1] for r in load_results(tmp_path, specs)]
            assert row["n"] == 2 and row["mean"] == pytest.approx(np.mean(vals))
            assert row["std"] == pytest.approx(np.std(vals))
    assert b["bp"]["BP"]["n"] == 2 and data["missing_runs"] == 0
    fig = plot_figure3(data, note="test")
    assert len([ax for ax in fig.axes if ax.has_data()]) == 1


def test_minimal_rank_is_the_first_rank_within_tolerance_of_bp():
    panel = {"bp": {"BP 2 classes": {"mean": 0.99}, "BP 10 classes": {"mean": 0.95}},
             "series": {"2 classes": [{"x": 1, "mean": 0.98}, {"x": 2, "mean": 0.99}],
                        "10 classes": [{"x": 1, "mean": 0.7}, {"x": 4, "mean": 0.9},
                                       {"x": 8, "mean": 0.94}]}}
    assert minimal_ranks(panel) == {"2": 1, "10": 8}
    assert minimal_ranks(panel, tolerance=0.001) == {"2": 2, "10": None}


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="panels"):
        Figure3Config(panels="xyz")
    with pytest.raises(ValueError, match="cnn_fractions"):
        Figure3Config(cnn_fractions=(0.0,))


def test_figure3_command_writes_png_pdf_json_and_resumes(tmp_path, capsys):
    args = ["figure3", "--quick", "--panels", "b", "--seeds", "1", "--epochs", "1",
            "--ranks", "1,4", "--results", str(tmp_path / "res"), "--out",
            str(tmp_path / "fig3"), "--workers", "1", "--quiet"]
    assert main(args) == 0
    for ext in ("png", "pdf", "json"):
        assert (tmp_path / f"fig3.{ext}").stat().st_size > 0
    out = json.loads((tmp_path / "fig3.json").read_text())
    assert "not CIFAR" in out["data_note"] and out["preset"] == "quick"
    assert out["sweep"]["finished"] == 5 and out["missing_runs"] == 0
    assert {q["x"] for q in out["panels"]["b"]["series"]["BP, narrow network (width r)"]} == {
        1, 4}
    assert main(args) == 0
    assert "5 runs, 5 already done, 0 finished" in capsys.readouterr().out

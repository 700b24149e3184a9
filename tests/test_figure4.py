"""figure4: the runs it asks for, one retina run on a tiny CIFAR-10 copy, the command end
to end (tiny sizes; the shared CIFAR-10 zip is not needed)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import lintheory.figure4 as f4
from lintheory.nn.receptive_fields import receptive_fields
from lintheory.nn.retina import RETINA_FEEDBACK, retina_layers
from lintheory.nn.rf_indices import field_indices

TINY = f4.Figure4Config(seeds=(0, 1), channels=3, kernel=3, crop=8, ventral=1, dense=6,
                        bottleneck=1, ranks=(1, 3), n_train=40, n_eval=10, epochs=1)


@pytest.fixture()
def tiny_cfg(tiny_cifar_dir):
    f4._DATA.clear()
    return dataclasses.replace(TINY, data_dir=str(tiny_cifar_dir))


def test_points_cover_every_condition_and_seed(tiny_cfg):
    pts = f4.figure4_points(tiny_cfg)
    series = [(p["series"], p["x"]) for p in pts if p["seed"] == 0]
    assert series == [("BP", 3), ("BP bottleneck", 1), ("RAF", 1), ("RAF", 3),
                      ("dRAF bottleneck", 6)]
    assert len(pts) == 2 * len(series)
    assert len({json.dumps(p["spec"], sort_keys=True) for p in pts}) == len(pts)


def test_bad_configs_name_the_option():
    with pytest.raises(ValueError, match="ranks"):
        dataclasses.replace(TINY, ranks=(4,))
    with pytest.raises(ValueError, match="bottleneck"):
        dataclasses.replace(TINY, bottleneck=0)
    with pytest.raises(ValueError, match="crop"):
        dataclasses.replace(TINY, crop=2)
    with pytest.raises(ValueError, match="data_dir"):
        f4.figure4_points(TINY)


def test_each_series_wires_its_feedback(tiny_cfg):
    rng = np.random.default_rng(0)
    spec = lambda s, r=None: f4.run_spec(tiny_cfg, series=s, seed=0, rank=r)  # noqa: E731
    raf = f4._model(spec("RAF", 1), rng).feedback_layers
    assert raf[RETINA_FEEDBACK].feedback.name == "raf"
    assert raf[RETINA_FEEDBACK].feedback.rank == 1
    assert [la.feedback.name for i, la in enumerate(raf) if i != RETINA_FEEDBACK] == \
        ["bp"] * (len(raf) - 1)
    d = f4._model(spec("dRAF bottleneck"), rng)
    fb = d.feedback_layers[RETINA_FEEDBACK].feedback
    assert fb.direct and fb.hyper["source"] == "penultimate" and fb.rank == 6
    assert d.weight_layers[1].W.value.shape[0] == 1                    # the bottleneck
    assert f4._model(spec("BP"), rng).weight_layers[1].W.value.shape[0] == 3


def test_retina_run_returns_the_trained_models_fields_and_their_indices(tiny_cfg):
    spec = f4.run_spec(tiny_cfg, series="RAF", seed=0, rank=1)
    out = f4.retina_run(spec)
    fields = np.asarray(out["fields"])
    assert fields.shape == (3, 5, 5)                  # 3 channels, 1 + 2 (3 - 1) wide
    # the same training again gives the same model: its fields, recomputed here
    model, hist = f4.train_retina(spec, f4._data(spec["data_dir"], spec["crop"]))
    assert hist["val_acc"] == out["val_acc"]
    val_images = f4._data(spec["data_dir"], 8)[2][:spec["rf_images"]]
    ref = receptive_fields(retina_layers(model), (1, 8, 8), x0=val_images)[:, 0]
    assert np.allclose(fields, ref)
    blank = receptive_fields(retina_layers(model), (1, 8, 8))[:, 0]
    assert np.allclose(out["blank_fields"], blank)
    assert out["blank_silent"] == [not np.any(f) for f in blank]
    live = ~np.asarray(out["silent"])
    expect = field_indices(fields[live])
    assert np.allclose(out["orientedness"], expect["orientedness"])
    assert np.allclose(out["isotropy"], expect["isotropy"])
    other = f4.retina_run(dict(spec, seed=1))
    assert not np.allclose(other["fields"], fields)


def test_collect_pools_channels_and_seeds(tiny_cfg, tmp_path):
    from lintheory.sweep import run_sweep

    pts = [p for p in f4.figure4_points(tiny_cfg) if p["series"] in ("BP", "RAF")]
    rep = run_sweep(f4.RUN, [p["spec"] for p in pts], tmp_path / "res", workers=1,
                    progress=False)
    assert not rep.failures
    data = f4.collect(pts, tmp_path / "res", baseline_n=20)
    bp = next(c for c in data["conditions"] if c["series"] == "BP")
    runs = [f4.retina_run(p["spec"]) for p in pts if p["series"] == "BP"]
    pooled = [v for r in runs for v in r["orientedness"]]
    assert bp["orientedness"]["n"] == len(pooled)
    assert np.isclose(bp["orientedness"]["mean"], np.mean(pooled))
    assert np.isclose(bp["orientedness"]["std"], np.std(pooled))
    assert np.allclose(bp["example_fields"], runs[0]["fields"])
    names = {"BP_x3_seed0", "BP_x3_seed1", "RAF_x1_seed0", "RAF_x1_seed1", "RAF_x3_seed0",
             "RAF_x3_seed1"}
    assert set(data["fields"]) == names | {f"blank_{n}" for n in names}
    assert data["baseline"]["n"] == 20 and data["missing_runs"] == 0
    fig = f4.plot_figure4(data, note="tiny")
    assert len(fig.axes) == 3 * 3 + 2                 # 3 conditions x 3 fields + 2 panels


def test_command_end_to_end(tiny_cfg, tmp_path, monkeypatch, capsys):
    from lintheory.cli import main

    monkeypatch.setitem(f4.PRESETS, "quick", dataclasses.replace(tiny_cfg, seeds=(0,)))
    out = tmp_path / "fig4"
    code = main(["figure4", "--data-dir", tiny_cfg.data_dir, "--quick", "--quiet",
                 "--results", str(tmp_path / "res"), "--out", str(out)])
    assert code == 0
    for ext in ("png", "pdf", "json", "npz"):
        assert (tmp_path / f"fig4.{ext}").stat().st_size > 0
    data = json.loads((tmp_path / "fig4.json").read_text())
    assert [c["series"] for c in data["conditions"]] == [
        "BP", "BP bottleneck", "RAF", "RAF", "dRAF bottleneck"]
    npz = np.load(tmp_path / "fig4.npz")
    assert np.allclose(npz["BP_x3_seed0"], data["conditions"][0]["example_fields"])


def test_test_split_is_in_a_fixed_random_order_and_retina_has_no_bias(tiny_cfg):
    from lintheory.nn.data import load_dataset

    d = load_dataset("cifar10", data_dir=tiny_cfg.data_dir, grayscale=True, shape="image")
    y_te = f4._data(tiny_cfg.data_dir, 8)[5]
    order = np.random.default_rng(0).permutation(len(d.y_test))
    assert np.array_equal(y_te, d.y_test[order])
    assert not np.array_equal(y_te, np.sort(y_te))           # the copy is stored by class
    model = f4._model(f4.run_spec(tiny_cfg, series="BP", seed=0), np.random.default_rng(0))
    assert [la.b is None for la in model.weight_layers] == [True, True, False, False, False]

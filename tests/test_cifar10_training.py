"""CIFAR-10 in the training paths: the recipe defaults, `lintheory train` with every model and
rule, and `lintheory figure3 --dataset cifar10` (on a tiny copy the test writes)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from lintheory.cli import main
from lintheory.figure3 import CIFAR_PRESETS, collect, figure3_points, presets
from lintheory.nn.recipes import recipe
from lintheory.nn.train import TrainConfig, train
from lintheory.sweep import load_results, run_sweep


def test_for_dataset_applies_the_recipe_then_the_overrides():
    c = TrainConfig.for_dataset("cifar10", data_dir="/data", rule="raf", rank=10,
                                epochs=2, model_kwargs={"dropout": 0.1})
    assert (c.hidden, c.depth, c.epochs, c.lr) == (512, 4, 2, 1e-3)
    assert c.model_kwargs == {"batchnorm": True, "dropout": 0.1}
    assert TrainConfig.for_dataset("digits") == TrainConfig()   # no recipe: engine defaults
    r = recipe("cifar10", "mlp")
    r["model_kwargs"]["batchnorm"] = False                        # a copy, not the table
    assert recipe("cifar10", "mlp")["model_kwargs"] == {"batchnorm": True}


@pytest.mark.parametrize("model,rule,extra", [
    ("mlp", "bp", []), ("mlp", "fa", ["--rank", "3"]), ("mlp", "kp", []),
    ("mlp", "raf", ["--rank", "3"]), ("mlp", "draf", ["--rank", "2"]),
    ("mlp", "dfa", []), ("mlp", "normative", ["--rank", "3"]),
    ("cnn", "raf", ["--rank", "2", "--model-arg", "channels=(4,4,4)"]),
    ("vit", "raf", ["--rank", "2", "--depth", "1"]),
])
def test_train_command_on_cifar10_every_model_and_rule(tiny_cifar_dir, tmp_path, model, rule,
                                                       extra):
    out = tmp_path / "run.json"
    args = ["train", "--dataset", "cifar10", "--data-dir", str(tiny_cifar_dir), "--model",
            model, "--rule", rule, "--epochs", "1", "--hidden", "8", "--out", str(out),
            "--quiet", *extra]
    assert main(args) == 0
    res = json.loads(out.read_text())
    cfg = res["config"]
    assert cfg["dataset"] == "cifar10" and cfg["rule"] == rule and cfg["hidden"] == 8
    want = recipe("cifar10", model)["model_kwargs"]
    assert all(cfg["model_kwargs"][k] == v for k, v in want.items() if k != "channels")
    assert res["data"]["n_train"] == 90 and res["data"]["n_val"] == 10      # 0.1 held out
    assert res["data"]["input_shape"] == ([3072] if model == "mlp" else [3, 32, 32])
    acc = res["runs"][0]["test_acc"][-1]
    assert 0.0 <= acc <= 1.0


def test_train_command_cifar10_without_data_dir_is_one_line_error(capsys):
    assert main(["train", "--dataset", "cifar10", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--data-dir" in err and "\n" not in err


def test_cifar10_figure3_presets_list_the_runs_of_the_paper_panels(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        figure3_points(CIFAR_PRESETS["full"])
    full = dataclasses.replace(CIFAR_PRESETS["full"], data_dir=str(tmp_path))
    assert presets("cifar10")["full"] is CIFAR_PRESETS["full"]
    # (the feedback dimensions are read off the data set: give the tiny copy)
    from conftest import write_tiny_cifar10

    write_tiny_cifar10(tmp_path)
    pts = figure3_points(full)
    specs = {json.dumps(p["spec"], sort_keys=True) for p in pts}
    assert all(p["spec"]["model_kwargs"] == {"batchnorm": True} for p in pts)
    assert all(p["spec"]["data_dir"] == str(tmp_path) and p["spec"]["epochs"] == 4
               for p in pts)
    b = [p for p in pts if p["panel"] == "b" and p["series"].startswith("RAF")]
    assert sorted({p["x"] for p in b}) == [1, 2, 4, 10, 32]
    assert {tuple(p["spec"]["rank"]) for p in b if p["x"] == 32} == {(32, 32, 32, 10)}
    a = [p for p in pts if p["panel"] == "a" and p["series"] != "BP"]
    assert sorted(tuple(p["spec"]["rank"]) for p in a if p["seed"] == 0) == [
        (1, 512, 512, 10), (512, 1, 512, 10), (512, 512, 1, 10), (512, 512, 512, 1)]
    assert {p["seed"] for p in pts} == {0, 1, 2}
    # distinct runs per seed: b 1 BP + 5 RAF + 5 narrow BP; a 4 layers at rank 1; c 2 and 5
    # classes BP + 4 ranks each, 10 classes rank 5 (the rest shared with b); d 2 dRAF
    assert len(specs) == 3 * (11 + 4 + 10 + 1 + 2)


def test_cifar10_figure3_points_equal_direct_training(tiny_cifar_dir, tmp_path):
    cfg = dataclasses.replace(CIFAR_PRESETS["quick"], data_dir=str(tiny_cifar_dir),
                              hidden=8, depth=2, seeds=(0,), panels="b", ranks=(2,))
    pts = figure3_points(cfg)
    rep = run_sweep("lintheory.sweep:train_run", [p["spec"] for p in pts], tmp_path / "res",
                    workers=1, progress=False)
    assert rep.ok
    data = collect(pts, tmp_path / "res")
    row = data["panels"]["b"]["series"]["RAF, rank r in all layers (width 8)"][0]
    spec = next(p["spec"] for p in pts if p["series"].startswith("RAF"))
    direct = train(TrainConfig.from_dict({k: v for k, v in spec.items() if k != "kind"}))
    assert row["mean"] == direct["test_acc"][-1]
    assert load_results(tmp_path / "res", [spec])[0]["result"]["test_acc"] == direct["test_acc"]
    assert np.isfinite(data["panels"]["b"]["bp"]["BP"]["mean"])

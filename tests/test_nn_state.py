"""Models you can keep: ``Model.state_dict`` / ``load_state_dict``, NPZ model files,
``train(return_model=True)`` and ``lintheory train --save-model`` (tiny models on digits).

The reference for "reloaded" is the trained model itself: a model rebuilt from a
different seed and loaded must give the same logits bit for bit, and the test checks that
it did not before loading (so the comparison can fail).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lintheory.nn import build_model
from lintheory.nn.checkpoint import META_KEY, load_model, load_state, read_model_meta, save_model
from lintheory.nn.data import load_dataset
from lintheory.nn.train import TrainConfig, evaluate, train

TINY = {
    "mlp": dict(model="mlp", hidden=16, depth=2, model_kwargs={"batchnorm": True}),
    "cnn": dict(model="cnn", hidden=16, model_kwargs={"batchnorm": True, "channels": [4, 4, 8]}),
    "vit": dict(model="vit", hidden=16, depth=1, model_kwargs={"heads": 2, "patch": 4}),
}


@pytest.fixture(scope="module")
def digits():
    return {shape: load_dataset("digits", shape=shape, seed=0, dtype=np.float32)
            for shape in ("flat", "image")}


@pytest.fixture(scope="module")
def trained(digits):
    """``{kind: (history, model, config, data)}``: 2 epochs of RAF at rank 3."""
    out = {}
    for kind, opts in TINY.items():
        cfg = TrainConfig(rule="raf", rank=3, epochs=2, seed=1, **opts)
        data = digits["flat" if kind == "mlp" else "image"]
        hist, model = train(cfg, data=data, return_model=True)
        out[kind] = (hist, model, cfg, data)
    return out


def _expected_keys(model) -> set[str]:
    """Names of every array the model depends on, collected independently of state_dict:
    forward params, Q and P of every feedback rule (learned or fixed), BatchNorm stats."""
    from lintheory.nn.conv import BatchNorm

    keys = {p.name for p in model.params()}
    for layer in model.feedback_layers:
        fb = layer.feedback
        keys |= {p.name for p in (fb.Q, fb.P) if p is not None}
    stack = [model.root]
    while stack:
        layer = stack.pop()
        if isinstance(layer, BatchNorm):
            keys |= {f"{layer.name}.running_mean", f"{layer.name}.running_var"}
        stack.extend(getattr(layer, "layers", []))
        if hasattr(layer, "block"):
            stack.append(layer.block)
    return keys


@pytest.mark.parametrize("kind", list(TINY))
def test_save_load_reproduces_accuracy_and_logits(kind, trained, tmp_path):
    hist, model, cfg, data = trained[kind]
    path = save_model(tmp_path / f"{kind}.npz", model, config=cfg)
    ref_logits = model.forward(data.X_test, train=False)
    ref_loss, ref_acc = evaluate(model, data.X_test, data.y_test)
    assert ref_acc == hist["final"]["test_acc"]          # the returned model is the trained one

    # a new model of the same architecture from another seed: different before loading
    fresh = build_model(rng=np.random.default_rng(123), **_build_kwargs(model))
    assert not np.array_equal(fresh.forward(data.X_test, train=False), ref_logits)
    fresh.load_state_dict(load_state(path))
    assert np.array_equal(fresh.forward(data.X_test, train=False), ref_logits)
    assert evaluate(fresh, data.X_test, data.y_test) == (ref_loss, ref_acc)

    # the file alone rebuilds it
    loaded = load_model(path)
    assert np.array_equal(loaded.forward(data.X_test, train=False), ref_logits)
    assert evaluate(loaded, data.X_test, data.y_test)[1] == hist["final"]["test_acc"]
    assert read_model_meta(path)["config"] == cfg.to_dict()


def _build_kwargs(model):
    b = dict(model.build_args)
    return dict(b, input_shape=tuple(b["input_shape"]), dtype=np.dtype(b["dtype"]))


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_batchnorm_statistics_matter_and_are_saved(kind, trained):
    _, model, _, data = trained[kind]
    state = model.state_dict()
    stats = [k for k in state if k.endswith((".running_mean", ".running_var"))]
    assert len(stats) == 2 * sum(1 for k in state if k.endswith(".running_mean")) > 0
    # after training they are not the initial zeros / ones ...
    assert all(not np.allclose(state[k], 0.0 if "mean" in k else 1.0) for k in stats)
    # ... and dropping them (what saving params() by hand did) changes the logits
    reset = {k: (np.zeros_like(v) if k.endswith("running_mean") else
                 np.ones_like(v) if k.endswith("running_var") else v)
             for k, v in state.items()}
    other = build_model(rng=np.random.default_rng(5), **_build_kwargs(model))
    other.load_state_dict(reset)
    assert not np.array_equal(other.forward(data.X_test, train=False),
                              model.forward(data.X_test, train=False))


@pytest.mark.parametrize("rule", ["bp", "fa", "kp", "raf", "dfa", "draf", "normative"])
def test_state_dict_round_trips_every_array(rule):
    kw = {} if rule in ("bp", "dfa") else {"rank": 3}
    model = build_model("mlp", (12,), 4, rule=rule, hidden=8, depth=2, batchnorm=True,
                        rng=np.random.default_rng(0), **kw)
    state = model.state_dict()
    assert set(state) == _expected_keys(model)
    if rule == "fa":           # fixed factors are not optimiser params but are state
        assert {"fc2.fb.Q", "fc2.fb.P"} <= set(state)
        assert not model.feedback_params()
    # every array replaced by independent random values reads back exactly
    rng = np.random.default_rng(7)
    new = {k: rng.normal(size=v.shape).astype(v.dtype) for k, v in state.items()}
    model.load_state_dict(new)
    back = model.state_dict()
    assert set(back) == set(new)
    for k in new:
        assert back[k].dtype == new[k].dtype and np.array_equal(back[k], new[k]), k
    # state_dict returns copies
    k0 = next(iter(back))
    back[k0][...] = 0
    assert np.array_equal(model.state_dict()[k0], new[k0])


def _mlp(rank=3, seed=0):
    return build_model("mlp", (12,), 4, rule="raf", rank=rank, hidden=8, depth=2,
                       batchnorm=True, rng=np.random.default_rng(seed))


def _one_line_error(fn, *names):
    with pytest.raises(ValueError) as exc:
        fn()
    msg = str(exc.value)
    assert "\n" not in msg
    for name in names:
        assert name in msg
    return msg


def test_bad_state_dicts_name_the_key():
    model = _mlp()
    before = model.state_dict()
    good = _mlp(seed=1).state_dict()

    missing = {k: v for k, v in good.items() if k != "bn1.running_var"}
    _one_line_error(lambda: model.load_state_dict(missing), "'bn1.running_var'", "(8,)")

    wrong_shape = dict(good, **{"fc2.fb.P": np.zeros((2, 8), np.float32)})
    _one_line_error(lambda: model.load_state_dict(wrong_shape), "'fc2.fb.P'", "(2, 8)", "(3, 8)")

    extra = dict(good, **{"fc9.W": np.zeros(3, np.float32)})
    _one_line_error(lambda: model.load_state_dict(extra), "'fc9.W'")

    wrong_dtype = dict(good, **{"fc1.W": good["fc1.W"].astype(np.float64)})
    _one_line_error(lambda: model.load_state_dict(wrong_dtype), "'fc1.W'", "float64")

    # a model of another rank: the factors' shapes differ
    _one_line_error(lambda: model.load_state_dict(_mlp(rank=2).state_dict()), "fb.")
    # nothing was written by any failed load
    after = model.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)


def test_model_file_is_plain_npz(tmp_path):
    model = _mlp()
    path = save_model(tmp_path / "m", model)
    assert path.name == "m.npz"
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == set(model.state_dict()) | {META_KEY}
        meta = json.loads(str(npz[META_KEY][()]))
    assert meta["build"]["kind"] == "mlp" and meta["config"] is None


def test_bad_model_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_model(tmp_path / "nope.npz")
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(2))
    _one_line_error(lambda: load_model(plain), "plain.npz", META_KEY)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    _one_line_error(lambda: load_model(junk), "junk.npz")


def test_train_return_model_keeps_the_old_return_value(digits):
    cfg = TrainConfig(hidden=8, depth=1, epochs=1, seed=0)
    hist = train(cfg, data=digits["flat"])
    hist2, model = train(cfg, data=digits["flat"], return_model=True)
    assert isinstance(hist, dict) and hist["final"] == hist2["final"]
    assert evaluate(model, digits["flat"].X_test, digits["flat"].y_test)[1] == \
        hist["final"]["test_acc"]


def test_cli_save_model(tmp_path, digits):
    from lintheory.cli import main

    out, npz = tmp_path / "r.json", tmp_path / "m.npz"
    rc = main(["train", "--hidden", "8", "--depth", "1", "--epochs", "1", "--rule", "raf",
               "--rank", "3", "--model-arg", "batchnorm=true", "--out", str(out),
               "--save-model", str(npz), "--quiet"])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result["model_files"] == [str(npz)]
    model = load_model(npz)
    data = digits["flat"]
    assert evaluate(model, data.X_test, data.y_test)[1] == result["runs"][0]["final"]["test_acc"]

    rc = main(["train", "--hidden", "8", "--depth", "1", "--epochs", "1", "--seed", "0,1",
               "--out", str(tmp_path / "r2.json"), "--save-model", str(tmp_path / "k"),
               "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in tmp_path.glob("k_seed*.npz")) == ["k_seed0.npz",
                                                                     "k_seed1.npz"]

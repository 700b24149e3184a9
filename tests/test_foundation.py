"""Foundation pieces: argument checks, atomic I/O, rules table, weights and rotation."""

import json
import os

import numpy as np
import pytest

from lintheory import RULES, Weights, get_rule, make_init, make_task
from lintheory._validate import check_float, check_int
from lintheory.flow import flat_flow, rule_flow, two_layer_flow
from lintheory.io import atomic_path, read_json, write_json, write_npz


def test_check_int_and_float_name_the_argument():
    assert check_int("k", 3, low=1) == 3
    with pytest.raises(ValueError, match=r"rank r must be in \[1, 10\], got 0"):
        check_int("rank r", 0, low=1, high=10)
    with pytest.raises(ValueError, match="k must be an integer"):
        check_int("k", "three")
    with pytest.raises(ValueError, match="lr must be in"):
        check_float("lr", -0.1, low=0.0, low_open=True)
    with pytest.raises(ValueError, match="noise must be finite"):
        check_float("noise", float("nan"))


def test_write_json_is_atomic_and_refuses_nan(tmp_path):
    path = tmp_path / "sub" / "out.json"
    write_json(path, {"a": np.arange(3), "b": np.float64(1.5)})
    assert read_json(path) == {"a": [0, 1, 2], "b": 1.5}
    with pytest.raises(ValueError, match="non-finite"):
        write_json(path, {"a": [1.0, float("nan")]})
    # the failed write left the old file intact and no temporary behind
    assert read_json(path)["b"] == 1.5
    assert sorted(os.listdir(path.parent)) == ["out.json"]


def test_atomic_path_cleans_up_on_error(tmp_path):
    target = tmp_path / "x.npz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    write_npz(target, a=np.eye(2))
    assert np.array_equal(np.load(target)["a"], np.eye(2))


def test_output_folder_that_cannot_exist_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="cannot create output folder"):
        write_json(blocker / "sub" / "a.json", {})


def test_unwritable_folder_is_a_clear_error(tmp_path):
    """A folder without its owner's write bit is refused, also as root (who could write
    it): the writer reads the mode bits itself."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            write_json(locked / "a.json", {})
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_rules_table():
    assert {"bp", "fa", "kp", "raf", "draf", "dfa"} <= set(RULES)
    assert get_rule("RAF").learns_P and get_rule("raf").learns_Q
    assert not get_rule("bp").uses_feedback and get_rule("fa").uses_feedback
    assert not get_rule("fa").learns_Q and get_rule("draf").direct
    with pytest.raises(ValueError, match="rule must be one of bp, fa, kp, raf"):
        get_rule("backprop")


def test_task_covariances_and_svd():
    task = make_task(n=6, m=5, d=3, N=400, sigma=0.5, singular_values=[3, 2, 1], seed=3)
    X, Y = task.X, task.Y
    np.testing.assert_allclose(task.Sigma_xx, np.eye(6), atol=1e-12)  # whitened exactly
    np.testing.assert_allclose(task.Sigma_yx, Y.T @ X / 400, atol=1e-14)
    np.testing.assert_allclose(task.U @ task.S @ task.V.T, task.Sigma_yx, atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(task.A, compute_uv=False)[:3], [3, 2, 1], atol=1e-12)
    np.testing.assert_allclose(task.s, np.linalg.svd(task.Sigma_yx, compute_uv=False), atol=1e-12)
    ev = np.linalg.eigvalsh(task.Sigma_yy_bar)
    np.testing.assert_allclose(np.sort(ev), np.linalg.eigvalsh(task.Sigma_yy), atol=1e-10)


def test_same_seed_same_task():
    a, b = make_task(seed=7), make_task(seed=7)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.Y, b.Y)
    assert not np.array_equal(a.Y, make_task(seed=8).Y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(d=11), r"d must be in \[1, 10\]"),
        (dict(n=0), r"n must be in"),
        (dict(sigma=-1.0), r"sigma \(noise\) must be in"),
        (dict(N=5), "N \\(samples\\) must be >= n"),
        (dict(singular_values=[1, 2]), "singular_values must have d = 4 entries"),
        (dict(singular_values=[1, 2, float("nan"), 1]), "NaN"),
    ],
)
def test_task_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_task(**kwargs)


def test_rotation_round_trip_and_shapes():
    task = make_task(n=7, m=5, d=2, N=50, seed=1)
    w = make_init(task, k=6, r=3, rng=np.random.default_rng(0))
    wr = w.rotate(task)
    assert wr.rotated and wr.shape == {"n": 7, "k": 6, "m": 5, "r": 3}
    np.testing.assert_allclose(wr.W2 @ wr.W1, task.U.T @ w.W2 @ w.W1 @ task.V, atol=1e-14)
    np.testing.assert_array_equal(wr.Q, w.Q)  # Q is not rotated
    back = wr.unrotate(task)
    for a, b in zip((back.W1, back.W2, back.Q, back.P), (w.W1, w.W2, w.Q, w.P)):
        np.testing.assert_allclose(a, b, atol=1e-13)
    y = w.pack()
    assert all(np.shares_memory(part, y) for group in w.unpack(y) for part in group)


def test_weights_shape_errors():
    with pytest.raises(ValueError, match=r"W_2 must have 4 columns"):
        Weights.two_layer(np.zeros((4, 3)), np.zeros((5, 2)), np.zeros((4, 2)),
                          np.zeros((2, 5)))
    task = make_task(n=6, m=5, d=2, N=50)
    w = Weights.two_layer(np.zeros((4, 3)), np.zeros((5, 4)), np.zeros((4, 2)),
                          np.zeros((2, 5)))
    with pytest.raises(ValueError, match="weights are for n=3"):
        w.check_task(task)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_flow_jit_equals_python_flow(rule):
    """The compiled right-hand side is the same function as the pure-Python one."""
    task = make_task(n=6, m=5, d=2, N=60, seed=2)
    w = make_init(task, k=4, r=2, rng=np.random.default_rng(1), scale=0.5)
    rule = get_rule(rule)
    L = w.depth
    drive = np.array([rule.drives_error(j, L) for j in range(L - 1)])
    got = flat_flow(w.pack(), *w.layout(), L, task.Sigma_yx, task.Sigma_yy, *rule.jitted(),
                    rule.direct, drive, 0.3, 0.1, 2.0, True, np.eye(task.m))
    ref = rule_flow(w.Ws, w.Qs, w.Ps, task.Sigma_yx, task.Sigma_yy, rule, lam=0.3, wd=0.1,
                    p_rate=2.0, oja_scale=True)
    ref = np.concatenate([a.ravel() for part in ref for a in part])
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


def test_flow_matches_averaged_per_sample_updates():
    """theory §3 per-sample rules, averaged over a whitened data set, equal flow() (theory §4)."""
    task = make_task(n=6, m=5, d=2, N=80, seed=4)
    w = make_init(task, k=4, r=3, rng=np.random.default_rng(2), scale=0.7)
    lam, wd, p_rate = 0.2, 0.05, 1.5
    W1, W2, Q, P = w.W1, w.W2, w.Q, w.P
    acc = [np.zeros_like(a) for a in (W1, W2, Q, P)]
    for x, y in zip(task.X, task.Y):
        h = W1 @ x
        e = y - W2 @ h
        acc[0] += np.outer(Q @ P @ e, x) - wd * W1
        acc[1] += np.outer(e, h) - wd * W2
        acc[2] += np.outer(h, P @ e) - lam * Q
        acc[3] += p_rate * (P @ np.outer(y, y) @ (np.eye(5) - P.T @ P))
    got = two_layer_flow(W1, W2, Q, P, task.Sigma_yx, task.Sigma_yy, "raf", lam, wd, p_rate)
    for a, g in zip(acc, got):
        np.testing.assert_allclose(a / task.N, g, rtol=1e-10, atol=1e-12)


def test_json_roundtrip_is_plain(tmp_path):
    p = write_json(tmp_path / "a.json", {"x": (1, 2)})
    assert json.loads(p.read_text()) == {"x": [1, 2]}


def test_check_output_path_creates_nothing(tmp_path):
    """The early output check (used before long work) names the problem and creates nothing."""
    from lintheory.io import check_output_path

    check_output_path(tmp_path / "new" / "deeper" / "a.json")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="cannot create output folder .*File exists"):
        check_output_path(tmp_path / "afile" / "a.json")
    with pytest.raises(ValueError, match="cannot create output folder .*Not a directory"):
        check_output_path(tmp_path / "afile" / "sub" / "a.json")

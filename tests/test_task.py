"""The linear teacher task (theory §2) against direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import make_init, make_task


@pytest.fixture(scope="module")
def task():
    return make_task(n=9, m=7, d=3, N=500, sigma=0.7, singular_values=[3.0, 1.5, 0.5], seed=11)


def test_whitened_inputs_have_identity_covariance(task):
    np.testing.assert_allclose(task.X.T @ task.X / task.N, np.eye(task.n), atol=1e-12)


def test_unwhitened_inputs_are_not_white():
    t = make_task(n=9, m=7, d=3, N=500, whiten=False, seed=11)
    assert np.abs(t.X.T @ t.X / t.N - np.eye(9)).max() > 0.05


def test_teacher_has_exactly_the_chosen_singular_values(task):
    s = np.linalg.svd(task.A, compute_uv=False)
    np.testing.assert_allclose(s[:3], [3.0, 1.5, 0.5], rtol=1e-12)
    assert s[3:].max() < 1e-12
    assert np.linalg.matrix_rank(task.A) == 3


def test_covariances_and_svd_match_numpy(task):
    X, Y, N = task.X, task.Y, task.N
    np.testing.assert_allclose(task.Sigma_yx, Y.T @ X / N, atol=1e-13)
    np.testing.assert_allclose(task.Sigma_yy, Y.T @ Y / N, atol=1e-13)
    s = np.linalg.svd(Y.T @ X / N, compute_uv=False)
    np.testing.assert_allclose(task.s, s, rtol=1e-12)
    # S is rectangular diagonal and U S V^T rebuilds Sigma_yx, U and V orthogonal
    assert task.S.shape == (task.m, task.n)
    np.testing.assert_allclose(task.S, np.diag(task.s) @ np.eye(task.m, task.n), atol=0)
    np.testing.assert_allclose(task.U @ task.S @ task.V.T, task.Sigma_yx, atol=1e-12)
    np.testing.assert_allclose(task.U.T @ task.U, np.eye(task.m), atol=1e-12)
    np.testing.assert_allclose(task.V.T @ task.V, np.eye(task.n), atol=1e-12)
    np.testing.assert_allclose(task.Sigma_yy_bar, task.U.T @ (Y.T @ Y / N) @ task.U,
                               atol=1e-12)


def test_signal_singular_values_approach_the_teacher_for_large_N():
    """First d singular values -> s_i, the rest are noise of order sqrt(m / N)."""
    t = make_task(n=9, m=7, d=3, N=40_000, sigma=1.0, singular_values=[3.0, 1.5, 0.5], seed=2)
    np.testing.assert_allclose(t.s[:3], [3.0, 1.5, 0.5], atol=0.05)
    assert t.s[3:].max() < 5 * np.sqrt(7 / 40_000)
    # Sigma_yy_bar ~ S S^T + sigma^2 I (theory §5), whose top eigenvectors are e_1..e_d
    approx = t.S @ t.S.T + np.eye(7)
    assert np.abs(t.Sigma_yy_bar - approx).max() < 0.1


def test_default_singular_values_are_d_down_to_1():
    t = make_task(n=6, m=5, d=4, N=50, seed=0)
    np.testing.assert_allclose(t.teacher_singular_values, [4, 3, 2, 1])


def test_same_seed_same_task_different_seed_different_task():
    a = make_task(n=6, m=5, d=2, N=40, seed=5)
    b = make_task(n=6, m=5, d=2, N=40, seed=5)
    c = make_task(n=6, m=5, d=2, N=40, seed=6)
    np.testing.assert_array_equal(a.Y, b.Y)
    assert np.abs(a.Y - c.Y).max() > 0.1
    rng = np.random.default_rng(5)
    d = make_task(n=6, m=5, d=2, N=40, rng=rng)
    np.testing.assert_array_equal(a.Y, d.Y)


def test_noise_free_task_is_exactly_linear():
    t = make_task(n=6, m=5, d=2, N=40, sigma=0.0, seed=1)
    np.testing.assert_allclose(t.Y, t.X @ t.A.T, atol=1e-12)
    np.testing.assert_allclose(t.s[2:], 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d": 0}, "d must be"),
        ({"d": 7}, "d must be"),  # d > min(m, n) = 6
        ({"n": 0}, "n must be"),
        ({"sigma": -0.1}, "sigma"),
        ({"N": 4}, "N"),  # N < n with whitening
        ({"singular_values": [1.0]}, "singular_values"),
        ({"singular_values": [1.0, -2.0]}, "singular_values"),
        ({"singular_values": [1.0, float("nan")]}, "singular_values"),
    ],
)
def test_bad_task_arguments(kwargs, match):
    base = {"n": 8, "m": 6, "d": 2, "N": 40, "seed": 0}
    with pytest.raises(ValueError, match=match):
        make_task(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("k", "r", "kind", "match"),
    [
        (0, 2, "random", "k"),
        (8, 0, "random", "rank r"),
        (8, 7, "random", "rank r"),  # r > m = 6
        (2, 2, "balanced", "k"),  # balanced init needs k >= d = 3
        (8, 2, "orthogonal", "init"),
    ],
)
def test_bad_init_arguments(k, r, kind, match):
    t = make_task(n=8, m=6, d=3, N=40, seed=0)
    with pytest.raises(ValueError, match=match):
        make_init(t, k, r, kind, rng=np.random.default_rng(0))

"""The averaged ODE (theory §4) against independent references.

Closed form of Saxe et al. (BP, balanced mode-aligned weights), the rotation identity
(unrotated solution rotated == rotated solution), BP's conserved quantity
``W1 W1^T - W2^T W2``, and the metrics against direct numpy computations from the data.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import DivergenceError, integrate, make_init, make_task
from lintheory.experiments import simulate
from lintheory.rules import get_rule


def saxe(t, s, a0):
    """Saxe et al. (2013): ``da/dt = 2 a (s - a)``, ``a(0) = a0`` (un-normalised strength)."""
    e = np.exp(2.0 * s * t)
    return s * e / (e - 1.0 + s / a0)


@pytest.fixture(scope="module")
def task():
    return make_task(n=10, m=6, d=3, N=200, sigma=0.5, singular_values=[3.0, 2.0, 1.0], seed=3)


def test_bp_balanced_init_follows_the_saxe_closed_form_for_every_mode(task):
    """Every mode of W2bar W1bar equals the closed form to 1e-6 relative, at all times.

    The closed form uses the singular values ``s_i`` of the sampled ``Sigma_yx`` (numpy SVD,
    independently of the task object); the solver tolerance is tightened to 1e-11.
    """
    scale = 0.05  # a0 = scale**2 = 2.5e-3
    w0 = make_init(task, 8, task.d, "balanced", scale=scale, rng=np.random.default_rng(0))
    times = np.linspace(0.0, 8.0, 81)
    traj = integrate(task, "bp", w0, times, rtol=1e-11, atol=1e-14)
    s = np.linalg.svd(task.Y.T @ task.X / task.N, compute_uv=False)
    M = traj.W2 @ traj.W1
    for i in range(task.d):
        expect = saxe(times, s[i], scale**2)
        np.testing.assert_allclose(M[:, i, i], expect, rtol=1e-6, atol=0)
    # the learned curve really moves from a0 to s (the test is not vacuous)
    assert M[0, 2, 2] < 0.01 and abs(M[-1, 2, 2] - s[2]) < 1e-3
    # balanced, mode-aligned weights stay diagonal
    off = M.copy()
    off[:, np.arange(task.d), np.arange(task.d)] = 0
    assert np.abs(off).max() < 1e-9


def _check_not_rotatable(task, rule, w0):
    """A rule declared not rotatable is refused the rotated frame, and the declaration is
    true: its flow at rotated weights differs from its rotated flow."""
    from lintheory.flow import rule_flow

    with pytest.raises(ValueError, match="frame must be 'unrotated'"):
        integrate(task, rule, w0, [0.0, 1.0], frame="rotated")
    wr = w0.rotate(task)
    a = rule_flow(wr.Ws, wr.Qs, wr.Ps, task.S, task.Sigma_yy_bar, rule)
    b = rule_flow(w0.Ws, w0.Qs, w0.Ps, task.Sigma_yx, task.Sigma_yy, rule)
    assert np.max(np.abs(a[0][0] - b[0][0] @ task.V)) > 1e-3


def test_unrotated_solution_rotated_equals_rotated_solution(task, rule_name):
    """Integrating A8/A34-A36 in data coordinates and rotating gives Eqs. 5, 9, 10."""
    w0 = make_init(task, 8, 2, "random", scale=0.3, rng=np.random.default_rng(1))
    times = np.linspace(0.0, 6.0, 13)
    if not get_rule(rule_name).rotatable:
        _check_not_rotatable(task, get_rule(rule_name), w0)
        return
    rot = integrate(task, rule_name, w0, times, frame="rotated", rtol=1e-10, atol=1e-12)
    unr = integrate(task, rule_name, w0, times, frame="unrotated", rtol=1e-10, atol=1e-12)
    assert unr.info["frame"] == "unrotated"
    for name in ("W1", "W2", "Q", "P"):
        a, b = getattr(rot, name), getattr(unr, name)
        np.testing.assert_allclose(a, b, atol=1e-7 * max(1.0, np.abs(a).max()), err_msg=name)
    # something actually happened
    assert np.abs(rot.W1[-1] - rot.W1[0]).max() > 0.1


def test_bp_conserves_w1w1t_minus_w2tw2(task):
    """Under BP gradient flow ``W1 W1^T - W2^T W2`` (k x k) is constant."""
    w0 = make_init(task, 8, 2, "random", scale=0.8, rng=np.random.default_rng(2))
    times = np.linspace(0.0, 10.0, 11)
    traj = integrate(task, "bp", w0, times, rtol=1e-10, atol=1e-12)
    C = traj.W1 @ np.swapaxes(traj.W1, 1, 2) - np.swapaxes(traj.W2, 1, 2) @ traj.W2
    assert np.abs(traj.W1[-1] - traj.W1[0]).max() > 0.1
    np.testing.assert_allclose(C, np.broadcast_to(C[0], C.shape), atol=1e-7)


def test_fa_does_not_conserve_it(task):
    """The BP invariant is a property of gradient flow: FA breaks it (the test can fail)."""
    w0 = make_init(task, 8, 6, "random", scale=0.8, rng=np.random.default_rng(2))
    traj = integrate(task, "fa", w0, [0.0, 10.0])
    C = traj.W1 @ np.swapaxes(traj.W1, 1, 2) - np.swapaxes(traj.W2, 1, 2) @ traj.W2
    assert np.abs(C[1] - C[0]).max() > 1e-2


def test_metrics_against_numpy_from_unrotated_weights(task):
    """Mode strengths, alignment, leak and loss recomputed from data-frame weights."""
    w0 = make_init(task, 8, 3, "random", scale=0.3, rng=np.random.default_rng(4))
    traj = integrate(task, "raf", w0, [0.5, 2.0, 20.0])
    U, s, Vt = np.linalg.svd(task.Y.T @ task.X / task.N)  # independent SVD of Sigma_yx
    for j in range(len(traj)):
        W1 = traj.W1[j] @ task.V.T  # back to data coordinates
        W2 = task.U @ traj.W2[j]
        M = W2 @ W1
        # a_i = u_i^T M v_i / s_i with numpy's singular vectors (sign-consistent pairs)
        a = np.array([U[:, i] @ M @ Vt[i] / s[i] for i in range(task.d)])
        np.testing.assert_allclose(traj.mode_strengths[j], a, atol=1e-10)
        # alignment: top-d singular vectors of M against those of Sigma_yx
        um, _, vmt = np.linalg.svd(M)
        al = [0.5 * (abs(um[:, i] @ U[:, i]) + abs(vmt[i] @ Vt[i])) for i in range(task.d)]
        np.testing.assert_allclose(traj.alignment[j], al, atol=1e-8)
        # leak: off-diagonal part of U^T M V over |S|_F
        Mb = U.T @ M @ Vt.T
        off = Mb - np.diag(np.diag(Mb)) @ np.eye(*Mb.shape)
        np.testing.assert_allclose(traj.leak[j], np.linalg.norm(off) / np.linalg.norm(s),
                                   rtol=1e-8)
        # loss straight from the samples
        E = task.Y - task.X @ M.T
        np.testing.assert_allclose(traj.loss[j], 0.5 * np.mean(np.sum(E**2, axis=1)),
                                   rtol=1e-10)
    assert traj.alignment[-1].min() > 0.99  # RAF with r = d learns and aligns every mode


def test_simulate_both_starts_both_engines_from_the_same_weights(task):
    w0 = make_init(task, 8, 3, "random", scale=0.3, rng=np.random.default_rng(5))
    runs = simulate(task, "fa", w0, np.linspace(0, 2, 5), method="both", lr=0.01,
                    batch="full")
    assert set(runs) == {"ode", "sgd"}
    np.testing.assert_allclose(runs["ode"].W1[0], runs["sgd"].W1[0], atol=1e-14)
    np.testing.assert_allclose(runs["sgd"].times, runs["ode"].times)
    # full-batch GD at lr = 0.01 tracks the ODE to O(lr)
    assert np.abs(runs["sgd"].mode_strengths - runs["ode"].mode_strengths).max() < 0.05


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "euler"}, "method"),
        ({"lr": -0.1}, "lr"),
        ({"lr": 0.0}, "lr"),
        ({"lam": -1.0}, "lam"),
    ],
)
def test_simulate_bad_arguments(task, kwargs, match):
    w0 = make_init(task, 8, 2, "random", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        simulate(task, "raf", w0, [0.0, 1.0], **kwargs)


def test_mismatched_init_shapes_are_a_value_error(task):
    other = make_task(n=7, m=6, d=2, N=50, seed=0)
    w0 = make_init(other, 8, 2, "random", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n=7"):
        simulate(task, "bp", w0, [0.0, 1.0])


def test_diverging_sgd_names_the_step_and_suggests_a_smaller_lr(task):
    w0 = make_init(task, 8, 2, "random", scale=0.3, rng=np.random.default_rng(0))
    with pytest.raises(DivergenceError, match=r"step \d+.*smaller learning rate") as info:
        simulate(task, "bp", w0, [0.0, 50.0], method="sgd", lr=1.0, batch="full")
    assert info.value.step >= 1 and info.value.suggestion < 1.0

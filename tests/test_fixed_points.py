"""Fixed points of the averaged dynamics (theory §5) against independent numpy computations.

Small initial weights (scale 1e-3) throughout: with larger ones the random features of
``W1`` let ``W2`` learn modes outside the feedback channel slowly and FA does not sit at
``S Pi`` (measured by the lead; see the figure-2 notes).
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import integrate, make_init, make_task
from lintheory.experiments import (
    oja_limit,
    predicted_mode_strengths,
    rowspace_projector,
    spurious_fixed_point,
)

K = 24
SCALE = 1e-3


@pytest.fixture(scope="module")
def task():
    return make_task(n=12, m=8, d=4, N=400, sigma=1.0, singular_values=[4, 3, 2, 1], seed=0)


def projector_numpy(A):
    """Projector onto the row space of A via numpy.linalg.pinv (independent of the package)."""
    return np.linalg.pinv(A) @ A


def top_eigvecs(C, r):
    w, E = np.linalg.eigh(C)
    return E[:, np.argsort(w)[::-1][:r]]


def test_rowspace_projector_matches_pinv():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 7)) @ np.diag([1, 1, 1, 0, 1, 1, 1.0])
    np.testing.assert_allclose(rowspace_projector(A), projector_numpy(A), atol=1e-12)
    B = rng.standard_normal((2, 5))
    B = np.vstack([B, B[0] + B[1]])  # rank 2
    Pi = rowspace_projector(B)
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-12)
    assert np.isclose(np.trace(Pi), 2.0)


@pytest.mark.parametrize("rule", ["fa", "kp"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_feedback_with_r_below_d_converges_to_S_Pi(task, rule, seed):
    """FA and KP-Q, r = 2 < d = 4: ``W2bar W1bar -> S Pi``, Pi from the initial Pbar.

    Pi is computed here with ``numpy.linalg.pinv`` from ``P U`` (U from numpy's SVD of the
    sampled Sigma_yx), independently of :mod:`lintheory.experiments`.
    """
    w0 = make_init(task, K, 2, "random", scale=SCALE, rng=np.random.default_rng(seed))
    U, s, Vt = np.linalg.svd(task.Y.T @ task.X / task.N)
    S = np.zeros((task.m, task.n))
    S[np.arange(s.size), np.arange(s.size)] = s
    Pbar0 = w0.P @ U  # w0 is in the data frame
    SPi = S @ projector_numpy(Pbar0 @ S)
    traj = integrate(task, rule, w0, [40.0])
    # numpy's U may differ from the task's by column signs: compare in a sign-free way
    M = U.T @ (task.U @ traj.W2[-1]) @ (traj.W1[-1] @ task.V.T) @ Vt.T
    assert np.abs(M - SPi).max() < 1e-3
    # the prediction really is spurious: some mode is far from learned
    a = np.diag(SPi)[: task.d] / s[: task.d]
    assert a.min() < 0.9
    np.testing.assert_allclose(traj.mode_strengths[-1], a, atol=1e-3)
    # and the package's own prediction agrees
    np.testing.assert_allclose(
        predicted_mode_strengths(task, w0.rotate(task).P), a, atol=1e-10
    )


def test_fa_and_kp_share_the_fixed_point_of_their_common_Pbar(task):
    """KP-Q (P fixed) inherits FA's spurious fixed point (paper Fig. 2c)."""
    w0 = make_init(task, K, 2, "random", scale=SCALE, rng=np.random.default_rng(7))
    fa = integrate(task, "fa", w0, [40.0])
    kp = integrate(task, "kp", w0, [40.0])
    np.testing.assert_allclose(fa.M[-1], kp.M[-1], atol=2e-3)
    np.testing.assert_allclose(fa.M[-1], spurious_fixed_point(task.S, w0.rotate(task).P),
                               atol=1e-3)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_raf_with_r_below_d_learns_exactly_the_top_r_modes(task, r):
    w0 = make_init(task, K, r, "random", scale=SCALE, rng=np.random.default_rng(r))
    traj = integrate(task, "raf", w0, [40.0])
    a = traj.mode_strengths[-1]
    expect = np.r_[np.ones(r), np.zeros(task.d - r)]
    np.testing.assert_allclose(a, expect, atol=2e-3)
    # sharper: S Pi with Pbar = top-r eigenvectors of Sigma_yy_bar (numpy eigh)
    E = top_eigvecs(task.U.T @ (task.Y.T @ task.Y / task.N) @ task.U, r)
    Pi = projector_numpy(E.T @ task.S)
    np.testing.assert_allclose(traj.M[-1], task.S @ Pi, atol=1e-3)


@pytest.mark.parametrize("r", [1, 2, 4])
def test_oja_drives_Pbar_to_the_top_r_eigenvectors_of_Sigma_yy_bar(task, r):
    """Oja's rule alone (dP does not depend on W1, W2, Q): rows of Pbar become an
    orthonormal basis of the span of the top-r eigenvectors of Sigma_yy_bar."""
    w0 = make_init(task, K, r, "random", scale=SCALE, rng=np.random.default_rng(10 + r))
    traj = integrate(task, "raf", w0, [0.0, 20.0])
    Pbar = traj.P[-1]
    C = task.U.T @ (task.Y.T @ task.Y / task.N) @ task.U
    E = top_eigvecs(C, r)
    np.testing.assert_allclose(Pbar @ Pbar.T, np.eye(r), atol=1e-5)
    np.testing.assert_allclose(Pbar.T @ Pbar, E @ E.T, atol=1e-5)
    # it started far from there
    assert np.abs(traj.P[0].T @ traj.P[0] - E @ E.T).max() > 0.1
    # the package's oja_limit spans the same subspace
    L = oja_limit(task, r)
    np.testing.assert_allclose(L.T @ L, E @ E.T, atol=1e-10)


@pytest.mark.parametrize(
    ("rule", "r"),
    [("bp", 4), ("fa", 8), ("kp", 8), ("raf", 4)],
)
def test_every_rule_with_enough_rank_learns_every_mode(task, rule, r):
    """r >= d: a_i -> 1 for every mode.

    FA and KP-Q use r = m (full rank): with r = d and a *fixed* random P, ``Pbar S`` can be
    ill-conditioned on the signal modes once finite-N noise modes tilt Pi, and a mode can
    starve (measured: FA r = 4, seed 1, a_4 = 0.12), which S Pi still predicts. The premise
    of theory §5 ("Pbar S of rank d, well conditioned") holds for r = m. RAF uses r = d: Oja
    aligns Pbar with the top-d modes, so r = d suffices.
    """
    w0 = make_init(task, K, r, "random", scale=SCALE, rng=np.random.default_rng(3))
    traj = integrate(task, rule, w0, [40.0])
    np.testing.assert_allclose(traj.mode_strengths[-1], np.ones(task.d), atol=5e-3)
    assert traj.leak[-1] < 0.05


def test_kp_q_aligns_with_w2_inside_the_channel_when_w2_decays_like_q(task):
    """With weight decay wd = lam on W2 and P fixed, ``D = Q - W2bar^T Pbar^T`` obeys
    ``dD/dt = -lam D``: ``D(t) = D(0) exp(-lam t)`` exactly (theory §5)."""
    lam = 0.5
    w0 = make_init(task, K, 2, "random", scale=0.3, rng=np.random.default_rng(4))
    times = np.array([0.0, 1.0, 3.0, 6.0])
    traj = integrate(task, "kp", w0, times, lam=lam, wd=lam, rtol=1e-10, atol=1e-12)
    D = traj.Q - np.swapaxes(traj.W2, 1, 2) @ np.swapaxes(traj.P, 1, 2)
    expect = D[0] * np.exp(-lam * times)[:, None, None]
    np.testing.assert_allclose(D, expect, atol=1e-8)
    assert np.abs(D[0]).max() > 0.3

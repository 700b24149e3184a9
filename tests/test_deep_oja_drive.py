"""dRAF's Oja drive, ``oja_drive = "error" | "targets"``, in both engines (issue 10).

The same option (name, values, default "error") in the deep linear engine
(``lintheory.deep``) and the NumPy engine (``lintheory.nn``). Every test compares the
subspace ``P`` learns with the top eigenvectors from ``numpy.linalg.eigh`` of the covariance
the option names, computed here independently of the engines.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from lintheory import RULES, make_task
from lintheory import integrate as integrate_deep
from lintheory import make_init as make_deep_init
from lintheory import run_sgd as run_sgd_deep
from lintheory.flow import rule_flow
from lintheory.nn import build_model, losses, optimisers
from lintheory.nn.feedback import Feedback, centred_scaled, make_feedback
from lintheory.rules import DEFAULT_OJA_DRIVE, OJA_DRIVES

F64 = np.float64


def _top(C, r):
    """Top-r eigenvectors of the symmetric ``C`` as columns (D, r)."""
    w, v = np.linalg.eigh(C)
    return v[:, ::-1][:, :r]


def _cosines(P, top):
    """Principal cosines between the row space of ``P (r, D)`` and ``top (D, r)``."""
    return np.linalg.svd(top.T @ np.linalg.qr(P.T)[0], compute_uv=False)


def test_same_name_values_and_default_in_both_engines():
    assert OJA_DRIVES == Feedback.OJA_DRIVES == ("error", "targets")
    assert DEFAULT_OJA_DRIVE == "error" == make_feedback("draf").hyper["oja_drive"]
    for fn in (integrate_deep, run_sgd_deep):
        assert inspect.signature(fn).parameters["oja_drive"].default == "error"
    with pytest.raises(ValueError, match="oja_drive"):
        make_feedback("draf", oja_drive="target")
    with pytest.raises(ValueError, match="source='output'"):
        make_feedback("draf", oja_drive="targets", source="penultimate")
    task = make_task(n=6, m=4, d=2, N=24, seed=2)
    w = make_deep_init(task, [5, 5], 1, rng=0, direct=True)
    with pytest.raises(ValueError, match="oja_drive"):
        integrate_deep(task, "draf", w, [0, 1], oja_drive="errors")
    with pytest.raises(ValueError, match="oja_drive"):
        run_sgd_deep(task, "draf", w, [0, 1], lr=0.01, oja_drive="y")


# --- deep linear engine -------------------------------------------------------------------

@pytest.mark.parametrize("drive", OJA_DRIVES)
def test_deep_flow_drive_spans_top_eigenvectors(drive):
    """Frozen W, Q; P_j follows only the flow's Oja term (Euler, 4000 steps of 0.05).

    Reference: eigh of Sigma_yy ("targets") or of the output-error covariance
    ``Syy - Syx M^T - M Syx^T + M M^T`` formed here from the weights ("error").
    Required: every principal cosine > 1 - 1e-8 and the two subspaces differ (so the test
    tells the drives apart).
    """
    task = make_task(n=6, m=5, d=3, N=200, sigma=0.5, seed=4)
    w = make_deep_init(task, [6, 6], 2, scale=0.8, rng=5, direct=True)
    Ws, Qs, Ps = list(w.Ws), list(w.Qs), [p.copy() for p in w.Ps]
    Syx, Syy = task.Sigma_yx, task.Sigma_yy
    for _ in range(4000):
        _, _, dP = rule_flow(Ws, Qs, Ps, Syx, Syy, RULES["draf"], oja_scale=True,
                             oja_drive=drive)
        Ps = [p + 0.05 * d for p, d in zip(Ps, dP)]
    M = Ws[2] @ Ws[1] @ Ws[0]
    C_err = Syy - Syx @ M.T - M @ Syx.T + M @ M.T
    want, other = (C_err, Syy) if drive == "error" else (Syy, C_err)
    for P in Ps:
        assert _cosines(P, _top(want, 2)).min() > 1 - 1e-8
        assert _cosines(P, _top(other, 2)).min() < 0.99
        np.testing.assert_allclose(P @ P.T, np.eye(2), atol=1e-8)


def test_deep_sgd_targets_drive_converges_to_its_ode():
    """Full-batch GD with ``oja_drive="targets"`` is the Euler scheme of the same ODE.

    Reference: ``integrate_deep(..., oja_drive="targets")`` at rtol 1e-11; the gap halves
    with lr (slope in [0.9, 1.1]); the "error" ODE is a different trajectory (gap > 1e-3).
    """
    task = make_task(n=6, m=4, d=2, N=24, sigma=0.5, seed=2)
    w0 = make_deep_init(task, [5, 5], 1, scale=0.6, rng=3, direct=True)
    kw = dict(lam=0.2, p_rate=1.5, oja_drive="targets")
    ref = integrate_deep(task, "draf", w0, [0.0, 1.0], rtol=1e-11, atol=1e-13,
                         **kw).weights(-1).pack()
    lrs = np.array([0.02, 0.01, 0.005])
    gaps = [np.max(np.abs(run_sgd_deep(task, "draf", w0, [0.0, 1.0], lr=lr, **kw)
                          .weights(-1).pack() - ref)) for lr in lrs]
    slope = np.polyfit(np.log(lrs), np.log(gaps), 1)[0]
    assert 0.9 <= slope <= 1.1, (slope, gaps)
    err = integrate_deep(task, "draf", w0, [0.0, 1.0], lam=0.2, p_rate=1.5, rtol=1e-11,
                         atol=1e-13).weights(-1).pack()
    assert np.max(np.abs(err - ref)) > 1e-3


# --- NumPy engine ---------------------------------------------------------------------------

def _model(drive):
    return build_model("mlp", (6,), 4, rule="draf", rank=2, hidden=[7, 5], depth=2,
                       rng=np.random.default_rng(0), dtype=F64,
                       feedback_kwargs={"oja_drive": drive})


def _data(B=40, seed=3):
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=B, p=[0.5, 0.3, 0.15, 0.05])   # unequal classes: distinct eigenvalues
    return rng.normal(size=(B, 6)), y


@pytest.mark.parametrize("drive", OJA_DRIVES)
def test_nn_draf_oja_signal(drive):
    """One backward pass: each direct P's grad is Oja's update on the named signal.

    Reference: ``P C (I - P^T P)`` with ``C`` the covariance of the centred, max-std-scaled
    one-hot targets ("targets") or output errors ("error"), formed here.
    """
    model = _model(drive)
    X, y = _data()
    T = losses.one_hot(y, 4, F64)
    _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    model.backward(e, targets_onehot=T)
    sig = T if drive == "targets" else e
    Ec = centred_scaled(sig, 1e-8)
    C = Ec.T @ Ec / len(X)
    direct = [la.feedback for la in model.feedback_layers if la.feedback.direct]
    assert direct
    for fb in direct:
        P = fb.P.value
        np.testing.assert_allclose(fb.P.grad, -(P @ C @ (np.eye(4) - P.T @ P)), rtol=1e-10,
                                   atol=1e-14)


@pytest.mark.parametrize("drive", OJA_DRIVES)
def test_nn_draf_P_spans_top_eigenvectors(drive):
    """Forward weights frozen, only the direct P learn (SGD lr 0.2, 1500 steps, one batch):
    P spans the top-2 eigenvectors (eigh) of the covariance the drive names, to 1e-6,
    and not those of the other drive's covariance."""
    model = _model(drive)
    X, y = _data()
    T = losses.one_hot(y, 4, F64)
    direct = [la.feedback for la in model.feedback_layers if la.feedback.direct]
    opt = optimisers.SGD([fb.P for fb in direct], lr=0.2)
    for _ in range(1500):
        _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
        model.backward(e, targets_onehot=T)
        opt.step()
    covs = {}
    for name, sig in (("targets", T), ("error", e)):
        Ec = centred_scaled(sig, 1e-8)
        covs[name] = Ec.T @ Ec / len(X)
    other = "error" if drive == "targets" else "targets"
    for fb in direct:
        assert _cosines(fb.P.value, _top(covs[drive], 2)).min() > 1 - 1e-6
        assert _cosines(fb.P.value, _top(covs[other], 2)).min() < 0.99

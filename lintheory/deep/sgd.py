"""Discrete learning of deep linear networks: online, mini-batch and full-batch SGD.

Same conventions as the two-layer engine :func:`lintheory.sgd.run_sgd` (whose helpers are
reused): time ``t = lr * steps`` for every batch size, every step applies the *mean*
per-sample update over its batch computed from the pre-step weights, and the sample order
is :class:`lintheory.sgd.SampleStream` (a fresh permutation per epoch, batches wrap across
epochs) drawn from the ``numpy.random.Generator``; ``batch="full"`` draws nothing. At depth 2
the same ``rng`` therefore visits the same samples as ``run_sgd``.

Per sample, for the discrete rules of SPEC §6 (0-based lists as in
:mod:`lintheory.deep.weights`; ``h_0 = x``, ``h_{i+1} = Ws[i] h_i``)::

    e_{L-1} = y - h_L
    e_j = Ws[j+1]^T e_{j+1}  (BP) | Q_j P_j e_{j+1} (layered) | Q_j P_j e_{L-1} (direct)
    dWs[i] = eta e_i h_i^T - eta wd Ws[i]
    dQ_j   = eta h_{j+1} (P_j src_j)^T - eta lam Q_j          src_j = e_{j+1} or e_{L-1}
    dP_j   = eta_P z_j P_j <c c^T> (I - P_j^T P_j)
             c = y (output-layer P of a layered rule; direct rules with
                    oja_drive="targets"),
                 e_{j+1} (hidden layers of layered rules),
                 e_{L-1} (direct rules with oja_drive="error", the default)
             z_j = 1 for c = y or without ``oja_scale``; otherwise
             z_j = oja_normaliser(K_j(theta)), K_j the covariance of c averaged over the
             whole data set at the pre-step weights (Syy - Syx M^T - M Syx^T + M Sxx M^T
             pushed back through the feedback, with the data set's own Sxx, Syx, Syy).

``z_j`` depends on the weights, not on the batch: a batch's ``<c c^T>`` averages to
``K_j`` over the sample order, so the mean step is exactly ``lr`` times the ODE's
right-hand side and SGD converges to the ODE at first order in ``lr`` for every batch size
(derivations/deep_linear.md, "Normalised Oja"). Dividing by the *batch's* largest
variance instead biases the step by O(1) (the mean of a ratio is not the ratio of means).

The arithmetic is one numba kernel (:func:`batch_steps`) working on a flat state vector
with views per matrix; its undecorated twin :data:`batch_steps_py` is the NumPy engine.
Full-batch steps form the per-sample errors of all N samples (no covariance shortcut), so
the test "full-batch GD -> ODE" also checks the averaged algebra of the flow.
"""

from __future__ import annotations

import numba
import numpy as np

from .._validate import check_choice, check_float, check_rates
from ..dynamics import BLOWUP
from ..errors import DivergenceError
from ..sgd import CHUNK_FULL_STEPS, CHUNK_SAMPLES, SampleStream, batch_size, output_steps
from .dynamics import check_direct, layout, stack_states
from .flow import oja_normaliser, pushed_covariances
from .rules import DEFAULT_OJA_DRIVE, drive_error_flag, get_deep_rule
from .weights import DeepWeights


def _batch_steps(theta, offs, rows, cols, L, X, Y, Sxx, Syx, Syy, idx, B, full, nsteps,
                 blowup, transport, learns_Q, learns_P, direct, drive_error, eta, lam, wd,
                 eta_P, oja_scale):
    """Advance the flat state ``theta`` (``Ws + Qs + Ps``, unrotated) by ``nsteps`` steps.

    ``offs``, ``rows``, ``cols`` (int64, length ``3L - 2``) locate each matrix in ``theta``.
    ``X (N, n)``, ``Y (N, m)`` the data; ``Sxx (n, n)``, ``Syx (m, n)``, ``Syy (m, m)`` its
    second moments (for the Oja normalisers). ``idx`` holds ``nsteps * B`` sample indices
    (ignored when ``full``). Returns the index of the first step after which some entry is
    non-finite or exceeds ``blowup`` in magnitude (``nsteps`` when none did).
    """
    nm = 3 * L - 2
    mats = [theta[offs[a] : offs[a] + rows[a] * cols[a]].reshape((rows[a], cols[a]))
            for a in range(nm)]
    err_oja = learns_P and ((direct and drive_error) or (not direct and L > 2))
    for t in range(nsteps):
        if full:
            Xb = X
            Yb = Y
        else:
            sel = idx[t * B : (t + 1) * B]
            Xb = X[sel]
            Yb = Y[sel]
        nb = Xb.shape[0]
        # forward: H[i] is the input of Ws[i], H[L] the output
        H = [Xb]
        for i in range(L):
            H.append(H[i] @ mats[i].T)
        eL = Yb - H[L]
        # backward
        Err = [eL] * L
        for j in range(L - 2, -1, -1):
            if transport:
                Err[j] = Err[j + 1] @ mats[j + 1]
            else:
                Q = mats[L + j]
                P = mats[2 * L - 1 + j]
                src = eL if direct else Err[j + 1]
                Err[j] = (src @ P.T) @ Q.T
        # all updates from the pre-step weights
        deltas = []
        for i in range(L):
            deltas.append(eta * ((Err[i].T @ H[i]) / nb - wd * mats[i]))
        for j in range(L - 1):
            Q = mats[L + j]
            P = mats[2 * L - 1 + j]
            if learns_Q:
                src = eL if direct else Err[j + 1]
                deltas.append(eta * ((H[j + 1].T @ (src @ P.T)) / nb - lam * Q))
            else:
                deltas.append(0.0 * Q)
        # Oja normalisers from the data-averaged error covariances at the pre-step weights
        z = np.ones(L)
        if err_oja and oja_scale:
            M = mats[0]
            for i in range(1, L):
                M = mats[i] @ M
            C_out = Syy - Syx @ M.T - M @ Syx.T + M @ (Sxx @ M.T)
            if direct:
                z[:] = oja_normaliser(C_out)
            else:
                K = pushed_covariances(mats[:L], mats[L : 2 * L - 1], mats[2 * L - 1 :],
                                       C_out, transport)
                for i in range(1, L - 1):
                    z[i] = oja_normaliser(K[i])
        for j in range(L - 1):
            P = mats[2 * L - 1 + j]
            if learns_P:
                if (not direct and j == L - 2) or (direct and not drive_error):
                    c = Yb
                elif direct:
                    c = eL
                else:
                    c = Err[j + 1]
                PC = ((c @ P.T).T @ c) * (z[j + 1] / nb)
                deltas.append(eta_P * (PC - (PC @ P.T) @ P))
            else:
                deltas.append(0.0 * P)
        for a in range(nm):
            mats[a] += deltas[a]
        if not np.max(np.abs(theta)) <= blowup:  # also catches NaN
            return t
    return nsteps


batch_steps = numba.njit(cache=True)(_batch_steps)
"""Compiled :func:`_batch_steps` (the default engine)."""
batch_steps_py = _batch_steps
"""Plain NumPy engine (same code, interpreted)."""

ENGINES = {"numba": batch_steps, "numpy": batch_steps_py}


def run_sgd_deep(task, rule, init: DeepWeights, times, *, lr: float, batch="full", lam=0.0,
                 wd=0.0, p_rate=1.0, oja_scale=True, oja_drive=DEFAULT_OJA_DRIVE, rng=None,
                 progress=False, engine="numba"):
    """Train a deep linear network with the discrete rules of SPEC §6.

    Parameters
    ----------
    task : LinearTask
        Data ``task.X`` (N, n), ``task.Y`` (N, m), used in the unrotated frame.
    rule : str or DeepRule
        ``bp``, ``fa``, ``kp``, ``raf``, ``draf`` or ``dfa``.
    init : DeepWeights
        Initial weights, either frame (not modified); ``init.direct`` must match the rule.
    times : (T,) array
        Output times; time ``t`` is step ``round(t / lr)``.
    lr : float
        Learning rate; ``t = lr * steps``.
    batch : "full", "online" or int
        As in :func:`lintheory.sgd.run_sgd`.
    lam, wd, p_rate : float
        Q decay, weight decay on every W, ``eta_P = p_rate * lr``.
    oja_scale : bool
        Scale every error-driven Oja covariance by the largest per-unit variance of the
        data-averaged error at the current weights (SPEC §6), the normaliser
        :func:`lintheory.deep.flow.deep_flow` uses.
    oja_drive : "error" or "targets"
        What a direct rule's ``P`` learns from (see :func:`lintheory.deep.integrate_deep`).
    rng : Generator, int or None
        Sample order (None: ``default_rng(0)``); unused for ``batch="full"``.
    progress : bool
        tqdm bar over steps.
    engine : "numba" or "numpy"

    Returns
    -------
    DeepTrajectory
        Rotated weights at times ``lr * round(t / lr)``, ``method="sgd"``.

    Raises
    ------
    DivergenceError
        When the weights become non-finite or exceed 1e6; names the step, suggests lr/4.
    """
    rule = get_deep_rule(rule)
    lr = check_float("lr (learning rate)", lr, low=0.0, low_open=True)
    lam, wd, p_rate = check_rates(lam, wd, p_rate)
    check_choice("engine", engine, tuple(ENGINES))
    drive_error = drive_error_flag(oja_drive)
    if not isinstance(init, DeepWeights):
        raise ValueError(f"init must be a lintheory.deep.DeepWeights, got {type(init).__name__}")
    init.check_task(task)
    check_direct(rule, init)
    N = task.N
    B = batch_size(batch, N)
    steps_out, t_out = output_steps(times, lr)
    full = isinstance(batch, str) and batch == "full"
    stream = None if full else SampleStream(N, np.random.default_rng(0 if rng is None else rng))

    w0 = init.unrotate(task)
    theta = np.ascontiguousarray(w0.pack(), dtype=np.float64).copy()
    offs, rows, cols = layout(w0)
    L = w0.depth
    X = np.ascontiguousarray(task.X, dtype=np.float64)
    Y = np.ascontiguousarray(task.Y, dtype=np.float64)
    Sxx, Syx, Syy = X.T @ X / N, Y.T @ X / N, Y.T @ Y / N   # the data set's moments
    kernel = ENGINES[engine]
    args = (*rule.flags, drive_error, lr, lam, wd, p_rate * lr, bool(oja_scale))
    chunk = CHUNK_FULL_STEPS if full else max(1, CHUNK_SAMPLES // B)
    empty = np.zeros(0, dtype=np.int64)

    states = np.empty((len(steps_out), theta.size))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(steps_out[-1]), desc=f"SGD {rule.name} L={L}", unit="step",
                   leave=False)
    step = 0
    try:
        for j, target in enumerate(steps_out):
            while step < target:
                todo = int(min(chunk, target - step))
                idx = empty if full else stream.take(todo * B)
                done = kernel(theta, offs, rows, cols, L, X, Y, Sxx, Syx, Syy, idx, B, full,
                              todo, BLOWUP, *args)
                if done < todo:
                    _raise_divergence(step + done + 1, lr, rule, batch)
                step += todo
                if bar is not None:
                    bar.update(todo)
            states[j] = w0.replace(theta, rotated=False).rotate(task).pack()
    finally:
        if bar is not None:
            bar.close()
    info = {"lr": lr, "batch": batch if isinstance(batch, str) else B, "batch_size": B,
            "steps": steps_out.tolist(), "p_rate": p_rate, "lam": lam, "wd": wd,
            "engine": engine, "oja_scale": bool(oja_scale), "oja_drive": oja_drive,
            "epochs": 0 if stream is None else stream.epochs,
            "dims": list(w0.dims), "ranks": list(w0.ranks)}
    template = w0.rotate(task)
    return stack_states(task, rule, template, t_out, states, "sgd", info)


def _raise_divergence(step, lr, rule, batch):
    raise DivergenceError(
        f"deep SGD ({rule.name}, batch={batch}) diverged at step {step} (t = {step * lr:.4g}): "
        f"the weights became non-finite or exceeded {BLOWUP:.0e} in magnitude; use a smaller "
        f"learning rate, e.g. lr={lr / 4:.3g} (lr/4)",
        step=step, time=step * lr, suggestion=lr / 4)

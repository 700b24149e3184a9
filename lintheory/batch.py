"""The general SGD kernel: mini-batch steps of any rule in a linear network of any depth.

Per sample (0-based lists as in :class:`lintheory.weights.Weights`; ``h_0 = x``,
``h_{i+1} = Ws[i] h_i``; ``fb_j(e) = feedback(Ws[j+1], Qs[j], Ps[j], e)`` of the rule)::

    e_{L-1} = y - h_L
    e_j = fb_j(src_j),        src_j = e_{j+1} (layered) or e_{L-1} (direct)
    dWs[i] = eta e_i h_i^T - eta wd Ws[i]
    dQs[j] = eta q_update(Ws[j+1], Qs[j], Ps[j], h_{j+1}, src_j, lam)
    dPs[j] = eta_P p_update(Ws[j+1], Qs[j], Ps[j], z_j <c c^T>, h_{j+1}, src_j)
             c = the error pathway j reads, when ``Rule.drives_error``; else y
             z_j = 1 for c = y or without ``oja_scale``; otherwise the normaliser
             ``oja_normaliser(K_j(theta))`` of the covariance of c averaged over the whole
             data set at the pre-step weights (with the data set's own Sxx, Syx, Syy).

A step averages these over its batch, all from the pre-step weights. ``z_j`` depends on
the weights, not on the batch, so the mean step is exactly ``lr`` times the ODE's
right-hand side (:func:`lintheory.flow.flow`) and SGD converges to the ODE at first order
in ``lr`` for every batch size (``derivations/deep_linear.md``, "Normalised Oja").

:func:`batch_steps` is compiled by numba once, with the rule's compiled functions as
first-class arguments (cached on disk, shared by every rule); :func:`batch_steps_py` is the
same code interpreted: the plain NumPy engine. Full-batch steps form the per-sample errors
of all N samples (no covariance shortcut), so "full-batch GD -> ODE" also checks the
averaged algebra of the flow.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types

from ._jit import lazy_njit
from .flow import drive_covariances, oja_normaliser
from .rules import A2, FEEDBACK_LIST, P_UPDATE_LIST, Q_UPDATE_LIST


def _batch_steps(theta, offs, rows, cols, L, XT, YT, Sxx, Syx, Syy, idx, B, full, nsteps,
                 blowup, feedback, q_update, p_update, direct, drive_error, eta, lam, wd,
                 eta_P, oja_scale):
    """Advance the flat unrotated state ``theta`` (``Ws + Qs + Ps``) by ``nsteps`` steps.

    ``offs``, ``rows``, ``cols`` (int64, length ``3L - 2``) locate each matrix in ``theta``.
    ``XT (n, N)``, ``YT (m, N)``: the data, one sample per column; ``Sxx (n, n)``,
    ``Syx (m, n)``, ``Syy (m, m)`` its second moments (for the Oja normalisers). ``idx``
    holds ``nsteps * B`` sample indices (ignored when ``full``). ``drive_error (L-1,)``:
    which pathways' ``P`` learn from the error they read. Returns the index of the first
    step after which some entry is non-finite or exceeds ``blowup`` (``nsteps`` if none).
    """
    nm = 3 * L - 2
    mats = [theta[offs[a] : offs[a] + rows[a] * cols[a]].reshape((rows[a], cols[a]))
            for a in range(nm)]
    any_error = False
    for j in range(L - 1):
        if drive_error[j]:
            any_error = True
    for t in range(nsteps):
        if full:
            Xb = XT
            Yb = YT
        else:
            sel = idx[t * B : (t + 1) * B]
            Xb = np.ascontiguousarray(XT[:, sel])
            Yb = np.ascontiguousarray(YT[:, sel])
        inv = 1.0 / Xb.shape[1]
        h = [Xb]  # h[i]: the input of Ws[i] (columns); h[L]: the output
        for i in range(L):
            h.append(mats[i] @ h[i])
        eL = Yb - h[L]
        err = [eL] * L
        for j in range(L - 2, -1, -1):
            err[j] = feedback(mats[j + 1], mats[L + j], mats[2 * L - 1 + j],
                              eL if direct else err[j + 1])
        deltas = []  # every update from the pre-step weights
        for i in range(L):
            deltas.append(eta * ((err[i] @ h[i].T) * inv - wd * mats[i]))
        for j in range(L - 1):
            deltas.append(eta * q_update(mats[j + 1], mats[L + j], mats[2 * L - 1 + j],
                                         h[j + 1] * inv, eL if direct else err[j + 1], lam))
        z = np.ones(L - 1)
        if any_error and oja_scale:
            M = mats[0]
            for i in range(1, L):
                M = mats[i] @ M
            C_out = Syy - Syx @ M.T - M @ Syx.T + M @ (Sxx @ M.T)
            K = drive_covariances(mats[:L], mats[L : 2 * L - 1], mats[2 * L - 1 :], C_out,
                                  feedback, direct)
            for j in range(L - 1):
                if drive_error[j]:
                    z[j] = oja_normaliser(K[j])
        for j in range(L - 1):
            if drive_error[j]:
                c = eL if direct else err[j + 1]
            else:
                c = Yb
            C = (c @ c.T) * (z[j] * inv)
            deltas.append(eta_P * p_update(mats[j + 1], mats[L + j], mats[2 * L - 1 + j], C,
                                           h[j + 1] * inv, eL if direct else err[j + 1]))
        for a in range(nm):
            mats[a] += deltas[a]
        if not np.max(np.abs(theta)) <= blowup:  # also catches NaN
            return t
    return nsteps


_I64 = types.int64[::1]
_F64 = types.float64
_SIG = types.int64(
    types.float64[::1], _I64, _I64, _I64, types.int64, A2, A2, A2, A2, A2, _I64, types.int64,
    types.boolean, types.int64, _F64, FEEDBACK_LIST, Q_UPDATE_LIST, P_UPDATE_LIST,
    types.boolean, types.boolean[::1], _F64, _F64, _F64, _F64, types.boolean)

_batch_steps_jit = numba.njit(cache=True)(_batch_steps)


@lazy_njit(_SIG, cache=True)
def batch_steps(theta, offs, rows, cols, L, XT, YT, Sxx, Syx, Syy, idx, B, full, nsteps,
                blowup, feedback, q_update, p_update, direct, drive_error, eta, lam, wd, eta_P,
                oja_scale):
    """Compiled :func:`_batch_steps` (the numba engine for every rule and depth); the rule's
    compiled functions arrive as one-element typed lists (:meth:`Rule.jitted`)."""
    return _batch_steps_jit(theta, offs, rows, cols, L, XT, YT, Sxx, Syx, Syy, idx, B, full,
                            nsteps, blowup, feedback[0], q_update[0], p_update[0], direct,
                            drive_error, eta, lam, wd, eta_P, oja_scale)


batch_steps_py = _batch_steps
"""The plain NumPy engine (the same code, interpreted)."""

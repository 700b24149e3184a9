"""Compiled (numba) kernels of the discrete learning rules of theory §3.

The kernels only do arithmetic, in place, on float64 arrays; the driver
(:func:`lintheory.sgd.run_sgd`) allocates, seeds, draws the sample order, shows the
progress bar and checks for divergence between calls. Every kernel takes the weights in
the *unrotated* frame and natural layout (``W1`` (k, n), ``W2`` (m, k), ``Q`` (k, r),
``P`` (r, m)), advances them by a number of steps and returns nothing.

Per sample (a mini-batch applies the *mean* of these over its samples; all updates of
one step use the pre-step weights)::

    h = W1 x,  yhat = W2 h,  e = y - yhat
    dW2 = eta e h^T - eta wd W2
    dW1 = eta a x^T - eta wd W1,      a = W2^T e (transport) or Q (P e)
    dQ  = eta h (P e)^T - eta lam Q                      (learns_Q)
    dP  = eta_P (P y) (y - P^T P y)^T = eta_P P y y^T (I - P^T P)   (learns_P)

Three kernels, one per way of forming a step:

* :func:`online_steps` - one sample per step, loops written out. Internally it keeps the
  transposes ``W1^T``, ``W2^T``, ``Q^T`` so that the big inner loops are unit-stride
  ``axpy``s, and it fuses the ``W1`` update of one step with ``h = W1 x`` of the next and
  the ``W2`` update with ``yhat = W2 h`` of the next (each of W1, W2 is read and written
  once per sample).
* :func:`minibatch_steps` - B samples per step, with ``np.dot`` (BLAS) on the gathered batch.
* :func:`full_steps` - all N samples per step. The mean update over the whole data set
  depends on the data only through ``Sigma_xx``, ``Sigma_yx``, ``Sigma_yy``, so a step costs
  O(k n (n + m)) instead of O(N k n): with ``G = Sigma_yx - W2 W1 Sigma_xx``,
  ``mean e h^T = G W1^T``, ``mean e x^T = G``, ``mean h (P e)^T = W1 G^T P^T``,
  ``mean P y y^T = P Sigma_yy``. (The NumPy reference forms the per-sample errors
  directly, so the tests check this algebra.)

``fastmath``: off for the BLAS kernels; ``{"reassoc", "contract"}`` for the online loop (see
``_JIT_LOOP``). All kernels match the NumPy reference to ~1e-14 (tests require 1e-10).
"""

from __future__ import annotations

import numba
import numpy as np

_JIT = {"cache": True, "nogil": True, "fastmath": False}
# The online loop allows reassociation (so its dot-product reductions vectorise; +50 % for BP
# at (100, 200, 50, 5)) and FMA contraction, but keeps IEEE NaN/inf semantics so that a
# divergent run still ends in non-finite weights. Measured agreement with the NumPy
# reference: ~5e-15 after 2e5 samples.
_JIT_LOOP = {**_JIT, "fastmath": {"reassoc", "contract"}}


@numba.njit(**_JIT_LOOP)
def _online_loop(W1T, W2T, QT, P, X, Y, idx, transport, learns_Q, learns_P,
                 eta, lam, wd, eta_P):
    """Per-sample SGD on transposed weights ``W1T`` (n, k), ``W2T`` (k, m), ``QT`` (r, k).

    Schedule of one step (pre-step weights for every update): ``e = y - yhat``; hidden
    error ``a``; Q and P updates; then one pass over ``W1`` that updates it and forms
    ``h' = W1' x'`` for the next sample, and one pass over ``W2`` that updates it and forms
    ``yhat' = W2' h'``. Each of W1, W2 is read and written once per sample.
    """
    n, k = W1T.shape
    m = W2T.shape[1]
    r = P.shape[0]
    h = np.zeros(k)
    hn = np.zeros(k)
    yhat = np.zeros(m)
    e = np.empty(m)
    a = np.empty(k)
    pe = np.empty(r)
    py = np.empty(r)
    z = np.empty(m)
    cw = 1.0 - eta * wd
    cq = 1.0 - eta * lam
    steps = idx.shape[0]
    if steps == 0:
        return
    # h = W1 x and yhat = W2 h for the first sample; later ones come from the update passes
    x = X[idx[0]]
    for i in range(n):
        xi = x[i]
        for j in range(k):
            h[j] += xi * W1T[i, j]
    for j in range(k):
        hj = h[j]
        for c in range(m):
            yhat[c] += hj * W2T[j, c]
    for t in range(steps):
        x = X[idx[t]]
        y = Y[idx[t]]
        last = t + 1 == steps
        for c in range(m):
            e[c] = y[c] - yhat[c]
        # hidden error a = W2^T e or Q (P e), then Q += eta h (Pe)^T - eta lam Q
        if transport:
            for j in range(k):
                s = 0.0
                for c in range(m):
                    s += W2T[j, c] * e[c]
                a[j] = s
        else:
            for q in range(r):
                s = 0.0
                for c in range(m):
                    s += P[q, c] * e[c]
                pe[q] = s
            for j in range(k):
                a[j] = 0.0
            for q in range(r):
                pq = pe[q]
                for j in range(k):
                    a[j] += pq * QT[q, j]
            if learns_Q:
                for q in range(r):
                    g = eta * pe[q]
                    for j in range(k):
                        QT[q, j] = cq * QT[q, j] + g * h[j]
        # Oja: P += eta_P (P y)(y - P^T P y)^T
        if learns_P:
            for q in range(r):
                s = 0.0
                for c in range(m):
                    s += P[q, c] * y[c]
                py[q] = s
            for c in range(m):
                z[c] = y[c]
            for q in range(r):
                pq = py[q]
                for c in range(m):
                    z[c] -= pq * P[q, c]
            for q in range(r):
                g = eta_P * py[q]
                for c in range(m):
                    P[q, c] += g * z[c]
        # W1 += eta a x^T - eta wd W1, fused with h' = W1' x'
        xn = X[idx[t + 1]] if not last else x
        for j in range(k):
            hn[j] = 0.0
        for i in range(n):
            g = eta * x[i]
            for j in range(k):
                W1T[i, j] = cw * W1T[i, j] + g * a[j]
            if not last:
                xi = xn[i]
                for j in range(k):
                    hn[j] += xi * W1T[i, j]
        # W2 += eta e h^T - eta wd W2, fused with yhat' = W2' h'
        for c in range(m):
            yhat[c] = 0.0
        for j in range(k):
            g = eta * h[j]
            for c in range(m):
                W2T[j, c] = cw * W2T[j, c] + g * e[c]
            if not last:
                hj = hn[j]
                for c in range(m):
                    yhat[c] += hj * W2T[j, c]
        h, hn = hn, h


def online_steps(W1, W2, Q, P, X, Y, idx, transport, learns_Q, learns_P, eta, lam, wd, eta_P):
    """Advance ``len(idx)`` single-sample steps in place, sample ``t`` being ``X[idx[t]]``.

    Parameters
    ----------
    W1 : (k, n)   W2 : (m, k)   Q : (k, r)   P : (r, m)
        Unrotated weights, updated in place.
    X : (N, n)   Y : (N, m)
        Inputs and targets, one sample per row.
    idx : (steps,) int64
        Sample order.
    transport, learns_Q, learns_P : bool
        The rule's switches.
    eta, lam, wd, eta_P : float
        Learning rate, Q decay, W1/W2 weight decay, Oja learning rate.
    """
    # plain Python: the transposes are cheap, and compiling them inside numba is not (~10 s)
    W1T = np.ascontiguousarray(W1.T)
    W2T = np.ascontiguousarray(W2.T)
    QT = np.ascontiguousarray(Q.T)
    _online_loop(W1T, W2T, QT, P, X, Y, idx, bool(transport), bool(learns_Q), bool(learns_P),
                 float(eta), float(lam), float(wd), float(eta_P))
    W1[...] = W1T.T
    W2[...] = W2T.T
    Q[...] = QT.T


@numba.njit(**_JIT)
def _decay_add(A, c, g, D):
    """``A = c A + g D`` in place, elementwise (2-D arrays of one shape).

    Explicit loops instead of NumPy array expressions: same arithmetic, much less to compile.
    """
    p, q = A.shape
    for i in range(p):
        for j in range(q):
            A[i, j] = c * A[i, j] + g * D[i, j]


@numba.njit(**_JIT)
def _apply_mean_update(W1, W2, Q, P, Ex, Eh, Hpe, C, transport, learns_Q, learns_P,
                       eta, lam, wd, eta_P):
    """One step from the batch means ``Ex = <e x^T>``, ``Eh = <e h^T>``, ``Hpe = <h (Pe)^T>``,
    ``C = <y y^T>`` (all pre-step), applied in place."""
    if transport:
        dW1 = np.dot(W2.T, Ex)
    else:
        dW1 = np.dot(Q, np.dot(P, Ex))
    if learns_P:
        dP = np.dot(P, C)                                   # P C
        _decay_add(dP, 1.0, -1.0, np.dot(np.dot(dP, P.T), P))  # P C - P C P^T P
        _decay_add(P, 1.0, eta_P, dP)
    if learns_Q:
        _decay_add(Q, 1.0 - eta * lam, eta, Hpe)
    _decay_add(W2, 1.0 - eta * wd, eta, Eh)
    _decay_add(W1, 1.0 - eta * wd, eta, dW1)


@numba.njit(**_JIT)
def minibatch_steps(W1, W2, Q, P, X, Y, idx, B, transport, learns_Q, learns_P,
                    eta, lam, wd, eta_P):
    """Advance ``len(idx) // B`` mini-batch steps in place; step ``s`` averages the per-sample
    updates over ``X[idx[s*B:(s+1)*B]]``. Arguments as :func:`online_steps`, plus the batch
    size ``B``."""
    n = X.shape[1]
    m = Y.shape[1]
    Xb = np.empty((B, n))
    Yb = np.empty((B, m))
    C = np.zeros((m, m))
    steps = idx.shape[0] // B
    inv = 1.0 / B
    for s in range(steps):
        for b in range(B):  # gather (explicit loops: slice assignment is slow to compile)
            i = idx[s * B + b]
            for c in range(n):
                Xb[b, c] = X[i, c]
            for c in range(m):
                Yb[b, c] = Y[i, c]
        H = np.dot(Xb, W1.T)                      # (B, k) rows h^T
        E = np.dot(H, W2.T)                       # (B, m) rows yhat^T ...
        _decay_add(E, -1.0, 1.0, Yb)              # ... then rows e^T = (y - yhat)^T
        Ex = np.dot(E.T, Xb)                      # B <e x^T>
        Eh = np.dot(E.T, H)                       # B <e h^T>
        Hpe = np.dot(H.T, np.dot(E, P.T))         # B <h (P e)^T>
        if learns_P:
            C = np.dot(Yb.T, Yb)                  # B <y y^T>
        for A in (Ex, Eh, Hpe, C):
            _decay_add(A, inv, 0.0, A)
        _apply_mean_update(W1, W2, Q, P, Ex, Eh, Hpe, C, transport, learns_Q, learns_P,
                           eta, lam, wd, eta_P)


@numba.njit(**_JIT)
def full_steps(W1, W2, Q, P, X, Y, steps, transport, learns_Q, learns_P,
               eta, lam, wd, eta_P):
    """Advance ``steps`` full-batch steps in place (mean update over all N samples), through
    the covariances ``Sigma_xx``, ``Sigma_yx``, ``Sigma_yy`` of ``X``, ``Y``."""
    inv = 1.0 / X.shape[0]
    Sxx = np.dot(X.T, X)
    Syx = np.dot(Y.T, X)
    Syy = np.dot(Y.T, Y)
    for A in (Sxx, Syx, Syy):
        _decay_add(A, inv, 0.0, A)
    for _ in range(steps):
        G = np.dot(W2, np.dot(W1, Sxx))           # W2 W1 Sxx ...
        _decay_add(G, -1.0, 1.0, Syx)             # ... G = Syx - W2 W1 Sxx = <e x^T>
        Eh = np.dot(G, W1.T)                      # <e h^T>
        Hpe = np.dot(W1, np.dot(G.T, P.T))        # <h (P e)^T>
        _apply_mean_update(W1, W2, Q, P, G, Eh, Hpe, Syy, transport, learns_Q, learns_P,
                           eta, lam, wd, eta_P)

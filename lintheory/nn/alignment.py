"""How well a layer's learned feedback matches what backpropagation would send.

:func:`feedback_alignment` reports, for one feedback rule and its layer's forward weight
``W``, the angle between ``B = Q P`` and ``W^T``, their norm ratio, how orthonormal ``P``
is, how far ``Q`` is from ``W^T P^T`` (the Kolen-Pollack target), and, given the errors
that reach the layer, the principal angles between ``P``'s rows and their top-r principal
directions. Used in the final report of :class:`lintheory.nn.models.Model`.
"""

from __future__ import annotations

import numpy as np

from .feedback import centred_scaled


def _angle(A, B) -> float:
    c = float((A * B).sum() / (np.linalg.norm(A) * np.linalg.norm(B) + 1e-30))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def feedback_alignment(name, fb, Wm, errors=None) -> dict:
    """Alignment numbers of one feedback rule against its layer's ``W^T``.

    ``angle_deg`` between ``B = Q P`` and ``W^T``; ``norm_ratio = |B| / |W^T|``;
    ``orth_err = |P P^T - I|_F``; ``q_dist = |Q - W^T P^T|_F / |W^T P^T|_F``; with
    ``errors (N, D)`` (or ``(B, C, H, W)``, channels taken as units) the cosines of the
    principal angles between P's rows and the top-r eigenvectors of the error covariance
    (centred and scaled as Oja sees it) and their mean square ``overlap``.
    """
    Wt = Wm.T.astype(np.float64)
    rep = {"name": name, "rule": fb.name, "rank": fb.rank, "angle_deg": None,
           "norm_ratio": None, "orth_err": None, "q_dist": None}
    if fb.transport:
        rep.update(angle_deg=0.0, norm_ratio=1.0)
        return rep
    B = fb.matrix(Wm).astype(np.float64)                # sign: sign(W)^T, no Q, P
    if not fb.direct:
        rep["angle_deg"] = _angle(B, Wt)
        rep["norm_ratio"] = float(np.linalg.norm(B) / (np.linalg.norm(Wt) + 1e-30))
        if fb.P is None and fb.Q is not None:            # P = I: Q itself should be W^T
            rep["q_dist"] = float(np.linalg.norm(B - Wt) / (np.linalg.norm(Wt) + 1e-30))
    # an Oja-learned P as wide as its source is stored as P = I (feedback.py)
    P = None if fb.P is None else fb.P.value.astype(np.float64)
    if P is None and fb.p_rule is not None:
        P = np.eye(fb.rank)
    if P is not None:
        r = P.shape[0]
        rep["orth_err"] = float(np.linalg.norm(P @ P.T - np.eye(r)))
        if not fb.direct:
            target = Wt @ P.T
            rep["q_dist"] = float(np.linalg.norm(fb.Q.value - target)
                                  / (np.linalg.norm(target) + 1e-30))
        if errors is not None:
            E = np.asarray(errors, np.float64)
            if E.ndim == 4:
                E = E.transpose(0, 2, 3, 1).reshape(-1, E.shape[1])
            E = E.reshape(-1, P.shape[1])
            Ec = centred_scaled(E, fb.hyper["cov_eps"])
            evals, evecs = np.linalg.eigh(Ec.T @ Ec / Ec.shape[0])
            top = evecs[:, ::-1][:, :r]
            basis = np.linalg.qr(P.T)[0]
            cos = np.clip(np.linalg.svd(top.T @ basis, compute_uv=False), 0.0, 1.0)
            rep["principal_cos"] = cos.tolist()
            rep["principal_angles_deg"] = np.degrees(np.arccos(cos)).tolist()
            rep["overlap"] = float(np.mean(cos ** 2))
    return rep

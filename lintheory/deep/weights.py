"""Weights of a deep linear network and the SVD rotation of its first and last layer.

Conventions (they reduce to :class:`lintheory.weights.Weights` at depth 2)::

    dims  = (n, k_1, ..., k_{L-1}, m)
    Ws[i] : (dims[i+1], dims[i])        W_{i+1}, i = 0 .. L-1   (W_1 = Ws[0], W_L = Ws[-1])
    Qs[j] : (dims[j+1], r_j)            feedback j = 0 .. L-2 delivers the error to the
    Ps[j] : (r_j, dims[j+2])  layered   output of Ws[j] (it is B_{j+2} = Q_{j+2} P_{j+2} of
            (r_j, m)          direct    SPEC §6); a direct rule's P reads the output error.

Rotation (SPEC §4 A14, A37, applied only where it applies): ``W_1bar = W_1 V``,
``W_Lbar = U^T W_L``, and every ``P`` that reads the *output* error gets ``Pbar = P U``
(the last one for layered rules, all of them for direct rules). Hidden layers, all ``Q``
and the hidden-layer ``P`` of layered rules touch neither input nor output and are not
rotated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_array


@dataclass(frozen=True, eq=False)
class DeepWeights:
    """Forward and feedback weights of a depth-``L`` linear network.

    Attributes
    ----------
    Ws : tuple of L arrays    Qs, Ps : tuples of L-1 arrays    (shapes in the module doc)
    rotated : bool
        True for ``W_1 V``, ``U^T W_L`` and output-reading ``P U``.
    direct : bool
        True when every ``P`` reads the output error (dRAF, DFA), so ``Ps[j]`` is r_j x m.
    """

    Ws: tuple
    Qs: tuple
    Ps: tuple
    rotated: bool = False
    direct: bool = False

    def __post_init__(self):
        Ws = tuple(np.ascontiguousarray(check_array(f"W_{i + 1}", w))
                   for i, w in enumerate(self.Ws))
        L = len(Ws)
        if L < 2:
            raise ValueError(f"a deep network needs at least 2 weight matrices, got {L}")
        if len(self.Qs) != L - 1 or len(self.Ps) != L - 1:
            raise ValueError(f"depth {L} needs {L - 1} Q and P matrices, got "
                             f"{len(self.Qs)} and {len(self.Ps)}")
        dims = [Ws[0].shape[1]] + [w.shape[0] for w in Ws]
        for i, w in enumerate(Ws):
            if w.ndim != 2 or w.shape[1] != dims[i]:
                raise ValueError(f"W_{i + 1} must have {dims[i]} columns (the width below it), "
                                 f"got shape {w.shape}")
        Qs, Ps = [], []
        for j, (q, p) in enumerate(zip(self.Qs, self.Ps)):
            p = np.asarray(p, dtype=np.float64)
            r = p.shape[0]
            cols = dims[-1] if self.direct else dims[j + 2]
            Qs.append(np.ascontiguousarray(check_array(f"Q_{j + 2}", q, (dims[j + 1], r))))
            Ps.append(np.ascontiguousarray(check_array(f"P_{j + 2}", p, (r, cols))))
        object.__setattr__(self, "Ws", Ws)
        object.__setattr__(self, "Qs", tuple(Qs))
        object.__setattr__(self, "Ps", tuple(Ps))

    # -- shape ---------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Number of weight matrices L."""
        return len(self.Ws)

    @property
    def dims(self) -> tuple[int, ...]:
        """``(n, k_1, ..., k_{L-1}, m)``."""
        return (self.Ws[0].shape[1],) + tuple(w.shape[0] for w in self.Ws)

    @property
    def widths(self) -> tuple[int, ...]:
        """Hidden widths ``(k_1, ..., k_{L-1})``."""
        return self.dims[1:-1]

    @property
    def ranks(self) -> tuple[int, ...]:
        """Feedback ranks ``(r_2, ..., r_L)`` (one per feedback pathway)."""
        return tuple(p.shape[0] for p in self.Ps)

    @property
    def M(self) -> np.ndarray:
        """End-to-end map ``W_L ... W_1`` (m x n), in this object's frame."""
        M = self.Ws[0]
        for w in self.Ws[1:]:
            M = w @ M
        return M

    def check_task(self, task) -> None:
        """Raise ``ValueError`` unless ``n`` and ``m`` match ``task``."""
        n, m = self.dims[0], self.dims[-1]
        if n != task.n or m != task.m:
            raise ValueError(f"weights are for n={n}, m={m} but the task has n={task.n}, "
                             f"m={task.m} (W_1 must be k_1 x n, W_L m x k_(L-1))")

    # -- rotation ------------------------------------------------------------------------
    def _rotated(self, V, U, flag: bool) -> DeepWeights:
        Ws = list(self.Ws)
        Ws[0] = Ws[0] @ V
        Ws[-1] = U.T @ Ws[-1]
        Ps = list(self.Ps)
        outs = range(len(Ps)) if self.direct else (len(Ps) - 1,)
        for j in outs:
            Ps[j] = Ps[j] @ U
        return DeepWeights(tuple(Ws), self.Qs, tuple(Ps), flag, self.direct)

    def rotate(self, task) -> DeepWeights:
        """Rotate into the SVD frame of ``task.Sigma_yx`` (no-op if already rotated)."""
        return self if self.rotated else self._rotated(task.V, task.U, True)

    def unrotate(self, task) -> DeepWeights:
        """Undo :meth:`rotate`."""
        return self if not self.rotated else self._rotated(task.V.T, task.U.T, False)

    # -- flat state ----------------------------------------------------------------------
    @property
    def arrays(self) -> tuple:
        """``Ws + Qs + Ps`` in the order of :meth:`pack`."""
        return self.Ws + self.Qs + self.Ps

    def pack(self) -> np.ndarray:
        """All matrices, flattened and concatenated (ODE / SGD state)."""
        return np.concatenate([a.ravel() for a in self.arrays])

    def unpack(self, y: np.ndarray) -> tuple[list, list, list]:
        """Split a flat vector shaped like :meth:`pack` into views ``(Ws, Qs, Ps)``."""
        out, i = [], 0
        for a in self.arrays:
            out.append(y[i : i + a.size].reshape(a.shape))
            i += a.size
        L = self.depth
        return out[:L], out[L : 2 * L - 1], out[2 * L - 1 :]

    def replace(self, y: np.ndarray, rotated: bool | None = None) -> DeepWeights:
        """New weights of this shape from a flat vector (copied)."""
        Ws, Qs, Ps = self.unpack(np.array(y, dtype=np.float64))
        return DeepWeights(tuple(Ws), tuple(Qs), tuple(Ps),
                           self.rotated if rotated is None else rotated, self.direct)

    # -- depth 2 <-> two-layer Weights ---------------------------------------------------
    @classmethod
    def from_weights(cls, w) -> DeepWeights:
        """The depth-2 network of a two-layer :class:`lintheory.weights.Weights`."""
        return cls((w.W1, w.W2), (w.Q,), (w.P,), w.rotated, False)

    def to_weights(self):
        """The two-layer :class:`lintheory.weights.Weights` of a depth-2 network."""
        from ..weights import Weights

        if self.depth != 2:
            raise ValueError(f"only a depth-2 network maps onto Weights, this one has depth "
                             f"{self.depth}")
        return Weights(self.Ws[0], self.Ws[1], self.Qs[0], self.Ps[0], self.rotated)

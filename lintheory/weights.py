"""Weights of a linear network of any depth and the SVD rotation of its first and last layer.

Conventions (depth 2 is the paper's network: ``W1 (k, n)``, ``W2 (m, k)``, ``Q (k, r)``,
``P (r, m)``)::

    dims  = (n, k_1, ..., k_{L-1}, m)
    Ws[i] : (dims[i+1], dims[i])        W_{i+1}, i = 0 .. L-1   (W_1 = Ws[0], W_L = Ws[-1])
    Qs[j] : (dims[j+1], r_j)            feedback pathway j = 0 .. L-2 delivers the error to
    Ps[j] : (r_j, dims[j+2])  layered   the output of Ws[j] (B_{j+2} = Q_{j+2} P_{j+2} in
            (r_j, m)          direct    1-based names); a direct rule's P reads the output error.

Rotation (``derivations/02_rotation.md``; paper A14, A37), applied only where it applies:
``W_1bar = W_1 V``, ``W_Lbar = U^T W_L``, and every ``P`` that reads the *output* error gets
``Pbar = P U`` (the last one for layered rules, all of them for direct rules). Hidden
layers, every ``Q`` and the hidden-layer ``P`` of layered rules are not rotated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_array


class TwoLayerNames:
    """The paper's names ``W1``, ``W2``, ``Q``, ``P`` for an object holding ``Ws``, ``Qs``,
    ``Ps`` of depth 2 (:class:`Weights`, and :class:`lintheory.trajectory.Trajectory`,
    whose arrays carry a leading time axis). Deeper objects raise ``ValueError``."""

    def _two(self, name, value):
        if len(self.Ws) != 2:
            raise ValueError(f"{name} names a matrix of the two-layer network; this one has "
                             f"depth {len(self.Ws)} (use Ws, Qs, Ps)")
        return value

    @property
    def W1(self) -> np.ndarray:
        """``W1 (k, n)`` (input -> hidden) of a depth-2 network."""
        return self._two("W1", self.Ws[0])

    @property
    def W2(self) -> np.ndarray:
        """``W2 (m, k)`` (hidden -> output) of a depth-2 network."""
        return self._two("W2", self.Ws[-1])

    @property
    def Q(self) -> np.ndarray:
        """``Q (k, r)`` (feedback mixing) of a depth-2 network."""
        return self._two("Q", self.Qs[0])

    @property
    def P(self) -> np.ndarray:
        """``P (r, m)`` (feedback projection) of a depth-2 network."""
        return self._two("P", self.Ps[0])


@dataclass(frozen=True, eq=False)
class Weights(TwoLayerNames):
    """Forward and feedback weights of a depth-``L`` linear network (``L >= 2``).

    Attributes
    ----------
    Ws : tuple of L arrays    Qs, Ps : tuples of L-1 arrays    (shapes in the module doc)
    rotated : bool
        True for ``W_1 V``, ``U^T W_L`` and output-reading ``P U``.
    direct : bool
        True when every ``P`` reads the output error (dRAF, DFA), so ``Ps[j]`` is r_j x m.

    At depth 2, ``W1``, ``W2``, ``Q``, ``P`` name the four matrices; build such weights
    with :meth:`two_layer`.
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
            raise ValueError(f"a network needs at least 2 weight matrices, got {L}")
        if len(self.Qs) != L - 1 or len(self.Ps) != L - 1:
            raise ValueError(f"depth {L} needs {L - 1} Q and P matrices, got "
                             f"{len(self.Qs)} and {len(self.Ps)}")
        for i, w in enumerate(Ws):
            if w.ndim != 2:
                raise ValueError(f"W_{i + 1} must be a matrix (2-D array), got shape {w.shape}")
        dims = [Ws[0].shape[1]] + [w.shape[0] for w in Ws]
        for i, w in enumerate(Ws):
            if w.ndim != 2 or w.shape[1] != dims[i]:
                raise ValueError(f"W_{i + 1} must have {dims[i]} columns (the width below it), "
                                 f"got shape {w.shape}")
        Qs, Ps = [], []
        for j, (q, p) in enumerate(zip(self.Qs, self.Ps)):
            p = np.asarray(p, dtype=np.float64)
            r = p.shape[0] if p.ndim == 2 else -1
            cols = dims[-1] if self.direct else dims[j + 2]
            Qs.append(np.ascontiguousarray(check_array(f"Q_{j + 2}", q, (dims[j + 1], r))))
            Ps.append(np.ascontiguousarray(check_array(f"P_{j + 2}", p, (r, cols))))
        object.__setattr__(self, "Ws", Ws)
        object.__setattr__(self, "Qs", tuple(Qs))
        object.__setattr__(self, "Ps", tuple(Ps))

    @classmethod
    def two_layer(cls, W1, W2, Q, P, rotated: bool = False) -> Weights:
        """The paper's network: ``W1 (k, n)``, ``W2 (m, k)``, ``Q (k, r)``, ``P (r, m)``."""
        return cls((W1, W2), (Q,), (P,), rotated, False)

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
    def shape(self) -> dict:
        """``{"n", "k", "m", "r"}`` (depth 2) or ``{"dims", "ranks"}``."""
        if self.depth == 2:
            return {"n": self.dims[0], "k": self.dims[1], "m": self.dims[2],
                    "r": self.ranks[0]}
        return {"dims": self.dims, "ranks": self.ranks}

    @property
    def M(self) -> np.ndarray:
        """End-to-end map ``W_L ... W_1`` (m x n), in this object's frame."""
        M = self.Ws[0]
        for w in self.Ws[1:]:
            M = w @ M
        return M

    def check_task(self, task) -> None:
        """Raise ``ValueError`` unless ``task`` is a task (a
        :class:`~lintheory.task.LinearTask`) whose ``n`` and ``m`` match these weights."""
        from .task import LinearTask

        if not isinstance(task, LinearTask):
            raise ValueError(f"task must be a lintheory.task.LinearTask (from make_task), "
                             f"got {type(task).__name__}")
        n, m = self.dims[0], self.dims[-1]
        if n != task.n or m != task.m:
            raise ValueError(f"weights are for n={n}, m={m} but the task has n={task.n}, "
                             f"m={task.m} (W_1 must be k_1 x n, W_L m x k_(L-1), the "
                             f"output-reading P r x m)")

    # -- rotation ------------------------------------------------------------------------
    def _rotated(self, V, U, flag: bool) -> Weights:
        Ws = list(self.Ws)
        Ws[0] = Ws[0] @ V
        Ws[-1] = U.T @ Ws[-1]
        Ps = list(self.Ps)
        outs = range(len(Ps)) if self.direct else (len(Ps) - 1,)
        for j in outs:
            Ps[j] = Ps[j] @ U
        return Weights(tuple(Ws), self.Qs, tuple(Ps), flag, self.direct)

    def rotate(self, task) -> Weights:
        """Rotate into the SVD frame of ``task.Sigma_yx`` (no-op if already rotated)."""
        return self if self.rotated else self._rotated(task.V, task.U, True)

    def unrotate(self, task) -> Weights:
        """Undo :meth:`rotate`."""
        return self if not self.rotated else self._rotated(task.V.T, task.U.T, False)

    def in_frame(self, task, rotated: bool) -> Weights:
        """These weights rotated (``rotated=True``) or unrotated."""
        return self.rotate(task) if rotated else self.unrotate(task)

    # -- flat state ----------------------------------------------------------------------
    @property
    def arrays(self) -> tuple:
        """``Ws + Qs + Ps`` in the order of :meth:`pack`."""
        return self.Ws + self.Qs + self.Ps

    def pack(self) -> np.ndarray:
        """All matrices, flattened and concatenated (ODE / SGD state)."""
        return np.concatenate([a.ravel() for a in self.arrays])

    def layout(self):
        """``(offs, rows, cols)`` int64 arrays locating each matrix of :meth:`pack`."""
        rows = np.array([a.shape[0] for a in self.arrays], dtype=np.int64)
        cols = np.array([a.shape[1] for a in self.arrays], dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(rows * cols)[:-1]]).astype(np.int64)
        return offs, rows, cols

    def unpack(self, y: np.ndarray) -> tuple[list, list, list]:
        """Split a flat vector shaped like :meth:`pack` into views ``(Ws, Qs, Ps)``."""
        out, i = [], 0
        for a in self.arrays:
            out.append(y[i : i + a.size].reshape(a.shape))
            i += a.size
        L = self.depth
        return out[:L], out[L : 2 * L - 1], out[2 * L - 1 :]

    def replace(self, y: np.ndarray, rotated: bool | None = None) -> Weights:
        """New weights of this shape from a flat vector (copied)."""
        Ws, Qs, Ps = self.unpack(np.array(y, dtype=np.float64))
        return Weights(tuple(Ws), tuple(Qs), tuple(Ps),
                       self.rotated if rotated is None else rotated, self.direct)

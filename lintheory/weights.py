"""The weights of the two-layer linear network and the SVD rotation (SPEC §4, A14, A37)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_array, check_int


@dataclass(frozen=True, eq=False)
class Weights:
    """Forward and feedback weights of the two-layer linear network (SPEC §1, §4).

    Attributes
    ----------
    W1 : (k, n)   input -> hidden
    W2 : (m, k)   hidden -> output
    Q  : (k, r)   feedback mixing factor
    P  : (r, m)   feedback projection factor (``B = Q P``)
    rotated : bool
        True when these are ``W1bar = W1 V``, ``W2bar = U^T W2``, ``Q``, ``Pbar = P U``.
    """

    W1: np.ndarray
    W2: np.ndarray
    Q: np.ndarray
    P: np.ndarray
    rotated: bool = False

    def __post_init__(self):
        k, n = np.shape(self.W1)
        m = np.shape(self.W2)[0]
        r = np.shape(self.P)[0]
        for name, arr, shape in (
            ("W1", self.W1, (k, n)), ("W2", self.W2, (m, k)),
            ("Q", self.Q, (k, r)), ("P", self.P, (r, m)),
        ):
            object.__setattr__(self, name, np.ascontiguousarray(check_array(name, arr, shape)))

    @property
    def shape(self) -> dict:
        """``{"n", "k", "m", "r"}``."""
        k, n = self.W1.shape
        return {"n": n, "k": k, "m": self.W2.shape[0], "r": self.P.shape[0]}

    def rotate(self, task) -> Weights:
        """Rotate into the SVD frame of ``task.Sigma_yx`` (no-op if already rotated)."""
        if self.rotated:
            return self
        return Weights(self.W1 @ task.V, task.U.T @ self.W2, self.Q, self.P @ task.U, True)

    def unrotate(self, task) -> Weights:
        """Undo :meth:`rotate`."""
        if not self.rotated:
            return self
        return Weights(self.W1 @ task.V.T, task.U @ self.W2, self.Q, self.P @ task.U.T, False)

    def check_task(self, task) -> None:
        """Raise ``ValueError`` if the shapes do not fit ``task`` (n and m)."""
        sh = self.shape
        if sh["n"] != task.n or sh["m"] != task.m:
            raise ValueError(
                f"weights are for n={sh['n']}, m={sh['m']} but the task has "
                f"n={task.n}, m={task.m} (W1 must be k x n, W2 m x k, P r x m)"
            )

    def pack(self) -> np.ndarray:
        """Concatenate ``W1, W2, Q, P`` into one flat vector (ODE state)."""
        return np.concatenate([self.W1.ravel(), self.W2.ravel(), self.Q.ravel(), self.P.ravel()])

    def unpack(self, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Split a flat vector shaped like :meth:`pack` into views ``(W1, W2, Q, P)``."""
        out, i = [], 0
        for a in (self.W1, self.W2, self.Q, self.P):
            out.append(y[i : i + a.size].reshape(a.shape))
            i += a.size
        return tuple(out)


def check_sizes(task, k: int, r: int) -> tuple[int, int]:
    """Validate hidden width ``k >= 1`` and feedback rank ``1 <= r <= m``."""
    k = check_int("k (hidden width)", k, low=1)
    r = check_int("rank r", r, low=1, high=task.m)
    return k, r

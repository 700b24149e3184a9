"""One result type for every engine (ODE, discrete SGD) of the linear theory."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import metrics
from .weights import Weights


class ModeMetrics:
    """Metrics of SPEC §4 for any result type with ``times``, ``task`` and ``M`` (T, m, n).

    Shared by :class:`Trajectory` and :class:`lintheory.deep.DeepTrajectory`, whose ``M``
    is the rotated end-to-end map ``W2bar W1bar`` or ``W_Lbar ... W_1bar``.
    """

    @property
    def mode_strengths(self) -> np.ndarray:
        """``a_i(t)``, (T, d)."""
        return metrics.mode_strengths(self.M, self.task.s, self.task.d)

    @property
    def leak(self) -> np.ndarray:
        """Off-diagonal leak over time, (T,)."""
        return metrics.offdiag_leak(self.M, self.task.S)

    @property
    def alignment(self) -> np.ndarray:
        """Singular-vector alignment with ``Sigma_yx``, (T, d)."""
        return metrics.alignment(self.M, self.task.d)

    @property
    def loss(self) -> np.ndarray:
        """Training loss over time, (T,)."""
        return metrics.loss(self.M, self.task)

    def summary(self) -> dict:
        """JSON-ready metrics (lists of floats), the same keys for every depth."""
        return {
            "times": self.times.tolist(),
            "mode_strengths": self.mode_strengths.tolist(),
            "leak": self.leak.tolist(),
            "alignment": self.alignment.tolist(),
            "loss": self.loss.tolist(),
        }


@dataclass(frozen=True, eq=False)
class Trajectory(ModeMetrics):
    """Weights over time, always stored in the rotated frame, with their metrics.

    The rotation is SPEC §4 (A14, A37); mode strengths ``a_i``, leak and alignment are
    the SPEC §4 metrics, ``loss`` the SPEC §3 loss (paper Eq. 3).

    Attributes
    ----------
    times : (T,) array
        Output times ``t`` (``t = lr * steps`` for discrete runs).
    W1 : (T, k, n)   W2 : (T, m, k)   Q : (T, k, r)   P : (T, r, m)
        Rotated weights ``W1bar``, ``W2bar``, ``Q``, ``Pbar`` at each time.
    rule : str
    method : str
        ``"ode"`` or ``"sgd"``.
    task : LinearTask
    info : dict
        Engine settings (solver, tolerances, learning rate, batch, steps...).
    """

    times: np.ndarray
    W1: np.ndarray
    W2: np.ndarray
    Q: np.ndarray
    P: np.ndarray
    rule: str
    method: str
    task: object = field(repr=False)
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.times)

    def weights(self, i: int = -1) -> Weights:
        """Rotated :class:`Weights` at output index ``i``."""
        return Weights(self.W1[i], self.W2[i], self.Q[i], self.P[i], rotated=True)

    @cached_property
    def M(self) -> np.ndarray:
        """``W2bar W1bar`` over time, (T, m, n)."""
        return metrics.product(self.W1, self.W2)

    def arrays(self, prefix: str = "") -> dict:
        """The rotated weights as NPZ-ready arrays: ``W1bar, W2bar, Q, Pbar`` (prefixed)."""
        return {
            f"{prefix}W1bar": self.W1, f"{prefix}W2bar": self.W2,
            f"{prefix}Q": self.Q, f"{prefix}Pbar": self.P, f"{prefix}times": self.times,
        }

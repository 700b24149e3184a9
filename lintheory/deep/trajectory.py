"""One result type for deep runs (ODE and SGD), with the two-layer metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..trajectory import ModeMetrics
from .weights import DeepWeights


@dataclass(frozen=True, eq=False)
class DeepTrajectory(ModeMetrics):
    """Weights of a depth-``L`` network over time, stored in the rotated frame.

    Attributes
    ----------
    times : (T,) array
        Output times (``t = lr * steps`` for discrete runs).
    Ws : tuple of L arrays (T, dims[i+1], dims[i])
        ``W_1bar``, hidden ``W_l``, ``W_Lbar`` over time.
    Qs, Ps : tuples of L-1 arrays (T, ...)
        Feedback factors over time (output-reading ``P`` rotated).
    rule, method : str
        Rule name and ``"ode"`` or ``"sgd"``.
    task : LinearTask
    direct : bool
        Whether ``Ps`` read the output error (dRAF, DFA).
    info : dict
        Engine settings.

    ``M``, ``mode_strengths``, ``leak``, ``alignment``, ``loss`` and ``summary()`` are those
    of :class:`lintheory.trajectory.Trajectory` applied to ``M = W_Lbar ... W_1bar``.
    """

    times: np.ndarray
    Ws: tuple
    Qs: tuple
    Ps: tuple
    rule: str
    method: str
    task: object = field(repr=False)
    direct: bool = False
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def depth(self) -> int:
        """Number of weight matrices L."""
        return len(self.Ws)

    def weights(self, i: int = -1) -> DeepWeights:
        """Rotated :class:`DeepWeights` at output index ``i``."""
        return DeepWeights(tuple(w[i] for w in self.Ws), tuple(q[i] for q in self.Qs),
                           tuple(p[i] for p in self.Ps), rotated=True, direct=self.direct)

    @cached_property
    def M(self) -> np.ndarray:
        """``W_Lbar ... W_1bar`` over time, (T, m, n)."""
        M = self.Ws[0]
        for w in self.Ws[1:]:
            M = w @ M
        return M

    def arrays(self, prefix: str = "") -> dict:
        """NPZ-ready arrays ``W1bar, W2, ..., WLbar, Q2.., P2..`` (1-based SPEC names)."""
        out = {f"{prefix}times": self.times}
        for i, w in enumerate(self.Ws):
            out[f"{prefix}W{i + 1}"] = w
        for j, (q, p) in enumerate(zip(self.Qs, self.Ps)):
            out[f"{prefix}Q{j + 2}"] = q
            out[f"{prefix}P{j + 2}"] = p
        return out

    def to_trajectory(self):
        """The two-layer :class:`lintheory.trajectory.Trajectory` of a depth-2 run."""
        from ..trajectory import Trajectory

        if self.depth != 2:
            raise ValueError(f"only depth-2 runs map onto Trajectory, this one has depth "
                             f"{self.depth}")
        return Trajectory(self.times, self.Ws[0], self.Ws[1], self.Qs[0], self.Ps[0],
                          rule=self.rule, method=self.method, task=self.task, info=self.info)

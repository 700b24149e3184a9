"""One result type for every depth and engine (ODE, discrete SGD) of the linear theory."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import metrics
from .weights import TwoLayerNames, Weights


class ModeMetrics:
    """Metrics of theory §4 for any result type with ``times``, ``task`` and ``M`` (T, m, n).

    ``M`` is the rotated end-to-end map ``W_Lbar ... W_1bar``.
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
class Trajectory(ModeMetrics, TwoLayerNames):
    """Weights of a depth-``L`` network over time, stored in the rotated frame.

    One type for every depth and engine (ODE, SGD). The rotation is that of
    :class:`lintheory.weights.Weights`; mode strengths ``a_i``, leak and alignment are
    the metrics of :mod:`lintheory.metrics` on the rotated end-to-end map.

    Attributes
    ----------
    times : (T,) array
        Output times ``t`` (``t = lr * steps`` for discrete runs).
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
        Engine settings (solver, tolerances, learning rate, batch, steps...).

    At depth 2, ``W1 (T, k, n)``, ``W2 (T, m, k)``, ``Q (T, k, r)``, ``P (T, r, m)`` are
    ``W1bar``, ``W2bar``, ``Q``, ``Pbar``.
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

    def weights(self, i: int = -1) -> Weights:
        """Rotated :class:`Weights` at output index ``i``."""
        return Weights(tuple(w[i] for w in self.Ws), tuple(q[i] for q in self.Qs),
                       tuple(p[i] for p in self.Ps), rotated=True, direct=self.direct)

    @cached_property
    def M(self) -> np.ndarray:
        """``W_Lbar ... W_1bar`` over time, (T, m, n)."""
        M = self.Ws[0]
        for w in self.Ws[1:]:
            M = w @ M
        return M

    def arrays(self, prefix: str = "") -> dict:
        """NPZ-ready arrays: ``W1bar, W2bar, Q, Pbar`` at depth 2, else
        ``W1, ..., WL, Q2.., P2..`` (1-based names), and ``times``."""
        out = {f"{prefix}times": self.times}
        if self.depth == 2:
            out.update({f"{prefix}W1bar": self.Ws[0], f"{prefix}W2bar": self.Ws[1],
                        f"{prefix}Q": self.Qs[0], f"{prefix}Pbar": self.Ps[0]})
            return out
        for i, w in enumerate(self.Ws):
            out[f"{prefix}W{i + 1}"] = w
        for j, (q, p) in enumerate(zip(self.Qs, self.Ps)):
            out[f"{prefix}Q{j + 2}"] = q
            out[f"{prefix}P{j + 2}"] = p
        return out


def stack_states(task, rule_name, template: Weights, times, states, method, info):
    """A :class:`Trajectory` from flat *rotated* states ``(T, size)`` shaped like
    ``template.pack()``."""
    T = len(times)
    states = np.asarray(states)
    L = template.depth
    stacks = [np.empty((T,) + a.shape) for a in template.arrays]
    for j in range(T):
        Ws, Qs, Ps = template.unpack(states[j])
        for stack, a in zip(stacks, (*Ws, *Qs, *Ps)):
            stack[j] = a
    return Trajectory(np.asarray(times, dtype=np.float64), tuple(stacks[:L]),
                      tuple(stacks[L : 2 * L - 1]), tuple(stacks[2 * L - 1 :]),
                      rule=rule_name, method=method, task=task, direct=template.direct,
                      info=info)

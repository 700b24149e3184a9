"""Optimisers over lists of :class:`~lintheory.nn.base.Param` (in place, dtype kept).

Forward and feedback parameters can share one optimiser (the feedback ``grad`` is the
rule's update as a pseudo-gradient) or use separate ones with their own settings::

    opt = Adam(model.params(), lr=1e-3, amsgrad=True)
    opt_fb = Adam(model.feedback_params(), lr=1e-4)
"""

from __future__ import annotations

import numpy as np

from .._validate import check_float


def _check_params(params):
    params = list(params)
    for p in params:
        if not hasattr(p, "value") or not hasattr(p, "grad"):
            raise ValueError(f"params must be Param objects, got {type(p).__name__}")
    return params


class Optimizer:
    """Base class: a parameter list, learning rate ``lr`` and coupled L2 ``weight_decay``."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        self.params = _check_params(params)
        self.lr = check_float("lr", lr, low=0.0, low_open=True)
        self.weight_decay = check_float("weight_decay", weight_decay, low=0.0)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to zero."""
        for p in self.params:
            p.grad[...] = 0

    def _grad(self, p):
        """Gradient with L2 weight decay added (coupled, as torch's ``weight_decay``)."""
        return p.grad if self.weight_decay == 0 else p.grad + self.weight_decay * p.value


class SGD(Optimizer):
    """``v = momentum v + g``; ``value -= lr v``."""

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = check_float("momentum", momentum, low=0.0, high=1.0)
        self._v = [np.zeros_like(p.value) for p in self.params] if momentum else None

    def step(self) -> None:
        """One update of every parameter from its ``grad`` (in place)."""
        for i, p in enumerate(self.params):
            g = self._grad(p)
            if self._v is not None:
                v = self._v[i]
                v *= self.momentum
                v += g
                g = v
            p.value -= np.asarray(self.lr * g, dtype=p.value.dtype)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with optional AMSGrad and L2 weight decay (torch semantics)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, lr, weight_decay)
        b1, b2 = betas
        self.b1 = check_float("betas[0]", b1, low=0.0, high=1.0)
        self.b2 = check_float("betas[1]", b2, low=0.0, high=1.0)
        if self.b1 >= 1 or self.b2 >= 1:
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.eps = check_float("eps", eps, low=0.0, low_open=True)
        self.amsgrad = bool(amsgrad)
        self.t = 0
        self._m = [np.zeros_like(p.value) for p in self.params]
        self._v = [np.zeros_like(p.value) for p in self.params]
        self._vmax = [np.zeros_like(p.value) for p in self.params] if amsgrad else None

    def step(self) -> None:
        """One bias-corrected Adam (or AMSGrad) update of every parameter (in place)."""
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for i, p in enumerate(self.params):
            g = self._grad(p)
            m, v = self._m[i], self._v[i]
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * (g * g)
            if self._vmax is not None:
                np.maximum(self._vmax[i], v, out=self._vmax[i])
                v = self._vmax[i]
            denom = np.sqrt(v / c2) + self.eps
            p.value -= (self.lr / c1) * m / denom


class ExponentialDecay:
    """Multiply the optimiser's learning rate by ``gamma`` at every ``step()``."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.optimizer = optimizer
        self.gamma = check_float("gamma", gamma, low=0.0, low_open=True, high=1.0)

    def step(self) -> None:
        """``lr *= gamma``."""
        self.optimizer.lr *= self.gamma

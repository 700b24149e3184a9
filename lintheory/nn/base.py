"""Building blocks shared by every layer: parameters, the layer protocol, pass contexts.

Sign convention (theory §6): the quantity passed backwards is the *error*
``e = -dL/da`` of a layer's output ``a``; every layer's ``backward`` maps the error at its
output to the error at its input. A parameter's ``grad`` holds ``dL/dvalue`` (so an
optimiser *descends*: ``value -= lr * grad``). For a Linear layer ``grad_W = -e^T h``
summed over the batch (the error already carries the ``1/B`` of a mean loss).

Nothing a backward pass needs is kept on the layer: ``forward`` returns ``(output, cache)``
and ``backward(e, cache, ctx)`` receives that cache explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class Param:
    """A trainable array with its gradient.

    Attributes
    ----------
    value : ndarray
        The parameter (updated in place by the optimisers).
    grad : ndarray
        Same shape and dtype; ``dL/dvalue`` for forward parameters, ``-Delta/eta`` (the
        rule's update as a pseudo-gradient) for feedback parameters.
    name : str
        Dotted name, e.g. ``"fc2.W"`` or ``"fc2.fb.Q"``.
    kind : {"forward", "feedback"}
    """

    __slots__ = ("value", "grad", "name", "kind")

    def __init__(self, value: np.ndarray, name: str, kind: str = "forward"):
        if kind not in ("forward", "feedback"):
            raise ValueError(f"kind must be 'forward' or 'feedback', got {kind!r}")
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.kind = kind

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``value``."""
        return self.value.shape

    def __repr__(self) -> str:
        return f"Param({self.name!r}, shape={self.value.shape}, kind={self.kind!r})"


@dataclass
class ForwardContext:
    """What a forward pass needs besides the input: the train flag and the dropout rng."""

    train: bool
    rng: np.random.Generator | None = None


@dataclass
class BackwardContext:
    """What a backward pass needs besides the error and the caches.

    ``e_output`` is the error at the logits ``(B, C)``; ``targets`` the one-hot targets
    (drive Oja's rule at the output layer, theory §6); ``errors`` collects the error at every
    weight layer's output (keyed by layer name) as the pass reaches it, which is where
    direct rules read the penultimate layer's error from. With ``compare_bp`` every
    feedback layer also stores in ``bp_cosines`` the cosine between the input error its
    rule sends and ``W^T e`` (what BP would send from the same ``e``).
    """

    e_output: np.ndarray
    targets: np.ndarray | None = None
    penultimate: str | None = None
    errors: dict[str, np.ndarray] = field(default_factory=dict)
    compare_bp: bool = False
    bp_cosines: dict[str, float] = field(default_factory=dict)

    def source_error(self, source: str) -> np.ndarray:
        """The error a direct rule reads: ``"output"`` or ``"penultimate"``, shape (B, D)."""
        if source == "output":
            return self.e_output
        if self.penultimate is None or self.penultimate not in self.errors:
            raise ValueError(
                "source='penultimate' needs a model with at least two weight layers above "
                "this one; use source='output'"
            )
        e = self.errors[self.penultimate]
        return e.reshape(e.shape[0], -1)


class Layer:
    """Protocol: ``forward(x, ctx) -> (y, cache)``; ``backward(e, cache, ctx) -> e_in``.

    ``backward`` returns ``None`` when no input error is needed (the first weight layer).
    """

    name: str = ""

    def forward(self, x: np.ndarray, ctx: ForwardContext):
        """x -> ``(y, cache)``; subclasses implement."""
        raise NotImplementedError

    def backward(self, e: np.ndarray, cache, ctx: BackwardContext):
        """Error at the output ``e`` (shape of y) -> error at the input (shape of x) or ``None``;
        subclasses implement and fill their parameters' ``grad``."""
        raise NotImplementedError

    def params(self) -> list[Param]:
        """Forward parameters of this layer and its children."""
        return []

    def feedback_params(self) -> list[Param]:
        """Feedback parameters (Q, P) of this layer and its children."""
        return []

    def weight_layers(self) -> list:
        """Layers holding a weight matrix (Linear, Conv2d), in forward order."""
        return []


def as_dtype(dtype) -> np.dtype:
    """Return a float dtype (float32 or float64), or raise ``ValueError``."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt

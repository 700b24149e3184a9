"""The retina model of Lindsey, Ocko, Ganguli & Deny (2019), as in the paper's Section 5.

::

    retina1 (1 -> C, k x k, 'same') - ReLU - retina2 (C -> N_BN, k x k) - ReLU      retina
    vvs1 (N_BN -> C) - ReLU - ... - vvsV (C -> C) - ReLU                           ventral
    flatten - fc1 (C*H*W -> dense) - ReLU - fc2 (dense -> n_classes)              classifier

No pooling (as Lindsey et al.; their sizes: C = 32, k = 9, 32 x 32 grayscale CIFAR-10,
dense 1024, V = 3). ``bottleneck=None`` keeps the second retinal layer at full width C.

Feedback goes through the engine's per-layer machinery (``Model.set_feedback``): the
feedback layers are, in forward order, ``retina2, vvs1, ..., vvsV, fc1, fc2``, and the
one *into the retina* is ``vvs1``'s (its input error is the error at the retina's output).
:func:`build_retina_model` gives ``vvs1`` its own rule and rank (``retina_rule``,
``retina_rank``: e.g. RAF rank 1, or dRAF from the dense layer for the control) and every
other layer ``rule`` at full rank.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from .base import as_dtype
from .conv import Conv2d
from .layers import Flatten, Linear, ReLU, Sequential
from .models import Model

#: index of the feedback layer into the retina in ``Model.feedback_layers``
RETINA_FEEDBACK = 1
#: number of layers of :func:`build_retina` that form the retina (conv, ReLU, conv)
RETINA_DEPTH = 3


def build_retina(input_shape, n_classes: int, *, channels: int = 32, kernel: int = 9,
                 bottleneck: int | None = None, ventral: int = 3, dense: int = 1024,
                 retina_init: float = 1.0, retina_bias: bool = True,
                 rng: np.random.Generator,
                 dtype=np.float32) -> Sequential:
    """The network above as a :class:`Sequential`: ``(B, 1, H, W)`` -> logits ``(B, n_classes)``.

    ``kernel`` must be odd ('same' padding ``kernel // 2``). The retina is the first
    :data:`RETINA_DEPTH` layers (``root.layers[:RETINA_DEPTH]``, up to retina2's
    pre-activation). ``retina_init`` multiplies the two retinal layers' initial (He)
    weights: a short CPU training run cannot wash out a full-size random initial kernel,
    whose noise would then dominate the receptive fields (Adam's steps do not depend on
    the weights' scale, so a small start still learns at the same rate).
    ``retina_bias=False`` drops the retinal layers' biases: with small retinal weights an
    Adam-driven bias can switch a narrow bottleneck's ReLUs off for good (a dead network).
    """
    if len(input_shape) != 3:
        raise ValueError(f"retina input_shape must be (C, H, W), got {tuple(input_shape)}")
    c_in, H, W = (int(s) for s in input_shape)
    C = check_int("channels", channels, low=1)
    k = check_int("kernel", kernel, low=1)
    if k % 2 == 0:
        raise ValueError(f"kernel must be odd ('same' padding), got {k}")
    nbn = C if bottleneck is None else check_int("bottleneck", bottleneck, low=1)
    V = check_int("ventral", ventral, low=1)
    D = check_int("dense", dense, low=1)
    p = k // 2

    def conv(cin, cout, name, bias=True):
        return [Conv2d(cin, cout, k, padding=p, rng=rng, name=name, dtype=dtype, bias=bias),
                ReLU()]

    rb = bool(retina_bias)
    layers = conv(c_in, C, "retina1", rb) + conv(C, nbn, "retina2", rb)
    if not (isinstance(retina_init, (int, float)) and 0 < retina_init <= 1):
        raise ValueError(f"retina_init must be a number in (0, 1], got {retina_init!r}")
    for conv_layer in (layers[0], layers[2]):
        conv_layer.W.value *= conv_layer.W.value.dtype.type(retina_init)
    cin = nbn
    for i in range(V):
        layers += conv(cin, C, f"vvs{i + 1}")
        cin = C
    layers += [Flatten(), Linear(C * H * W, D, rng=rng, name="fc1", dtype=dtype), ReLU(),
               Linear(D, int(n_classes), rng=rng, name="fc2", dtype=dtype, init="lecun")]
    return Sequential(layers)


def build_retina_model(input_shape, n_classes: int, *, rule="bp", retina_rule=None,
                       retina_rank=None, rng: np.random.Generator, dtype=np.float32,
                       feedback_kwargs: dict | None = None, **sizes) -> Model:
    """A :class:`~.models.Model` of :func:`build_retina` with its feedback wired.

    rule : the rule of every feedback layer except the one into the retina (full rank).
    retina_rule, retina_rank : the rule (default ``rule``) and rank (None: full) of the
        feedback into the retina (``vvs1``). A direct rule (``draf``, ``dfa``) there sends
        the source's error (``feedback_kwargs["source"]``: output or penultimate = fc1)
        straight to the retina's output.
    sizes : ``channels``, ``kernel``, ``bottleneck``, ``ventral``, ``dense``,
        ``retina_init``, ``retina_bias``.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    dt = as_dtype(dtype)
    root = build_retina(input_shape, n_classes, rng=rng, dtype=dt, **sizes)
    model = Model(root, "retina", input_shape, n_classes, rng, dt)
    n = len(model.feedback_layers)
    rules = [rule] * n
    rules[RETINA_FEEDBACK] = rule if retina_rule is None else retina_rule
    ranks = [None] * n
    ranks[RETINA_FEEDBACK] = retina_rank
    model.set_feedback(rules, ranks, **(feedback_kwargs or {}))
    return model


def retina_layers(model: Model) -> list:
    """The retina's layers (retina1, ReLU, retina2: up to retina2's pre-activation)."""
    return model.root.layers[:RETINA_DEPTH]

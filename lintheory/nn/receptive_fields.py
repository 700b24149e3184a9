"""Receptive fields: the input pattern that drives a unit, as a gradient at a blank image.

For each output channel ``c`` of a stack of convolutions and pointwise layers, the field is
``d y[c, i0, j0] / d x`` at ``x = 0`` (Lindsey et al. 2019; the paper's Section 5), with
``(i0, j0)`` the centre of the image, cropped to the window the unit can see; or the mean
of that gradient over a batch of inputs ``x0`` (e.g. natural images: the unit's average
linear filter, which stays defined when a ReLU in the stack is silent at the blank image
-- at ``x = 0`` a first-layer channel with bias <= 0 is off and passes no gradient). The
gradient is exact (backpropagation through the real weights, whatever feedback rule
trained them); no parameter or grad is touched. ``y`` is the last layer's output: pass
the layers up to a convolution's pre-activation (e.g. ``retina.retina_layers(model)``)
for the unit's linear response.

The engine's Conv2d is a cross-correlation (as torch's): ``y[c, i, j] = sum W[c, ci, a, b]
x[ci, i + a - p, j + b - p]``, so for a single convolution the field IS the kernel
``W[c]`` (a true convolution's field would be the kernel flipped in both axes).
"""

from __future__ import annotations

import numpy as np

from .base import ForwardContext
from .conv import Conv2d
from .layers import ReLU


def _window(layers) -> int:
    """Side of the square input window a unit of the stack sees: ``1 + sum (k - 1)``."""
    side = 1
    for layer in layers:
        if isinstance(layer, Conv2d):
            if layer.s != 1:
                raise ValueError(f"receptive fields need stride-1 convolutions; {layer.name} "
                                 f"has stride {layer.s}")
            side += layer.k - 1
        elif not isinstance(layer, ReLU):
            raise ValueError(f"receptive fields handle Conv2d and ReLU layers only, got "
                             f"{type(layer).__name__}")
    return side


def receptive_fields(layers, input_shape, *, point=None, x0=None, crop: bool = True):
    """Fields of the unit at ``point`` of every output channel of ``layers``.

    Parameters
    ----------
    layers : list of Conv2d (stride 1) and ReLU layers, applied in order.
    input_shape : ``(C_in, H, W)``.
    point : ``(i0, j0)``, default the centre ``(H // 2, W // 2)``.
    x0 : the input ``(C_in, H, W)`` the gradient is taken at (default zeros: a blank
        image), or a batch ``(N, C_in, H, W)``: the mean gradient over the N inputs.
    crop : cut the window of side ``1 + sum (k - 1)`` centred on ``point`` (True), or
        return full-image gradients.

    Returns
    -------
    ``(C_out, C_in, S, S)`` fields (``S`` the window side, or ``(H, W)`` uncropped), float64
    in the layers' dtype precision.
    """
    C_in, H, W = (int(s) for s in input_shape)
    i0, j0 = (H // 2, W // 2) if point is None else (int(point[0]), int(point[1]))
    if not (0 <= i0 < H and 0 <= j0 < W):
        raise ValueError(f"point must lie in the {H}x{W} image, got {(i0, j0)}")
    side = _window(layers)
    dtype = layers[0].W.value.dtype
    x = np.zeros((1, C_in, H, W), dtype) if x0 is None else np.asarray(x0, dtype)
    if x.ndim == 3:
        x = x[None]
    if x.shape[1:] != (C_in, H, W):
        raise ValueError(f"x0 must be ({C_in}, {H}, {W}) or (N, {C_in}, {H}, {W}), got "
                         f"{x.shape}")
    ctx = ForwardContext(False)
    caches, shapes = [], []
    for layer in layers:
        shapes.append(x.shape)
        x, c = layer.forward(x, ctx)
        caches.append(c)
    n_out = x.shape[1]
    g = np.empty((n_out, C_in, H, W))
    for ch in range(n_out):                  # a unit error at (ch, i0, j0) of every input
        e = np.zeros(x.shape, dtype)
        e[:, ch, i0, j0] = 1.0
        for layer, c, shp in zip(reversed(layers), reversed(caches), reversed(shapes)):
            if isinstance(layer, Conv2d):
                em = e.transpose(0, 2, 3, 1).reshape(-1, e.shape[1])
                e = layer._bp_input_error(em, shp)
            else:
                e = layer.backward(e, c, None)
        g[ch] = np.asarray(e, np.float64).mean(axis=0)
    if not crop:
        return g
    h = side // 2
    pad = np.pad(g, ((0, 0), (0, 0), (h, h), (h, h)))
    return pad[:, :, i0:i0 + side, j0:j0 + side]

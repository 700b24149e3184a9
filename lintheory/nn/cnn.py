"""The small CNN for 8x8 digits (and any ``(C, H, W)`` input with ``H, W >= 4``).

``conv1(C->c1,3x3,pad1)-ReLU-conv2(c1->c2)-ReLU-maxpool2 -> conv3(c2->c3)-ReLU-maxpool2
-> flatten -> fc1(c3*H/4*W/4 -> hidden)-ReLU -> fc2(hidden -> n_classes)``, optionally with
BatchNorm2d after every convolution and Dropout before the head.
"""

from __future__ import annotations

import numpy as np

from .conv import BatchNorm2d, Conv2d, MaxPool2d
from .layers import Dropout, Flatten, Linear, ReLU, Sequential


def build_cnn(input_shape, n_classes, *, hidden=128, channels=(32, 32, 64), rng,
              dtype=np.float32, batchnorm: bool = False, dropout: float = 0.0) -> Sequential:
    """The CNN above as a :class:`Sequential`: ``(B, C, H, W)`` -> logits ``(B, n_classes)``."""
    if len(input_shape) != 3:
        raise ValueError(f"cnn input_shape must be (C, H, W), got {input_shape}")
    C, H, W = input_shape
    if H < 4 or W < 4:
        raise ValueError(f"cnn needs H, W >= 4 (two 2x2 poolings), got {H}x{W}")
    if (not isinstance(channels, (list, tuple)) or len(channels) != 3
            or not all(isinstance(c, (int, np.integer)) and c >= 1 for c in channels)):
        raise ValueError(f"channels must be three positive ints, got {channels}")
    if int(hidden) < 1:
        raise ValueError(f"hidden must be >= 1, got {hidden}")
    c1, c2, c3 = (int(c) for c in channels)

    def block(cin, cout, name):
        out = [Conv2d(cin, cout, 3, padding=1, rng=rng, name=name, dtype=dtype)]
        if batchnorm:
            out.append(BatchNorm2d(cout, name=f"{name}.bn", dtype=dtype))
        return out + [ReLU()]

    layers = (block(C, c1, "conv1") + block(c1, c2, "conv2") + [MaxPool2d(2)]
              + block(c2, c3, "conv3") + [MaxPool2d(2), Flatten()])
    flat = c3 * (H // 2 // 2) * (W // 2 // 2)
    layers += [Linear(flat, int(hidden), rng=rng, name="fc1", dtype=dtype), ReLU()]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Linear(int(hidden), n_classes, rng=rng, name="fc2", dtype=dtype,
                         init="lecun"))
    return Sequential(layers)

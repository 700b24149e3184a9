"""A small pre-LN vision transformer (ViT) for 8x8 digits.

``PatchEmbed(p x p patches, class token, positions) -> depth x [x + MHSA(LN(x)),
x + MLP(LN(x))] -> LN -> class token -> Linear head``; the MLP is
``Linear(D, ratio*D) -> GELU -> Linear(ratio*D, D)``.
"""

from __future__ import annotations

import numpy as np

from .attention import ClassToken, MultiHeadSelfAttention, PatchEmbed
from .layers import GELU, Dropout, LayerNorm, Linear, Residual, Sequential


def build_vit(input_shape, n_classes, *, dim=64, depth=2, heads=4, patch=2, mlp_ratio=2,
              rng, dtype=np.float32, dropout: float = 0.0) -> Sequential:
    """The ViT above as a :class:`Sequential`: ``(B, C, H, W)`` -> logits ``(B, n_classes)``."""
    if len(input_shape) != 3:
        raise ValueError(f"vit input_shape must be (C, H, W), got {input_shape}")
    for nm, v in (("dim", dim), ("depth", depth), ("heads", heads), ("mlp_ratio", mlp_ratio),
                  ("patch", patch)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{nm} must be an int >= 1, got {v!r}")
    layers = [PatchEmbed(input_shape, patch, dim, rng=rng, dtype=dtype)]
    for b in range(depth):
        n = f"block{b}"
        attn = [LayerNorm(dim, name=f"{n}.ln1", dtype=dtype),
                MultiHeadSelfAttention(dim, heads, rng=rng, name=f"{n}.attn", dtype=dtype)]
        mlp = [LayerNorm(dim, name=f"{n}.ln2", dtype=dtype),
               Linear(dim, mlp_ratio * dim, rng=rng, name=f"{n}.mlp1", dtype=dtype),
               GELU(),
               Linear(mlp_ratio * dim, dim, rng=rng, name=f"{n}.mlp2", dtype=dtype,
                      init="lecun")]
        if dropout:
            attn.append(Dropout(dropout))
            mlp.append(Dropout(dropout))
        layers += [Residual(Sequential(attn), name=f"{n}.res1"),
                   Residual(Sequential(mlp), name=f"{n}.res2")]
    layers += [LayerNorm(dim, name="ln_out", dtype=dtype), ClassToken(),
               Linear(dim, n_classes, rng=rng, name="head", dtype=dtype, init="lecun")]
    return Sequential(layers)

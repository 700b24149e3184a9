"""Losses returning ``(loss, e_out)`` with ``e_out = -dL/d(output)`` (theory §6 sign).

Both are means over the batch, so ``e_out`` already carries the ``1/B``.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(B, C)`` logits, computed stably."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def one_hot(y_int: np.ndarray, n_classes: int, dtype=np.float32) -> np.ndarray:
    """``(B,)`` integer labels -> ``(B, n_classes)`` one-hot rows."""
    y = np.asarray(y_int)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {y.shape} {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must be in [0, {n_classes - 1}], got [{y.min()}, {y.max()}]")
    out = np.zeros((y.size, n_classes), dtype)
    out[np.arange(y.size), y] = 1
    return out


def softmax_cross_entropy(logits: np.ndarray, y_int: np.ndarray):
    """Mean cross-entropy of ``(B, C)`` logits against ``(B,)`` labels.

    Returns ``(loss, e_out)`` with ``e_out = (onehot - softmax) / B``.
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, C), got {logits.shape}")
    B, C = logits.shape
    t = one_hot(y_int, C, logits.dtype)
    if t.shape[0] != B:
        raise ValueError(f"labels have {t.shape[0]} rows, logits {B}")
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-(t * logp).sum() / B)
    return loss, ((t - np.exp(logp)) / B).astype(logits.dtype)


def mse(pred: np.ndarray, target: np.ndarray):
    """``L = sum |target - pred|^2 / (2 B)`` (paper Eq. 3); ``e_out = (target - pred) / B``."""
    pred = np.asarray(pred)
    target = np.asarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {pred.shape} vs {target.shape}")
    B = pred.shape[0]
    e = target - pred
    return float(0.5 * (e * e).sum() / B), e / B

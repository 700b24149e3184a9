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

    Computed without cancellation for confidently correct rows (``p_y`` near 1): the
    label's entry ``1 - p_y`` is taken as ``sum_{j != y} p_j`` and its loss ``-log p_y``
    as ``log1p`` of that sum, not by subtracting from 1. In float32, ``1 - p_y`` lost
    ``u / (1 - p_y)`` relative (``u = 2^-24``): the one-step gradient of a trained digits
    MLP was off by up to 4.7e-5 relative, 3.1e-6 this way (benchmarks/bench_dtype.py).
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, C), got {logits.shape}")
    B, C = logits.shape
    t = one_hot(y_int, C, logits.dtype)
    if t.shape[0] != B:
        raise ValueError(f"labels have {t.shape[0]} rows, logits {B}")
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    S = ez.sum(axis=1, keepdims=True)
    others = (ez * (1 - t)).sum(axis=1, keepdims=True)      # sum_{j != y} exp(z_j)
    z_y = np.take_along_axis(z, np.asarray(y_int).reshape(B, 1), axis=1)
    nll = np.where(z_y == 0, np.log1p(others), np.log(S) - z_y)      # -log p_y
    loss = float(nll.sum() / B)
    e = np.where(t > 0, others / S, -ez / S)                 # onehot - softmax
    return loss, (e / B).astype(logits.dtype)


def mse(pred: np.ndarray, target: np.ndarray):
    """``L = sum |target - pred|^2 / (2 B)`` (paper Eq. 3); ``e_out = (target - pred) / B``."""
    pred = np.asarray(pred)
    target = np.asarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {pred.shape} vs {target.shape}")
    B = pred.shape[0]
    e = target - pred
    return float(0.5 * (e * e).sum() / B), e / B

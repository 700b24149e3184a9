"""Shared pytest fixtures: small linear tasks and initial weights (fast, fixed seeds).

Others may add fixtures here; keep each one small and seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import RULES, make_init, make_task


@pytest.fixture(params=("bp", "fa", "kp", "raf"), scope="session")
def paper_rule(request):
    """The paper's four two-layer rules, for tests against the fused two-layer kernels and
    their independent reference (``tests/two_layer_reference.py``)."""
    return request.param


@pytest.fixture(params=list(RULES), scope="session")
def rule_name(request):
    """Each registered rule in turn ("bp", "fa", ...): a test taking this fixture runs for
    every entry of ``lintheory.RULES``, so a new rule is tested automatically."""
    return request.param


@pytest.fixture(scope="session")
def small_task():
    """Whitened task, n=8, m=6, d=3, N=64, singular values (3, 2, 1), sigma=0.5, seed 0."""
    return make_task(n=8, m=6, d=3, N=64, sigma=0.5, seed=0)


@pytest.fixture(scope="session")
def small_init(small_task):
    """Random unrotated initial weights for ``small_task``: k=10, r=2, scale 0.5, seed 1."""
    return make_init(small_task, k=10, r=2, kind="random", scale=0.5,
                     rng=np.random.default_rng(1))


def write_tiny_cifar10(folder, per_class: int = 10, seed: int = 7):
    """A tiny CIFAR-10 "binary version" copy in ``folder/cifar-10-batches-bin``: five data
    batches with ``per_class`` images of each class in all, 2 test images per class.

    Pixels are random uint8; pixel [0, 0, 0] encodes the label (x 20), the test images'
    green channel is shifted by 50. Returns ``folder``.
    """
    from pathlib import Path

    from lintheory.nn import cifar10 as c10

    rng = np.random.default_rng(seed)

    def images(labels, shift=0):
        X = rng.integers(0, 200, size=(len(labels), 3, 32, 32), dtype=np.uint8)
        X[:, 1] += np.uint8(shift)
        X[:, 0, 0, 0] = np.asarray(labels, dtype=np.uint8) * 20
        return X

    y_train = rng.permutation(np.repeat(np.arange(10), per_class))
    y_test = np.repeat(np.arange(10), 2)
    batches = [(images(y), y) for y in np.split(y_train, 5)]
    batches.append((images(y_test, shift=50), y_test))
    out = Path(folder) / "cifar-10-batches-bin"
    out.mkdir(parents=True, exist_ok=True)
    for name, (X, y) in zip(c10.BIN_FILES, batches):
        rec = np.concatenate([y.astype(np.uint8)[:, None], X.reshape(len(X), -1)], axis=1)
        (out / name).write_bytes(rec.tobytes())
    return Path(folder)


@pytest.fixture()
def tiny_cifar_dir(tmp_path):
    """A tiny CIFAR-10 copy (binary batches; 100 training and 20 test images)."""
    return write_tiny_cifar10(tmp_path / "cifar")

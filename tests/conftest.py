"""Shared pytest fixtures: small linear tasks and initial weights (fast, fixed seeds).

Others may add fixtures here; keep each one small and seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import RULES, make_init, make_task


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

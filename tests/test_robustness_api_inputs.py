"""Bad values given to the Python API are a ValueError naming the argument (issue 14):
complex numbers (whose imaginary part NumPy would drop with only a warning), None, text,
and something that is not a task where a task is expected."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lintheory import integrate, make_init, make_task, run_sgd
from lintheory._validate import check_array


@pytest.fixture(scope="module")
def small():
    task = make_task(6, 4, 2, 50, seed=0)
    return task, make_init(task, 5, 2, rng=np.random.default_rng(0))


@pytest.mark.parametrize(("times", "match"), [
    (np.array([0.0, 1.0 + 1e-3j]), "times must be real, got complex"),
    (None, "times must be an array of real numbers, got None"),
    (["0", "1"], "times must be an array of real numbers, got dtype <U1"),
    ([0.0, {"t": 1}], "times must be an array of real numbers"),
])
@pytest.mark.parametrize("engine", ["ode", "sgd"])
def test_bad_times_are_named(small, times, match, engine):
    task, w0 = small
    run = (lambda: integrate(task, "raf", w0, times)) if engine == "ode" else (
        lambda: run_sgd(task, "raf", w0, times, lr=0.01))
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no ComplexWarning on the way
        with pytest.raises(ValueError, match=match):
            run()


@pytest.mark.parametrize("task", [None, {}, np.zeros((3, 3))])
def test_something_that_is_not_a_task_is_named(small, task):
    _, w0 = small
    for run in (lambda: integrate(task, "raf", w0, [0.0, 1.0]),
                lambda: run_sgd(task, "raf", w0, [0.0, 1.0], lr=0.01)):
        with pytest.raises(ValueError, match="task must be a lintheory.task.LinearTask"):
            run()


def test_real_arrays_of_any_numeric_kind_are_accepted_unchanged():
    """The check converts without changing values (reference: the same numbers as float)."""
    for value in ([0, 1, 2], np.arange(3, dtype=np.int32), np.array([0.0, 1.5]),
                  np.array([0.0, 1.5], dtype=np.float32), np.array([0, 2], dtype=object)):
        got = check_array("x", value)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, np.asarray(value, dtype=float))


def test_a_vector_where_a_weight_matrix_belongs_is_named():
    from lintheory import Weights

    with pytest.raises(ValueError, match=r"W_1 must be a matrix \(2-D array\), got shape \(6,\)"):
        Weights.two_layer(np.zeros(6), np.zeros((4, 5)), np.zeros((5, 2)), np.zeros((2, 4)))

"""Data sets of the nonlinear experiments: shapes, stratified split, train-only statistics."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import lintheory.nn.data as data_mod
from lintheory.nn.data import load_dataset, resolve_classes


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_digits_shapes_and_sizes(digits):
    d = digits
    n = len(d.y_train) + len(d.y_val) + len(d.y_test)
    assert n == 1797
    assert d.X_train.shape == (len(d.y_train), 64)
    assert d.X_test.shape == (len(d.y_test), 64)
    assert d.input_shape == (64,)
    assert d.n_classes == 10
    assert d.X_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert abs(len(d.y_test) / n - 0.25) < 0.01
    img = load_dataset("digits", shape="image")
    assert img.X_train.shape == (len(d.y_train), 1, 8, 8)
    assert img.input_shape == (1, 8, 8)
    # the image is the same pixels, row-major
    np.testing.assert_array_equal(img.X_train.reshape(len(d.y_train), 64), d.X_train)


def test_split_is_stratified_disjoint_and_fixed(digits):
    d = digits
    full = np.bincount(load_digits().target) / 1797
    for y in (d.y_train, d.y_val, d.y_test):
        frac = np.bincount(y, minlength=10) / len(y)
        assert np.max(np.abs(frac - full)) < 0.01
    # the three splits are disjoint: recover original rows by un-standardising
    raw = load_digits().data
    rows = {tuple(r) for r in raw}
    back = [np.rint(X.astype(np.float64) * d.std + d.mean) for X in (d.X_train, d.X_val, d.X_test)]
    keys = [{tuple(r) for r in b} for b in back]
    assert all(k <= rows for k in keys)
    # digits has no duplicate images, so the splits are exactly disjoint and cover all
    assert len(rows) == 1797
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert sum(len(k) for k in keys) == 1797
    again = load_dataset("digits")
    np.testing.assert_array_equal(again.X_test, d.X_test)
    np.testing.assert_array_equal(again.y_train, d.y_train)
    other = load_dataset("digits", seed=1)
    assert not np.array_equal(other.y_test, d.y_test)


def test_standardised_with_train_statistics_only(digits):
    d = digits
    Xtr = d.X_train.astype(np.float64)
    np.testing.assert_allclose(Xtr.mean(0), 0.0, atol=1e-5)
    sd = Xtr.std(0)
    floor = 0.1 * d.std.mean()
    raw_sd = Xtr.std(0) * d.std  # back in pixel units
    big = raw_sd > floor * 1.01
    np.testing.assert_allclose(sd[big], 1.0, rtol=1e-4)
    # test and validation sets are NOT standardised with their own statistics
    assert np.max(np.abs(d.X_test.mean(0))) > 0.05
    # statistics equal numpy's on the raw training rows
    raw_train = Xtr * d.std + d.mean
    np.testing.assert_allclose(d.mean, raw_train.mean(0), atol=1e-4)


def test_class_subsets():
    d4 = load_dataset("digits", classes=4)
    assert d4.n_classes == 4 and d4.classes == (0, 1, 2, 3)
    assert set(np.unique(d4.y_train)) == {0, 1, 2, 3}
    assert set(np.unique(d4.y_test)) == {0, 1, 2, 3}
    n4 = np.sum(np.isin(load_digits().target, [0, 1, 2, 3]))
    assert len(d4.y_train) + len(d4.y_val) + len(d4.y_test) == n4
    dl = load_dataset("digits", classes=[7, 3])
    assert dl.classes == (7, 3) and dl.n_classes == 2
    assert set(np.unique(dl.y_test)) == {0, 1}


@pytest.mark.parametrize(
    "classes, match",
    [(1, "classes"), (11, "classes"), (0, "classes"), ([3], "at least 2"),
     ([1, 1], "distinct"), ([0, 10], "classes entry"), ("4", "classes")],
)
def test_bad_classes(classes, match):
    with pytest.raises(ValueError, match=match):
        resolve_classes(classes, 10)


def test_bad_names():
    with pytest.raises(ValueError, match="dataset"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="shape"):
        load_dataset("digits", shape="cube")
    with pytest.raises(ValueError, match="val_fraction"):
        load_dataset("digits", val_fraction=0.9)


def test_no_validation_split():
    d = load_dataset("digits", val_fraction=0)
    assert len(d.y_val) == 0 and d.X_val.shape == (0, 64)


def test_mnist1d_generated_locally_and_leaves_global_rng_alone():
    pytest.importorskip("mnist1d")
    data_mod._RAW_CACHE.pop("mnist1d", None)  # force generation in this test
    np.random.seed(123)  # noqa: NPY002 (checking the legacy global RNG on purpose)
    expected = np.random.rand()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    d = load_dataset("mnist1d", classes=3, shape="image")
    assert np.random.rand() == expected  # noqa: NPY002 (make_dataset's seeding undone)
    assert d.input_shape == (1, 1, 40) and d.n_classes == 3
    assert d.X_train.shape[1:] == (1, 1, 40)
    assert len(d.y_test) > 0 and set(np.unique(d.y_train)) == {0, 1, 2}
    flat = load_dataset("mnist1d")
    assert flat.input_shape == (40,)
    assert len(flat.y_train) + len(flat.y_val) == 4000 and len(flat.y_test) == 1000

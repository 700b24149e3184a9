"""Receptive-field extraction (nn.receptive_fields) and the two indices (nn.rf_indices)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

from lintheory.nn.conv import Conv2d
from lintheory.nn.layers import ReLU
from lintheory.nn.receptive_fields import receptive_fields
from lintheory.nn.rf_indices import (
    bar_bank,
    field_indices,
    isotropy,
    orientedness,
    random_baseline,
    rotational_average,
)


@pytest.mark.parametrize("k,c_in", [(3, 1), (5, 2)])
def test_single_convolution_field_is_the_kernel(k, c_in):
    """The engine's conv is a cross-correlation (checked against scipy), so the field of
    output channel c is W[c] exactly: a true convolution's kernel flipped in both axes."""
    rng = np.random.default_rng(0)
    conv = Conv2d(c_in, 4, k, padding=k // 2, rng=rng, dtype=np.float64)
    conv.b.value[:] = rng.normal(size=4)                      # a bias changes nothing
    x = rng.normal(size=(1, c_in, 9, 9))
    y, _ = conv.forward(x, None)
    ref = sum(correlate2d(x[0, ci], conv.W.value[1, ci], mode="same") for ci in range(c_in))
    assert np.allclose(y[0, 1] - conv.b.value[1], ref)
    flipped = conv.W.value[1, 0, ::-1, ::-1]
    assert np.allclose(convolve2d(x[0, 0], flipped, mode="same"),
                       correlate2d(x[0, 0], conv.W.value[1, 0], mode="same"))
    rf = receptive_fields([conv], (c_in, 9, 9))
    assert rf.shape == (4, c_in, k, k)
    assert np.array_equal(rf, conv.W.value)
    # away from the centre: the same kernel, the image edge cut off (zero padding)
    full = receptive_fields([conv], (c_in, 9, 9), point=(0, 8), crop=False)
    h = k // 2
    assert np.array_equal(full[:, :, :h + 1, 8 - h:], conv.W.value[:, :, h:, :h + 1])
    assert not np.any(full[:, :, h + 1:]) and not np.any(full[:, :, :, :8 - h])


def test_two_layer_field_against_finite_differences():
    rng = np.random.default_rng(1)
    c1 = Conv2d(1, 3, 3, padding=1, rng=rng, dtype=np.float64)
    c2 = Conv2d(3, 2, 3, padding=1, rng=rng, dtype=np.float64)
    c1.b.value[:] = [0.3, -0.2, 0.1]                          # channel 1 silent at x = 0
    layers = [c1, ReLU(), c2]
    rf = receptive_fields(layers, (1, 7, 7))
    assert rf.shape == (2, 1, 5, 5)

    def unit(x, c):
        for layer in layers:
            x, _ = layer.forward(x, None)
        return x[0, c, 3, 3]

    h = 1e-6
    for c in range(2):
        fd = np.zeros((7, 7))
        for i in range(7):
            for j in range(7):
                d = np.zeros((1, 1, 7, 7))
                d[0, 0, i, j] = h
                fd[i, j] = (unit(d, c) - unit(-d, c)) / (2 * h)
        assert np.allclose(rf[c, 0], fd[1:6, 1:6], atol=1e-8)
        assert not np.any(fd[0]) and not np.any(fd[:, 6])     # outside the 5 x 5 window
    # closed form: sum over active first-layer channels of W2 * W1 composed
    ref = np.zeros((2, 5, 5))
    for c in range(2):
        for m in (0, 2):
            for a in range(3):
                for b in range(3):
                    ref[c, a:a + 3, b:b + 3] += c2.W.value[c, m, a, b] * c1.W.value[m, 0]
    assert np.allclose(rf[:, 0], ref)


def test_bad_layers_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="stride"):
        receptive_fields([Conv2d(1, 1, 3, stride=2, rng=rng)], (1, 7, 7))
    with pytest.raises(ValueError, match="point"):
        receptive_fields([Conv2d(1, 1, 3, padding=1, rng=rng)], (1, 7, 7), point=(7, 0))


# ---------------------------------------------------------------- indices

S = 13
_Y, _X = np.mgrid[-6:7, -6:7].astype(float)
_R2 = _X ** 2 + _Y ** 2


def _dog(s1=1.2, s2=2.5, a=0.5):
    return np.exp(-_R2 / (2 * s1 ** 2)) - a * np.exp(-_R2 / (2 * s2 ** 2))


def _gabor(theta, phase, sigma=2.5, period=6.0):
    u = _X * np.cos(theta) + _Y * np.sin(theta)
    return np.exp(-_R2 / (2 * sigma ** 2)) * np.cos(2 * np.pi * u / period + phase)


@pytest.fixture(scope="module")
def noise_baseline():
    return random_baseline(S, n=400, rng=np.random.default_rng(3))


@pytest.mark.parametrize("field", [_dog(), _dog(1.0, 3.0, 0.3), -_dog(1.5, 2.0, 0.8)])
def test_difference_of_gaussians_scores_isotropic(field, noise_baseline):
    assert orientedness(field) < 0.02
    assert isotropy(field) > 0.9
    assert isotropy(field) > noise_baseline["isotropy"]["mean"] + 5 * \
        noise_baseline["isotropy"]["std"]


@pytest.mark.parametrize("theta", [0.0, 0.4, np.pi / 2, 2.0])
@pytest.mark.parametrize("phase", [0.0, np.pi / 2])
def test_gabor_scores_oriented(theta, phase, noise_baseline):
    f = _gabor(theta, phase)
    assert orientedness(f) > 0.8
    assert orientedness(f) > noise_baseline["orientedness"]["mean"] + 3 * \
        noise_baseline["orientedness"]["std"]
    assert isotropy(f) < 0.5
    if phase == np.pi / 2:                    # odd Gabor: its rotational average is zero
        assert isotropy(f) < 1e-12


def test_noise_scores_near_the_random_baseline(noise_baseline):
    fields = np.random.default_rng(11).normal(size=(300, S, S))
    idx = field_indices(fields)
    for name in ("orientedness", "isotropy"):
        b = noise_baseline[name]
        se = b["std"] / np.sqrt(300)
        assert abs(np.mean(idx[name]) - b["mean"]) < 4 * se * np.sqrt(2), name
    # white noise on the disk: the rotational average keeps about (rings / pixels) of it
    _, _, n_disk, n_rings = _disk_counts()
    assert abs(noise_baseline["isotropy"]["mean"] - n_rings / n_disk) < 0.02


def _disk_counts():
    disk = _R2 <= (S / 2) ** 2
    rings = np.unique(np.rint(np.sqrt(_R2[disk])))
    return _X, _Y, int(disk.sum()), len(rings)


def test_rotational_average_is_a_projection():
    f = np.random.default_rng(2).normal(size=(S, S))
    a = rotational_average(f)
    assert np.allclose(rotational_average(a), a)               # idempotent
    disk = _R2 <= (S / 2) ** 2
    assert abs(np.sum((f - a)[disk] * a[disk])) < 1e-9         # orthogonal residual
    assert np.isclose(isotropy(f), np.sum(a[disk] ** 2) / np.sum(f[disk] ** 2))


def test_bar_bank_is_zero_mean_unit_norm_and_rotates():
    bank, thetas = bar_bank(S)
    assert bank.shape[0] == len(thetas) == 8
    assert np.allclose(bank.sum(axis=(2, 3)), 0, atol=1e-12)
    assert np.allclose(np.linalg.norm(bank, axis=(2, 3)), 1)
    # the 90-degree bank is the 0-degree bank rotated by 90 degrees
    rotated = np.rot90(bank[0], axes=(1, 2)).reshape(len(bank[0]), -1)
    dist = np.linalg.norm(rotated[:, None] - bank[4].reshape(1, len(bank[4]), -1), axis=2)
    assert dist.min(axis=1).max() < 1e-9


def test_bad_fields_name_the_shape():
    with pytest.raises(ValueError, match="odd S"):
        isotropy(np.zeros((4, 4)))
    assert np.isnan(orientedness(np.zeros((5, 5))))


def test_field_over_a_batch_is_the_mean_of_the_single_input_fields():
    rng = np.random.default_rng(4)
    c1 = Conv2d(1, 3, 3, padding=1, rng=rng, dtype=np.float64)
    c2 = Conv2d(3, 2, 3, padding=1, rng=rng, dtype=np.float64)
    c1.b.value[:] = -0.5                    # every channel silent at the blank image
    layers = [c1, ReLU(), c2]
    assert not np.any(receptive_fields(layers, (1, 7, 7)))
    X = rng.normal(size=(4, 1, 7, 7))
    each = [receptive_fields(layers, (1, 7, 7), x0=x) for x in X]
    assert np.allclose(receptive_fields(layers, (1, 7, 7), x0=X), np.mean(each, axis=0))
    assert np.any(each[0])
    with pytest.raises(ValueError, match="x0"):
        receptive_fields(layers, (1, 7, 7), x0=np.zeros((2, 7, 7)))

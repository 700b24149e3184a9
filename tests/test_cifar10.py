"""Reading CIFAR-10 as users have it: python batches, binary records, image folders, zips.

Every format is written tiny by the test itself and read back byte-exactly; bad paths and
broken files give one one-line DataFileError naming the path; a pickle naming a forbidden
global is refused before anything runs. The shared JPEG copy beside the repository is read
whole when present.
"""

import hashlib
import io
import os
import pickle
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_cifar10
from PIL import Image

from lintheory.nn import cifar10 as c10
from lintheory.nn.cifar10 import CLASSES, DataFileError, read_cifar10
from lintheory.nn.data import load_dataset
from lintheory.nn.train import TrainConfig, train

SHARED_ZIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg.zip"


@pytest.fixture(autouse=True)
def _fresh_cache():
    c10.clear_cache()
    yield
    c10.clear_cache()


def _images(rng, labels, shift=0):
    """uint8 (n, 3, 32, 32) random images; pixel [0, 0, 0] encodes the label."""
    X = rng.integers(0, 200, size=(len(labels), 3, 32, 32), dtype=np.uint8)
    X[:, 1] += np.uint8(shift)  # a green shift (test images differ from training ones)
    X[:, 0, 0, 0] = np.asarray(labels, dtype=np.uint8) * 20
    return X


def _tiny(seed=0, per_batch=3, n_test=4):
    """Five data batches of ``per_batch`` images and a test batch: [(X, y)] * 6."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(6):
        n = n_test if i == 5 else per_batch
        y = rng.integers(0, 10, size=n)
        out.append((_images(rng, y), y.astype(np.int64)))
    return out


def _write_py(folder: Path, batches, protocol=2):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (X, y) in zip(c10.PY_FILES, batches):
        d = {b"batch_label": name.encode(), b"labels": [int(v) for v in y],
             b"data": X.reshape(len(X), -1), b"filenames": [b"x.png"] * len(y)}
        (folder / name).write_bytes(pickle.dumps(d, protocol=protocol))
    return folder


def _write_bin(folder: Path, batches):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (X, y) in zip(c10.BIN_FILES, batches):
        rec = np.concatenate([y.astype(np.uint8)[:, None], X.reshape(len(X), -1)], axis=1)
        (folder / name).write_bytes(rec.tobytes())
    return folder


def _tree(seed=0, n_train=2, n_test=1):
    """{split: [(class, file name, uint8 (3, 32, 32))]}, every class present."""
    rng = np.random.default_rng(seed)
    tree = {}
    for split, n in (("train", n_train), ("test", n_test)):
        tree[split] = [(c, f"{k:04d}.png", _images(rng, [c])[0])
                       for c in range(10) for k in range(n)]
    return tree


def _encode(img, fmt="PNG"):
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img.transpose(1, 2, 0))).save(buf, format=fmt,
                                                                        quality=95)
    return buf.getvalue()


def _write_tree(root: Path, tree, fmt="PNG"):
    for split, items in tree.items():
        for c, name, img in items:
            d = root / split / CLASSES[c]
            d.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(_encode(img, fmt))
    return root


def _write_zip(path: Path, tree, prefix="", fmt="PNG", compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for split, items in tree.items():
            for c, name, img in reversed(items):  # stored out of order on purpose
                z.writestr(f"{prefix}{split}/{CLASSES[c]}/{name}", _encode(img, fmt))
    return path


def _expected_tree(tree):
    out = []
    for split in ("train", "test"):
        items = sorted(tree[split], key=lambda t: (CLASSES[t[0]], t[1]))
        out += [np.stack([t[2] for t in items]), np.array([t[0] for t in items])]
    return out


def _check_same(got, want):
    assert len(got) == 4
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got[0].dtype == np.uint8 and got[2].dtype == np.uint8
    assert got[1].dtype == np.int64 and got[3].dtype == np.int64
    assert got[0].shape[1:] == (3, 32, 32) and got[0].flags.c_contiguous


def _want_batches(batches):
    return [np.concatenate([b[0] for b in batches[:5]]),
            np.concatenate([b[1] for b in batches[:5]]), batches[5][0], batches[5][1]]


# -- the three formats ------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [2, 5])
def test_python_batches_byte_exact(tmp_path, protocol):
    batches = _tiny()
    folder = _write_py(tmp_path / "cifar-10-batches-py", batches, protocol)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": list(CLASSES)}))
    want = _want_batches(batches)
    _check_same(read_cifar10(tmp_path), want)          # the folder holding it
    c10.clear_cache()
    _check_same(read_cifar10(folder), want)            # the folder itself
    c10.clear_cache()
    _check_same(read_cifar10(str(folder)), want)       # a str path


def test_python_batches_numpy1_names(tmp_path):
    """Files pickled by NumPy 1 / Python 2 name numpy.core.multiarray (not numpy._core)."""
    batches = _tiny(seed=8)
    folder = _write_py(tmp_path / "cifar-10-batches-py", batches, protocol=2)
    for f in folder.iterdir():
        raw = f.read_bytes()
        assert b"cnumpy._core.multiarray\n" in raw
        f.write_bytes(raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
    _check_same(read_cifar10(tmp_path), _want_batches(batches))


def test_binary_records_byte_exact(tmp_path):
    batches = _tiny(seed=1)
    folder = _write_bin(tmp_path / "cifar-10-batches-bin", batches)
    want = _want_batches(batches)
    _check_same(read_cifar10(tmp_path), want)
    c10.clear_cache()
    _check_same(read_cifar10(folder), want)
    # the record layout: label byte, then the red, green, blue planes row-major
    X, y, _, _ = read_cifar10(folder)
    raw = (folder / "data_batch_1.bin").read_bytes()
    assert raw[0] == y[0] and raw[1:1025] == X[0, 0].tobytes()
    assert raw[1025:2049] == X[0, 1].tobytes() and raw[2049:3073] == X[0, 2].tobytes()


def test_image_folders_byte_exact(tmp_path):
    tree = _tree(seed=2)
    root = _write_tree(tmp_path / "cifar", tree)
    (root / "train" / "cat" / ".DS_Store").write_bytes(b"junk")  # hidden files are skipped
    _check_same(read_cifar10(root), _expected_tree(tree))


@pytest.mark.parametrize("prefix", ["", "cifar10/"])
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_image_zip_byte_exact(tmp_path, prefix, compression):
    tree = _tree(seed=3)
    z = _write_zip(tmp_path / "cifar10-png.zip", tree, prefix=prefix, compression=compression)
    want = _expected_tree(tree)
    _check_same(read_cifar10(z), want)                 # the zip itself
    c10.clear_cache()
    _check_same(read_cifar10(tmp_path), want)          # a folder holding exactly one zip


def test_jpeg_zip_decodes(tmp_path):
    tree = _tree(seed=4)
    for items in tree.values():  # smooth images, so JPEG's loss is small
        for _, _, img in items:
            img[...] = np.linspace(0, 255, 32, dtype=np.uint8)[None, None, :]
    z = _write_zip(tmp_path / "j.zip", tree, fmt="JPEG")
    X, y, Xt, yt = read_cifar10(z)
    want = _expected_tree(tree)
    assert X.shape == (20, 3, 32, 32) and Xt.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(y, want[1])
    assert np.abs(X.astype(int) - want[0]).mean() < 3


def test_cache_is_keyed_by_mtime(tmp_path):
    batches = _tiny(seed=5)
    folder = _write_bin(tmp_path / "cifar-10-batches-bin", batches)
    first = read_cifar10(tmp_path)
    assert read_cifar10(folder)[0] is first[0]   # the same cached arrays
    assert not first[0].flags.writeable
    new = _tiny(seed=6)
    _write_bin(folder, new)
    t = time.time_ns() + 10**9
    for f in folder.iterdir():
        os.utime(f, ns=(t, t))
    _check_same(read_cifar10(tmp_path), _want_batches(new))


# -- the shared copy --------------------------------------------------------------------

@pytest.mark.slow
def test_shared_jpeg_zip_whole():
    if not SHARED_ZIP.exists():
        pytest.skip(f"shared CIFAR-10 copy not found at {SHARED_ZIP}")
    X, y, Xt, yt = read_cifar10(SHARED_ZIP)
    assert X.shape == (50000, 3, 32, 32) and Xt.shape == (10000, 3, 32, 32)
    np.testing.assert_array_equal(np.bincount(y, minlength=10), 5000)
    np.testing.assert_array_equal(np.bincount(yt, minlength=10), 1000)
    # labels follow the sorted class folders: the first 5,000 are airplanes
    assert (y[:5000] == 0).all() and (yt[-1000:] == 9).all()
    # pixel checksums (Pillow 13 / libjpeg-turbo decoding of the stored JPEGs)
    assert int(X.sum(dtype=np.int64)) == 18537712937
    assert int(Xt.sum(dtype=np.int64)) == 3732740007
    assert hashlib.sha256(X[0].tobytes()).hexdigest()[:16] == "f68fa80ca620ea97"
    assert read_cifar10(SHARED_ZIP.parent)[0] is X  # the folder holding it; cached


# -- errors -----------------------------------------------------------------------------

def _one_line_error(path, match=None, named=None):
    """The message of reading ``path``: one line, naming ``named`` (default ``path``)."""
    with pytest.raises(DataFileError) as info:
        read_cifar10(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("cifar10: ")
    assert str(path if named is None else named) in msg, msg
    if match is not None:
        assert match in msg, msg
    assert isinstance(info.value, ValueError)
    return msg


def _py(tmp_path):
    return _write_py(tmp_path / "cifar-10-batches-py", _tiny())


def _bin(tmp_path):
    return _write_bin(tmp_path / "cifar-10-batches-bin", _tiny())


def _pickled(obj):
    return pickle.dumps(obj, protocol=2)


def _break(kind):
    """A function (tmp_path) -> (path to read, text the message must hold)."""

    def py_file(name, content, match):
        def make(tmp_path):
            folder = _py(tmp_path)
            (folder / name).write_bytes(content(folder / name) if callable(content)
                                        else content)
            return folder / name, match
        return make

    good = _tiny()[0][0].reshape(3, -1)
    cases = {
        "missing": lambda p: (p / "nope", "does not exist"),
        "empty-folder": lambda p: (p, "holds none of"),
        "not-a-zip": lambda p: ((p / "a.txt").write_text("hi") and p / "a.txt", "not a .zip"),
        "py-missing-file": lambda p: ((_py(p) / "test_batch").unlink() or
                                      p / "cifar-10-batches-py", "test_batch"),
        "py-truncated": py_file("data_batch_2", lambda f: f.read_bytes()[:-40], "truncated"),
        "py-garbage": py_file("data_batch_3", b"\x00garbage not a pickle", "python batch"),
        "py-not-dict": py_file("data_batch_1", _pickled([1, 2, 3]), "dict"),
        "py-no-data": py_file("data_batch_1", _pickled({b"labels": [1]}), "data"),
        "py-shape": py_file("test_batch", _pickled({b"data": good[:, :3000],
                                                    b"labels": [1, 2, 3]}), "(n, 3072)"),
        "py-dtype": py_file("test_batch", _pickled({b"data": good.astype(np.float32),
                                                    b"labels": [1, 2, 3]}), "uint8"),
        "py-label": py_file("data_batch_4", _pickled({b"data": good, b"labels": [1, 10, 3]}),
                            "label 10"),
        "py-negative": py_file("data_batch_4", _pickled({b"data": good,
                                                         b"labels": [1, -1, 3]}), "label -1"),
        "py-count": py_file("data_batch_5", _pickled({b"data": good, b"labels": [1, 2]}),
                            "2 labels for 3 images"),
        "bin-missing-file": lambda p: ((_bin(p) / "data_batch_3.bin").unlink() or
                                       p / "cifar-10-batches-bin", "data_batch_3.bin"),
        "bin-truncated": lambda p: (_truncate(_bin(p) / "data_batch_2.bin"), "3073"),
        "bin-empty": lambda p: (_empty(_bin(p) / "test_batch.bin"), "0 bytes"),
        "bin-label": lambda p: (_bad_label(_bin(p) / "data_batch_1.bin"), "label 11"),
        "img-corrupt": lambda p: (_img_file(p, b"\x89PNG\r\n\x1a\n broken"), "decodable"),
        "img-size": lambda p: (_img_file(p, _encode(np.zeros((3, 16, 16), np.uint8))),
                               "16x16"),
        "img-class": lambda p: ((_write_tree(p, _tree()) / "train" / "cats").mkdir() or
                                p / "train" / "cats", "class folder"),
        "img-missing-class": lambda p: (_drop_class(_write_tree(p, _tree())), "frog"),
        "img-no-test": lambda p: ((p / "train").mkdir() or p, "no test/"),
        "zip-corrupt": lambda p: ((p / "c.zip").write_bytes(b"PK\x03\x04 nope") and
                                  p / "c.zip", "readable .zip"),
        "zip-empty": lambda p: (_empty_zip(p / "e.zip"), "no train/"),
        "zip-two": lambda p: (_write_zip(p / "a.zip", _tree()) and
                              _write_zip(p / "b.zip", _tree()) and p, "2 .zip files"),
        "zip-member": lambda p: (_bad_member(p / "m.zip"), "decodable"),
    }
    return cases[kind]


def _truncate(f):
    f.write_bytes(f.read_bytes()[:-100])
    return f


def _empty(f):
    f.write_bytes(b"")
    return f


def _bad_label(f):
    raw = bytearray(f.read_bytes())
    raw[c10.RECORD_BYTES] = 11  # the second record's label byte
    f.write_bytes(bytes(raw))
    return f


def _img_file(root, content):
    _write_tree(root, _tree())
    f = root / "test" / "dog" / "0000.png"
    f.write_bytes(content)
    return f


def _drop_class(root):
    for f in (root / "test" / "frog").iterdir():
        f.unlink()
    return root


def _empty_zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "nothing here")
    return path


def _bad_member(path):
    _write_zip(path, _tree())
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("train/ship/9999.jpg", b"\xff\xd8 not a jpeg")
    return path


BROKEN = ["missing", "empty-folder", "not-a-zip", "py-missing-file", "py-truncated",
          "py-garbage", "py-not-dict", "py-no-data", "py-shape", "py-dtype", "py-label",
          "py-negative", "py-count", "bin-missing-file", "bin-truncated", "bin-empty",
          "bin-label", "img-corrupt", "img-size", "img-class", "img-missing-class",
          "img-no-test", "zip-corrupt", "zip-empty", "zip-two", "zip-member"]


@pytest.mark.parametrize("kind", BROKEN)
def test_bad_data_gives_one_line_error_naming_the_path(tmp_path, kind):
    root = tmp_path.resolve()
    path, match = _break(kind)(root)
    # the user passes the top folder (or the path itself); the message names the culprit
    _one_line_error(path if kind in ("missing", "not-a-zip") else root, match, named=path)


def test_error_for_a_folder_names_what_was_expected(tmp_path):
    msg = _one_line_error(tmp_path.resolve())
    for part in ("cifar-10-batches-py/", "cifar-10-batches-bin/", "train/ + test/", ".zip"):
        assert part in msg


def test_not_a_path():
    with pytest.raises(DataFileError, match="not a path"):
        read_cifar10(3.5)


# -- the restricted unpickler -----------------------------------------------------------

class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _EvalEvil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return eval, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.mark.parametrize("evil, name", [(_Evil, "system"), (_EvalEvil, "eval")])
@pytest.mark.parametrize("where", ["top", "inside"])
def test_forbidden_pickle_is_refused_and_not_run(tmp_path, evil, name, where):
    folder = _py(tmp_path / "data")
    marker = tmp_path / "marker"
    obj = evil(marker)
    if where == "inside":
        obj = {b"data": obj, b"labels": [0]}
    (folder / "data_batch_2").write_bytes(pickle.dumps(obj, protocol=2))
    msg = _one_line_error(folder, "refused global", named=folder / "data_batch_2")
    assert name in msg
    assert not marker.exists()
    # the payload is live: the same kind of pickle, loaded normally, does run
    live = tmp_path / "live"
    pickle.loads(pickle.dumps(evil(live), protocol=2))  # noqa: S301 (on purpose)
    assert live.exists()


def test_unpickler_allows_only_array_reconstruction():
    allowed = c10._allowed_globals()
    modules = {m for m, _ in allowed}
    assert modules <= {"numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                       "numpy.core.numeric", "numpy._core.numeric", "_codecs"}
    with pytest.raises(pickle.UnpicklingError, match="refused global os.getcwd"):
        c10._RestrictedUnpickler(io.BytesIO(b"")).find_class("os", "getcwd")


# -- load_dataset("cifar10") --------------------------------------------------------------

@pytest.fixture()
def tiny_dir(tmp_path):
    """Binary batches: 20 images per data batch (10 per class in all), 20 test images."""
    return write_tiny_cifar10(tmp_path)


def _raw_of(d, X):
    """Un-standardise X back to (n, C, 32, 32) pixel values."""
    C = len(d.mean)
    return X.astype(np.float64).reshape(len(X), C, 32, 32) * d.std[:, None, None] \
        + d.mean[:, None, None]


def test_load_cifar10_shapes(tiny_dir):
    flat = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2)
    assert flat.X_train.shape == (80, 3072) and flat.input_shape == (3072,)
    assert flat.X_val.shape == (20, 3072) and flat.X_test.shape == (20, 3072)
    assert flat.X_train.dtype == np.float32 and flat.y_train.dtype == np.int64
    img = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2, shape="image")
    assert img.X_train.shape == (80, 3, 32, 32) and img.input_shape == (3, 32, 32)
    np.testing.assert_array_equal(img.X_train.reshape(80, -1), flat.X_train)
    g = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2, grayscale=True)
    assert g.X_train.shape == (80, 1024) and g.mean.shape == (1,)
    gi = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2, grayscale=True,
                      shape="image", dtype=np.float64)
    assert gi.X_test.shape == (20, 1, 32, 32) and gi.X_test.dtype == np.float64
    # default val_fraction for cifar10 is 0.1 (10 of 100), the official test split is kept
    d = load_dataset("cifar10", data_dir=tiny_dir)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (90, 10, 20)
    assert d.summary()["name"] == "cifar10"


def test_load_cifar10_split_stratified_and_fixed(tiny_dir):
    d = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2)
    np.testing.assert_array_equal(np.bincount(d.y_val, minlength=10), 2)
    np.testing.assert_array_equal(np.bincount(d.y_train, minlength=10), 8)
    np.testing.assert_array_equal(np.bincount(d.y_test, minlength=10), 2)
    again = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2)
    np.testing.assert_array_equal(again.X_val, d.X_val)
    # train and validation are disjoint and together the whole training split
    X_all, _, X_test, y_test = read_cifar10(tiny_dir)
    rows = {r.tobytes() for r in X_all}
    back = [{np.rint(_raw_of(d, X)).astype(np.uint8)[i].tobytes() for i in range(len(X))}
            for X in (d.X_train, d.X_val)]
    assert back[0] | back[1] == rows and not back[0] & back[1]
    np.testing.assert_array_equal(np.rint(_raw_of(d, d.X_test)).astype(np.uint8), X_test)
    np.testing.assert_array_equal(d.y_test, y_test)


def test_load_cifar10_standardised_with_training_statistics(tiny_dir):
    d = load_dataset("cifar10", data_dir=tiny_dir, val_fraction=0.2, shape="image")
    Xtr = d.X_train.astype(np.float64)
    np.testing.assert_allclose(Xtr.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(Xtr.std(axis=(0, 2, 3)), 1.0, rtol=1e-5)
    assert d.mean.shape == (3,) and d.std.shape == (3,)
    raw = _raw_of(d, d.X_train)
    np.testing.assert_allclose(d.mean, raw.mean(axis=(0, 2, 3)), atol=1e-3)
    # the test images are shifted in green: standardised with training stats, not theirs
    assert d.X_test[:, 1].mean() > 0.5 and abs(d.X_test[:, 0].mean()) < 0.2


def test_load_cifar10_grayscale_is_pillow_luma(tiny_dir):
    d = load_dataset("cifar10", data_dir=tiny_dir, grayscale=True, shape="image")
    _, _, X_test, _ = read_cifar10(tiny_dir)
    want = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x.transpose(1, 2, 0)))
                                .convert("L")) for x in X_test])
    got = np.rint(_raw_of(d, d.X_test)[:, 0]).astype(np.uint8)
    np.testing.assert_array_equal(got, want)


def test_load_cifar10_class_subsets(tiny_dir):
    d = load_dataset("cifar10", data_dir=tiny_dir, classes=[7, 3], val_fraction=0.2,
                     shape="image")
    assert d.classes == (7, 3) and d.n_classes == 2
    for X, y in ((d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)):
        assert set(np.unique(y)) == {0, 1}
        orig = np.rint(_raw_of(d, X)[:, 0, 0, 0] / 20).astype(int)  # pixel encodes the label
        np.testing.assert_array_equal(orig, np.array([7, 3])[y])
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (16, 4, 4)
    d4 = load_dataset("cifar10", data_dir=tiny_dir, classes=4, val_fraction=0.2)
    assert d4.classes == (0, 1, 2, 3) and len(d4.y_test) == 8


def test_load_dataset_data_dir_rules(tiny_dir):
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="data_dir is for dataset 'cifar10' only"):
        load_dataset("digits", data_dir=tiny_dir)
    with pytest.raises(ValueError, match="grayscale"):
        load_dataset("digits", grayscale=True)
    with pytest.raises(DataFileError, match="does not exist"):
        load_dataset("cifar10", data_dir=tiny_dir / "nope")


def test_train_config_cifar10_options(tiny_dir):
    with pytest.raises(ValueError, match="--data-dir") as info:
        TrainConfig(dataset="cifar10")
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="cifar10 only"):
        TrainConfig(data_dir=str(tiny_dir))
    c = TrainConfig(dataset="cifar10", data_dir=tiny_dir, grayscale=1)
    assert c.data_dir == str(tiny_dir) and c.grayscale is True
    assert TrainConfig.from_dict(c.to_dict()) == c
    hist = train(TrainConfig(dataset="cifar10", data_dir=str(tiny_dir), grayscale=True,
                             epochs=1, hidden=8, depth=1, classes=3))
    assert hist["data"]["input_shape"] == [1024] and hist["data"]["n_classes"] == 3
    assert hist["data"]["n_train"] + hist["data"]["n_val"] == 30

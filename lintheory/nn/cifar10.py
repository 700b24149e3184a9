"""Reading CIFAR-10 from disk, in the formats users have it, into uint8 arrays.

:func:`read_cifar10` takes a path and returns ``(X_train, y_train, X_test, y_test)``:
``X_*`` uint8 of shape ``(N, 3, 32, 32)`` (channels first: red, green, blue planes, rows
top to bottom), ``y_*`` int64 labels ``0..9`` in the official class order
:data:`CLASSES`; the official 50,000 / 10,000 train/test split. ``path`` may be

- the "python version": a folder holding ``cifar-10-batches-py/`` (``data_batch_1`` ..
  ``data_batch_5`` and ``test_batch``, pickled dicts with ``b"data"``, uint8
  ``(n, 3072)``, and ``b"labels"``), or that folder itself;
- the "binary version": a folder holding ``cifar-10-batches-bin/``
  (``data_batch_1.bin`` .. ``data_batch_5.bin``, ``test_batch.bin``; 3,073-byte records:
  one label byte, then 1,024 red, 1,024 green and 1,024 blue bytes, row-major), or that
  folder itself;
- an image-folder tree ``train/<class>/*.png|jpg`` and ``test/<class>/*.png|jpg`` with
  the official class names as folder names, as a folder, as a ``.zip`` file (the zip
  itself, or a folder holding exactly one ``.zip``; one top-level folder inside the zip
  is allowed). Images are decoded with Pillow and converted to RGB; file names are
  sorted so the order is deterministic.

Safety: the pickled batches are read with a restricted unpickler that never imports
what a file names. It resolves only the handful of NumPy and codec callables those files
use to rebuild their arrays (taken from objects already in memory, not looked up by the
name in the file); any other global is refused with an error naming it, before it can be
called. Nothing is ever written to disk.

Errors: a missing or wrong path, a truncated or corrupt file, data of the wrong shape or
a label outside ``0..9`` raise :class:`DataFileError` (a ``ValueError``) with a one-line
message naming the path and what was expected there.

Decoded arrays are cached in process memory, keyed by the resolved path and the
modification times and sizes of the files read (decoding 60,000 JPEGs takes several
seconds); the cached arrays are read-only.
"""

from __future__ import annotations

import codecs
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataFileError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
N_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
RECORD_BYTES = 1 + 3 * 32 * 32  # binary version: label byte + 3,072 pixel bytes

PY_DIR = "cifar-10-batches-py"
BIN_DIR = "cifar-10-batches-bin"
PY_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
BIN_FILES = tuple(f"{f}.bin" for f in PY_FILES)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")

EXPECTED = (f"{PY_DIR}/, {BIN_DIR}/, train/ + test/ image folders, or a .zip of them")

_CACHE: dict[tuple, tuple] = {}


def _fail(path, why: str) -> DataFileError:
    text = f"cifar10: {path} {why}"
    return DataFileError(" ".join(text.split()))  # always one line


# -- restricted unpickling -------------------------------------------------------------

def _allowed_globals() -> dict:
    """(module, name) -> object for the globals the official batch files use.

    The objects come from values already in memory (an array's and a scalar's own
    ``__reduce__``), so no module is imported because a file names it.
    """
    arr = np.zeros(1, dtype=np.uint8)
    reconstruct = arr.__reduce__()[0]          # numpy.(_)core.multiarray._reconstruct
    frombuffer = arr.__reduce_ex__(5)[0]       # numpy.(_)core.numeric._frombuffer
    scalar = np.int64(0).__reduce__()[0]       # numpy.(_)core.multiarray.scalar
    out = {}
    for core in ("numpy.core", "numpy._core"):
        out[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        out[(f"{core}.multiarray", "scalar")] = scalar
        out[(f"{core}.numeric", "_frombuffer")] = frombuffer
    out[("numpy", "ndarray")] = np.ndarray
    out[("numpy", "dtype")] = np.dtype
    out[("_codecs", "encode")] = codecs.encode  # bytes in protocol-2 pickles from Python 3
    return out


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :func:`_allowed_globals` and refuses anything else."""

    _allowed = None

    def find_class(self, module, name):
        if _RestrictedUnpickler._allowed is None:
            _RestrictedUnpickler._allowed = _allowed_globals()
        try:
            return _RestrictedUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name} (only NumPy array reconstruction is allowed)"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused persistent id")


def _load_pickle_batch(path: Path):
    """(X uint8 (n, 3, 32, 32), y int64 (n,)) from one python-version batch file."""
    try:
        with open(path, "rb") as f:
            d = _RestrictedUnpickler(f, encoding="bytes").load()
    except pickle.UnpicklingError as e:
        raise _fail(path, f"is not a valid CIFAR-10 python batch ({e})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            ImportError, MemoryError, OverflowError, RecursionError) as e:
        why = "is truncated" if isinstance(e, EOFError) else f"is corrupt ({type(e).__name__})"
        raise _fail(path, f"{why}; expected a pickled CIFAR-10 python batch") from None
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if not isinstance(d, dict):
        raise _fail(path, f"holds a {type(d).__name__}, expected a dict with data and labels")
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise _fail(path, "has no 'data' and 'labels' entries; expected a CIFAR-10 python batch")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072 or data.shape[0] == 0:
        shape = getattr(data, "shape", None)
        dt = getattr(data, "dtype", type(data).__name__)
        raise _fail(path, f"holds data of shape {shape} and type {dt}; expected uint8 (n, 3072)")
    try:
        y = np.asarray(labels)
    except (ValueError, TypeError):
        raise _fail(path, "holds labels that are not a list of integers") from None
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) != len(data):
        raise _fail(path, f"holds {y.size} labels for {len(data)} images; "
                          "expected one integer label per image")
    y = _check_labels(path, y)
    return data.reshape((len(data),) + IMAGE_SHAPE), y


def _check_labels(path, y) -> np.ndarray:
    y = np.asarray(y).astype(np.int64)
    bad = (y < 0) | (y >= N_CLASSES)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise _fail(path, f"holds label {int(y[i])} at record {i}; expected labels 0..9")
    return y


def _load_binary_batch(path: Path):
    """(X uint8 (n, 3, 32, 32), y int64 (n,)) from one binary-version batch file."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise _fail(path, f"has {raw.size} bytes, not a positive multiple of the "
                          f"{RECORD_BYTES}-byte CIFAR-10 binary record (truncated?)")
    rec = raw.reshape(-1, RECORD_BYTES)
    y = _check_labels(path, rec[:, 0])
    return rec[:, 1:].reshape((len(rec),) + IMAGE_SHAPE), y


def _read_batches(folder: Path, names, loader):
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise _fail(folder, f"lacks {', '.join(missing)}; expected {', '.join(names)}")
    parts = [loader(folder / n) for n in names]
    train, test = parts[:-1], parts[-1]
    X_train = np.concatenate([p[0] for p in train])
    y_train = np.concatenate([p[1] for p in train])
    return X_train, y_train, np.ascontiguousarray(test[0]), test[1]


# -- locating the data -----------------------------------------------------------------

def _stamp(files) -> tuple:
    out = []
    for f in files:
        st = os.stat(f)
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _locate(path: Path):
    """(kind, source, files whose stat keys the cache) for a user-given path."""
    if not path.exists():
        raise _fail(path, f"does not exist; expected a folder holding {EXPECTED}")
    if path.is_file():
        if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            return "zip", path, [path]
        raise _fail(path, f"is a file but not a .zip; expected a folder holding {EXPECTED}")
    if not path.is_dir():
        raise _fail(path, f"is neither a folder nor a file; expected a folder holding {EXPECTED}")
    for folder in (path / PY_DIR, path):
        if folder.is_dir() and (folder.name == PY_DIR or (folder / PY_FILES[0]).is_file()):
            return "py", folder, [folder / n for n in PY_FILES if (folder / n).is_file()]
    for folder in (path / BIN_DIR, path):
        if folder.is_dir() and (folder.name == BIN_DIR or (folder / BIN_FILES[0]).is_file()):
            return "bin", folder, [folder / n for n in BIN_FILES if (folder / n).is_file()]
    if (path / "train").is_dir() and (path / "test").is_dir():
        dirs = [path / "train", path / "test"]
        dirs += [d for s in dirs for d in s.iterdir() if d.is_dir()]
        return "images", path, dirs
    if (path / "train").is_dir() or (path / "test").is_dir():
        half = "train" if (path / "train").is_dir() else "test"
        other = "test" if half == "train" else "train"
        raise _fail(path, f"has {half}/ but no {other}/; expected train/ + test/ image folders")
    zips = sorted(p for p in path.iterdir() if p.suffix.lower() == ".zip" and p.is_file())
    if len(zips) == 1:
        return "zip", zips[0], zips
    if len(zips) > 1:
        raise _fail(path, f"holds {len(zips)} .zip files ({', '.join(z.name for z in zips)}); "
                          "expected exactly one .zip of train/ + test/ image folders")
    hint = ""
    if any(path.glob("cifar-10-*.tar.gz")):
        hint = " (extract the downloaded cifar-10-*.tar.gz archive first)"
    raise _fail(path, f"holds none of {EXPECTED}{hint}")


def read_cifar10(path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read CIFAR-10 from ``path``: ``(X_train, y_train, X_test, y_test)``.

    Parameters
    ----------
    path : str or path-like; a folder holding (or being) ``cifar-10-batches-py/`` or
        ``cifar-10-batches-bin/``, a folder with ``train/<class>/`` and
        ``test/<class>/`` image folders, a ``.zip`` of such a tree, or a folder holding
        exactly one such ``.zip``.

    Returns
    -------
    X_train : uint8 ``(N_train, 3, 32, 32)``, channels first (RGB).
    y_train : int64 ``(N_train,)``, labels ``0..9`` in the order of :data:`CLASSES`.
    X_test, y_test : the same for the test split.

    The arrays are cached in memory (keyed by the resolved path and the files' mtimes
    and sizes) and are read-only; copy them before modifying.

    Raises
    ------
    DataFileError
        (a ValueError) with a one-line message naming the path, for a missing path,
        missing, truncated or corrupt files, wrong shapes or labels outside 0..9.
    """
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise _fail(repr(path), "is not a path; expected a folder holding " + EXPECTED) from None
    try:
        p = p.resolve()
        kind, source, files = _locate(p)
        key = (kind, str(source), _stamp(files))
    except OSError as e:
        raise _fail(p, f"cannot be read ({e.strerror or e}); expected a folder holding "
                       f"{EXPECTED}") from None
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    from . import cifar10_images as images  # the image-folder and zip formats

    readers = {"py": lambda: _read_batches(source, PY_FILES, _load_pickle_batch),
               "bin": lambda: _read_batches(source, BIN_FILES, _load_binary_batch),
               "images": lambda: images.read_image_folders(source),
               "zip": lambda: images.read_zip(source)}
    try:
        arrays = readers[kind]()
    except OSError as e:
        raise _fail(source, f"cannot be read ({e.strerror or e}); expected {EXPECTED}") from None
    for a in arrays:
        a.setflags(write=False)
    # keep only the latest copy of each source: a re-read after a change replaces it
    for k in [k for k in _CACHE if k[:2] == key[:2]]:
        del _CACHE[k]
    _CACHE[key] = arrays
    return arrays


def clear_cache() -> None:
    """Forget every cached decoded CIFAR-10 copy."""
    _CACHE.clear()

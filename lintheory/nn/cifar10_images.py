"""CIFAR-10 as image folders: ``train/<class>/*.png|jpg`` and ``test/<class>/...``, as a
folder or inside a ``.zip`` (one top-level folder inside the zip allowed).

Part of :func:`lintheory.nn.cifar10.read_cifar10` (which locates the data and caches it);
images are decoded with Pillow, converted to RGB, and file names sorted so the order is
deterministic. Every problem raises :class:`~lintheory.nn.cifar10.DataFileError` naming
the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np

from .cifar10 import CLASSES, IMAGE_EXTENSIONS, IMAGE_SHAPE, N_CLASSES, _fail  # noqa: F401


def _class_label(name: str):
    try:
        return CLASSES.index(name.lower())
    except ValueError:
        return None


def _is_image(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not base.startswith(".") and base.lower().endswith(IMAGE_EXTENSIONS)


def _decode(where, data: bytes, out: np.ndarray) -> None:
    """Decode one image file's bytes into ``out`` (uint8 (3, 32, 32))."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as im:
            rgb = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise _fail(where, f"is not a decodable image ({type(e).__name__}); "
                           "expected a 32x32 PNG or JPEG") from None
    if rgb.shape != (32, 32, 3):
        raise _fail(where, f"is a {rgb.shape[1]}x{rgb.shape[0]} image; expected 32x32")
    out[...] = rgb.transpose(2, 0, 1)


def _check_tree(where, entries) -> None:
    """``entries``: {split: [(label, ...), ...]}; every split needs all ten classes."""
    for split in ("train", "test"):
        have = {e[0] for e in entries[split]}
        if len(have) < N_CLASSES:
            lack = [CLASSES[c] for c in range(N_CLASSES) if c not in have]
            raise _fail(where, f"has no {split} images of {', '.join(lack)}; expected "
                               f"{split}/<class>/*.png|jpg for the classes {', '.join(CLASSES)}")


def _assemble(where, entries, read_bytes):
    out = []
    for split in ("train", "test"):
        items = entries[split]
        X = np.empty((len(items),) + IMAGE_SHAPE, dtype=np.uint8)
        y = np.empty(len(items), dtype=np.int64)
        for i, (label, key, shown) in enumerate(items):
            _decode(shown, read_bytes(key), X[i])
            y[i] = label
        out += [X, y]
    return tuple(out)


def _folder_entries(root: Path):
    entries = {}
    for split in ("train", "test"):
        items = []
        for d in sorted((root / split).iterdir()):
            if d.name.startswith(".") or not d.is_dir():
                continue
            label = _class_label(d.name)
            if label is None:
                raise _fail(d, f"is not a CIFAR-10 class folder; expected one of "
                               f"{', '.join(CLASSES)}")
            items += [(label, f, f) for f in sorted(d.iterdir())
                      if f.is_file() and _is_image(f.name)]
        entries[split] = items
    _check_tree(root, entries)
    return entries


def read_image_folders(root: Path):
    entries = _folder_entries(root)

    def read_bytes(f):
        try:
            return f.read_bytes()
        except OSError as e:
            raise _fail(f, f"cannot be read ({e.strerror or e})") from None

    return _assemble(root, entries, read_bytes)


_ZIP_NAME = re.compile(r"^(?:([^/]+)/)?(train|test)/([^/]+)/([^/]+)$")


def _zip_entries(path: Path, zf: zipfile.ZipFile):
    entries = {"train": [], "test": []}
    prefixes = set()
    for info in zf.infolist():
        name = info.filename
        if info.is_dir() or name.startswith("__MACOSX/") or not _is_image(name):
            continue
        m = _ZIP_NAME.match(name)
        if m is None:
            continue
        prefix, split, cls, _ = m.groups()
        label = _class_label(cls)
        if label is None:
            raise _fail(path, f"holds {name}, not in a CIFAR-10 class folder; expected "
                              f"{split}/<class>/ with class one of {', '.join(CLASSES)}")
        prefixes.add(prefix)
        entries[split].append((label, info, f"{path}:{name}"))
    if len(prefixes) > 1:
        raise _fail(path, f"holds image trees under several folders "
                          f"({', '.join(sorted(p or '.' for p in prefixes))}); expected one "
                          "train/ + test/ tree")
    if not entries["train"] and not entries["test"]:
        raise _fail(path, "holds no train/<class>/*.png|jpg or test/<class>/*.png|jpg images; "
                          "expected a .zip of train/ + test/ image folders")
    for split in entries:
        entries[split].sort(key=lambda e: e[1].filename)
    _check_tree(path, entries)
    return entries


def read_zip(path: Path):
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise _fail(path, f"is not a readable .zip ({type(e).__name__}); expected a .zip of "
                          "train/ + test/ image folders") from None
    with zf:
        entries = _zip_entries(path, zf)

        def read_bytes(info):
            try:
                return zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError,
                    NotImplementedError) as e:
                raise _fail(f"{path}:{info.filename}", f"cannot be read from the zip "
                            f"({type(e).__name__}: {e})") from None

        return _assemble(path, entries, read_bytes)



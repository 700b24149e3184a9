"""Safe writing of results (JSON, NPZ, figures): atomic, and careful with what is there.

Every file lintheory writes goes through these helpers. What happens depends on what is
already at the path (:func:`write_target`):

- nothing, or a regular file: the content is written to a temporary file in the
  destination folder and renamed over the target, so an interrupted run (Ctrl-C,
  SIGTERM, a full disk) never leaves a half-written file behind; an existing file keeps
  its permission bits (and owner, when allowed);
- a read-only regular file (no write bit for its owner): refused with a ``ValueError``,
  also as root, where the operating system would not refuse;
- a symbolic link: written through: the link's target is replaced atomically, the link
  stays;
- a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe): written
  directly, never replaced (the content is staged in a temporary file first, so a writer
  that fails midway sends nothing);
- a folder, a block device or a socket: refused with a ``ValueError``.

Outputs made of several files (JSON + NPZ, PNG + PDF + JSON) are written together with
:func:`atomic_outputs`: all of them, or (on any error or interrupt) none, and the files
that were there before are left untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

import numpy as np

from .json_format import _json_text, _to_builtin, read_json  # noqa: F401 (re-exported)

_NAME_ROOM = 20  # characters a temporary name adds to the target's: ".", ".", 8 random, ...


def check_output_path(path) -> Path:
    """``ValueError`` if ``path`` could not be written (see :func:`write_target`); creates
    nothing.

    Commands call it before long work, so a bad output path fails in a second, not after.
    """
    path = Path(path)
    if str(path) in ("", "."):
        raise ValueError("the output path is empty")
    existing = _existing_parent(path)
    if not existing.is_dir():  # the same words mkdir would give at write time
        why = "File exists" if existing == path.parent else "Not a directory"
        raise ValueError(f"cannot create output folder {path.parent}: {why}")
    if not _writable_folder(existing):
        raise ValueError(f"output folder {existing} is not writable")
    _check_name(path)
    if path.exists() or path.is_symlink():
        write_target(path)
    return path


def _check_name(path: Path) -> None:
    try:
        limit = os.pathconf(_existing_parent(path), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(path.name)) > limit:
        raise ValueError(f"output file name {path.name[:40]}... is too long "
                         f"({len(os.fsencode(path.name))} bytes; at most {limit})")


def _existing_parent(path: Path) -> Path:
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def write_target(path) -> tuple[str, Path]:
    """How :func:`atomic_path` will write ``path``: ``("replace", file)`` or
    ``("direct", device)``; ``ValueError`` naming the path if it must not be written.

    ``file`` is where the new content goes: ``path`` itself, or the final target of a
    symbolic link (a dangling link's target is created).
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):  # the folder check says why, later
        return "replace", target
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror}") from None
    mode = st.st_mode
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "direct", target
    if stat.S_ISDIR(mode):
        raise ValueError(f"cannot write {path}: it is a folder; give a file name")
    if not stat.S_ISREG(mode):
        kind = "a block device" if stat.S_ISBLK(mode) else "a socket or other special file"
        raise ValueError(f"cannot write {path}: it is {kind}; refusing to replace it")
    if not mode & stat.S_IWUSR:
        raise ValueError(f"{path} is read-only (mode {stat.S_IMODE(mode):04o}); not replacing "
                         "it (make it writable, or choose another name)")
    return "replace", target


def _writable_folder(folder: Path) -> bool:
    """Writable by this process, and with its owner's write bit set: like read-only files,
    a folder marked read-only is respected also by root (who could write it anyway)."""
    try:
        owner_write = bool(os.stat(folder).st_mode & stat.S_IWUSR)
    except OSError:
        return False
    return owner_write and os.access(folder, os.W_OK)


def ensure_parent(path) -> Path:
    """Create ``path``'s folder if needed; ``ValueError`` if it cannot exist or be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output folder {path.parent}: {exc.strerror}") from None
    if not _writable_folder(path.parent):
        raise ValueError(f"output folder {path.parent} is not writable")
    return path


def _temp_beside(target: Path, suffix: str) -> Path:
    """A new empty temporary file beside ``target`` (a short name if ``target``'s is long)."""
    name = target.name
    if len(os.fsencode(name)) + len(suffix) + _NAME_ROOM > 255:
        name = name[:64]
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    return Path(tmp)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _give_mode(tmp: Path, target: Path) -> None:
    """The existing target's mode and owner, or the usual 0666 & ~umask for a new file."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        return
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(OSError):
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            os.chown(tmp, st.st_uid, st.st_gid)


def _copy_to_device(tmp: Path, device: Path, shown: Path) -> None:
    try:
        with open(tmp, "rb") as src, open(device, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(shown)) from None


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path to write; on success its content becomes ``path``.

    The parent folder is created if needed. ``suffix`` (default: ``path``'s suffix) is
    kept so that writers that infer the format from the name (matplotlib) still work.
    What is at ``path`` decides how (see the module docstring and :func:`write_target`):
    a regular file is replaced atomically keeping its mode, a symbolic link is written
    through, a character device or FIFO is written directly. On any exception (Ctrl-C
    included) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    suffix = suffix if suffix is not None else path.suffix
    how, target = write_target(path)
    if how == "direct":
        fd, tmp = tempfile.mkstemp(prefix=".lintheory.", suffix=suffix)
        os.close(fd)
        tmp = Path(tmp)
        try:
            yield tmp
            _copy_to_device(tmp, target, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return
    ensure_parent(target)
    _check_name(target)
    tmp = _temp_beside(target, suffix)
    try:
        yield tmp
        _give_mode(tmp, target)
        os.replace(tmp, target)
    except OSError as exc:  # a full disk, a quota...: name the file meant, not the temp
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise _named(exc, {str(tmp): path}, path) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _named(exc: OSError, temps: dict, default) -> OSError:
    """``exc`` with the output's path as its file name instead of a temporary one (or none)."""
    name = exc.filename
    if name is not None and str(name) not in temps:
        return exc
    shown = temps.get(str(name), default) if name is not None else default
    if shown is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(shown)) if exc.errno else exc


class StagedOutputs:
    """The files of one output, staged by :func:`atomic_outputs` and committed together.

    Use its writers like the module's functions (same arguments); nothing appears at the
    target paths before the ``with`` block ends without an error.
    """

    def __init__(self):
        self._staged = []  # (temporary path, target path, how, shown path)
        self._targets = set()

    def path(self, path, suffix: str | None = None) -> Path:
        """A temporary path to write; it becomes ``path`` when the block commits."""
        path = Path(path)
        how, target = write_target(path)
        key = os.path.abspath(target)
        if key in self._targets:
            raise ValueError(f"{path} is written twice by one output")
        suffix = suffix if suffix is not None else path.suffix
        if how == "direct":
            fd, tmp = tempfile.mkstemp(prefix=".lintheory.", suffix=suffix)
            os.close(fd)
        else:
            ensure_parent(target)
            _check_name(target)
            tmp = _temp_beside(target, suffix)
        self._targets.add(key)
        self._staged.append((Path(tmp), target, how, path))
        return Path(tmp)

    def write_json(self, path, data: dict) -> Path:
        """:func:`lintheory.io.write_json`, staged."""
        text = _json_text(data)
        self.path(path).write_text(text)
        return Path(path)

    def write_npz(self, path, **arrays) -> Path:
        """:func:`lintheory.io.write_npz`, staged."""
        np.savez_compressed(self.path(path, suffix=".npz"), **arrays)
        return Path(path)

    def save_figure(self, fig, stem, formats=("png", "pdf"), dpi: int = 150, *,
                    tight: bool = True) -> list[Path]:
        """:func:`lintheory.io.save_figure`, staged."""
        out = []
        for fmt in formats:
            path = figure_path(stem, fmt)
            _savefig(fig, self.path(path), fmt, dpi, tight)
            out.append(path)
        return out

    def _discard(self):
        for tmp, *_ in self._staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _commit(self):
        backups, done = [], []
        try:
            for _tmp, target, how, _ in self._staged:  # keep the old files until all are in
                if how == "replace" and target.exists():
                    backup = _temp_beside(target, ".old")
                    os.unlink(backup)
                    try:
                        os.link(target, backup)
                    except OSError:  # no hard links here (FAT, some network file systems)
                        shutil.copy2(target, backup)
                    backups.append((backup, target))
            for tmp, target, how, shown in self._staged:
                if how == "direct":
                    _copy_to_device(tmp, target, shown)
                else:
                    _give_mode(tmp, target)
                    os.replace(tmp, target)
                done.append(target)
        except BaseException:
            restored = {t for _, t in backups}
            for backup, target in backups:
                with contextlib.suppress(OSError):
                    os.replace(backup, target)
            for target in done:
                if target not in restored and target.is_file():
                    with contextlib.suppress(OSError):
                        os.unlink(target)
            raise
        finally:
            for backup, _ in backups:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(backup)
            self._discard()


@contextlib.contextmanager
def atomic_outputs():
    """Stage several output files and write them all at the end, or none of them.

    ::

        with atomic_outputs() as out:
            out.save_figure(fig, "figures/figure2")          # .png and .pdf
            out.write_json("figures/figure2.json", data)
        # here all three files are in place; after an error or Ctrl-C, none has changed

    Every path is checked when it is staged (:func:`write_target`), so a bad one fails
    before the others are written. The commit renames each file into place after hard
    links keep the previous versions; if a rename fails they are put back.
    """
    staged = StagedOutputs()
    try:
        yield staged
    except OSError as exc:
        staged._discard()
        temps = {str(tmp): shown for tmp, _, _, shown in staged._staged}
        last = staged._staged[-1][3] if staged._staged else None
        raise _named(exc, temps, last) from None
    except BaseException:
        staged._discard()
        raise
    staged._commit()


def write_json(path, data: dict) -> Path:
    """Write ``data`` (numpy arrays allowed) as indented JSON, atomically.

    Non-finite floats are refused: results are never written with NaN in them.
    """
    text = _json_text(data)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_npz(path, **arrays) -> Path:
    """Write arrays to a compressed NPZ file, atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return Path(path)


def figure_path(stem, fmt: str) -> Path:
    """``stem.fmt``: the format's suffix is appended (``f/exp.a`` -> ``f/exp.a.png``, so
    two stems never share a file), unless ``stem`` already ends in ``.fmt``."""
    stem = Path(stem)
    if stem.suffix.lower() == "." + fmt.lower():
        return stem
    return stem.with_name(f"{stem.name}.{fmt}")


def _savefig(fig, tmp, fmt, dpi, tight):
    meta = {"CreationDate": None} if fmt == "pdf" else None
    fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None,
                metadata=meta)


def save_figure(fig, stem, formats=("png", "pdf"), dpi: int = 150, *,
                tight: bool = True) -> list[Path]:
    """Save a matplotlib figure as ``stem.png``, ``stem.pdf`` ... all or none, atomically.

    The suffix is appended to ``stem`` (:func:`figure_path`). The PDF carries no creation
    date, so the same figure gives the same bytes on every run (re-running a command leaves
    a clone clean). ``tight=False`` keeps the figure's own layout and skips the extra
    drawing pass that ``bbox_inches="tight"`` costs per format.
    """
    with atomic_outputs() as out:
        return out.save_figure(fig, stem, formats, dpi, tight=tight)

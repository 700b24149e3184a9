"""A writer that is safe for what is at the path (issue 14, item 3): devices and FIFOs are
written directly, symbolic links written through, read-only files refused, modes kept, a
full disk leaves nothing behind, and multi-file outputs are complete or absent.

The command cases run ``python -m lintheory train`` (the smallest command with ``--out``)
in real subprocesses; the multi-file cases call :func:`lintheory.io.atomic_outputs` and
:func:`lintheory.io.save_figure` directly.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from robustness_helpers import assert_one_line_error, run_cli, snapshot  # noqa: E402

from lintheory.cli import main  # noqa: E402
from lintheory.io import (  # noqa: E402
    atomic_outputs,
    figure_path,
    save_figure,
    write_json,
    write_npz,
)

TRAIN = ("train", "--hidden", "8", "--depth", "1", "--epochs", "1", "--quiet")


def _train(out, cwd=None):
    return run_cli(*TRAIN, "--out", out, cwd=cwd)


def _is_result(path):
    return _is_train_json(open(path).read())


def _is_train_json(text):
    rec = json.loads(text)
    return rec["command"] == "train" and 0 <= rec["summary"]["test_acc"]["mean"] <= 1


def test_dev_null_is_written_not_replaced(tmp_path):
    before = os.stat("/dev/null")
    res = _train("/dev/null", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert list(tmp_path.iterdir()) == []


def test_dev_full_is_one_line_naming_it(tmp_path):
    res = _train("/dev/full", cwd=tmp_path)
    assert_one_line_error(res, "lintheory train: error:", "No space left on device",
                          "/dev/full", code=2)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert list(tmp_path.iterdir()) == []


def test_fifo_is_written_directly(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo) as f:
            got["text"] = f.read()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    write_json(fifo, {"x": [1, 2]})
    t.join(30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the pipe
    assert json.loads(got["text"]) == {"x": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.json"]


def test_symbolic_link_is_written_through(tmp_path):
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.json"
    real.write_text("{}\n")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    res = _train(link)
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert _is_result(real)
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["real.json"]


def test_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    write_json(link, {"x": 1})
    assert link.is_symlink() and json.loads((tmp_path / "new.json").read_text()) == {"x": 1}


def test_read_only_file_is_refused_and_left_unchanged(tmp_path):
    ro = tmp_path / "ro.json"
    ro.write_text('{"old": true}\n')
    os.chmod(ro, 0o444)
    before = snapshot(tmp_path)
    res = _train(ro)
    assert_one_line_error(res, str(ro), "read-only", code=2)
    assert snapshot(tmp_path) == before


def test_existing_file_keeps_its_mode(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("{}\n")
    os.chmod(out, 0o600)
    write_json(out, {"x": 1})
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    new = tmp_path / "new.json"
    write_json(new, {"x": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("name, needle", [("adir", "is a folder"), ("", "empty"),
                                          ("x" * 300 + ".json", "too long")],
                         ids=["directory", "empty", "300-char-name"])
def test_unwritable_names_are_one_line_errors(tmp_path, capsys, monkeypatch, name, needle):
    """In process (the error comes before any work); the directory case also for real."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    before = snapshot(tmp_path)
    out = str(tmp_path / name) if name else ""
    try:
        code = main([*TRAIN, "--out", out])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("lintheory train: error: ") and needle in err
    assert snapshot(tmp_path) == before
    if name == "adir":
        assert_one_line_error(_train(tmp_path / name), "is a folder", code=2)
        assert snapshot(tmp_path) == before


def test_a_250_character_name_works(tmp_path):
    out = tmp_path / ("n" * 245 + ".json")
    write_json(out, {"x": 1})
    assert json.loads(out.read_text()) == {"x": 1} and sorted(tmp_path.iterdir()) == [out]


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs mounted at tmp_path/tiny (skipped where mounting is not allowed)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_full_file_system_leaves_the_old_file_and_no_temporary(tiny_fs):
    out = tiny_fs / "out.json"
    out.write_text('{"old": true}\n')
    f = open(tiny_fs / "filler", "wb", buffering=0)  # fill the file system to the last block
    try:
        while True:
            f.write(b"\0" * 1024)
    except OSError:
        pass
    finally:
        f.close()
    before = snapshot(tiny_fs)
    res = _train(out)
    assert_one_line_error(res, "No space left on device", str(out), code=2)
    assert snapshot(tiny_fs) == before


# --- several files: complete or absent ---------------------------------------------------


def test_atomic_outputs_writes_all_files_or_none(tmp_path):
    old = {"a.json": b'{"old": 1}\n', "a.npz": b"old npz"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    before = snapshot(tmp_path)
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), atomic_outputs() as out:
            out.write_npz(tmp_path / "a.npz", x=np.arange(3))
            out.write_json(tmp_path / "a.json", {"new": 1})
            out.write_json(tmp_path / "b.json", {"new": 1})
            raise exc
        assert snapshot(tmp_path) == before  # nothing changed, no temporary file
    with atomic_outputs() as out:
        out.write_npz(tmp_path / "a.npz", x=np.arange(3))
        out.write_json(tmp_path / "a.json", {"new": 1})
    assert np.load(tmp_path / "a.npz")["x"].tolist() == [0, 1, 2]
    assert json.loads((tmp_path / "a.json").read_text()) == {"new": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npz"]


def test_a_bad_path_among_several_fails_before_anything_is_written(tmp_path):
    ro = tmp_path / "fig.pdf"
    ro.write_bytes(b"old pdf")
    os.chmod(ro, 0o444)
    before = snapshot(tmp_path)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    with pytest.raises(ValueError, match="fig.pdf is read-only"):
        save_figure(fig, tmp_path / "fig")  # the PNG would be fine: it is not written
    plt.close(fig)
    assert snapshot(tmp_path) == before


def test_two_stems_with_dots_do_not_share_files(tmp_path):
    assert figure_path(tmp_path / "exp.a", "png") != figure_path(tmp_path / "exp.b", "png")
    assert figure_path(tmp_path / "fig.png", "png") == tmp_path / "fig.png"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    a = save_figure(fig, tmp_path / "exp.a", formats=("png",))
    b = save_figure(fig, tmp_path / "exp.b", formats=("png",))
    plt.close(fig)
    assert a != b and all(p.exists() for p in a + b)


def test_api_writers_refuse_folders_and_write_devices(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        write_json(tmp_path, {"x": 1})
    write_npz("/dev/null", x=np.zeros(2))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(OSError, match="/dev/full"):
        write_json("/dev/full", {"x": 1})

"""The figure commands write their files together or not at all (issue 14, item 3):
``animate`` (GIF + JSON), ``figure3`` (PNG + PDF + JSON), ``figure4`` (PNG + PDF + NPZ +
JSON), each ``demo`` step (PNG + PDF + JSON). A failure while the last file is written
leaves no new file and no temporary file, and the files already there unchanged."""

from __future__ import annotations

import pytest
from robustness_helpers import snapshot

from lintheory import io
from lintheory.cli import main


@pytest.fixture
def failing_json(monkeypatch):
    """Make the staged JSON (the last file of every output here) fail midway."""

    def boom(self, path, data):
        self.path(path).write_text("{ half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(io.StagedOutputs, "write_json", boom)


ANIM = ["animate", "--frames", "3", "--T", "2", "--n", "6", "--m", "5", "--d", "2", "--k", "6",
        "--samples", "60", "--rank", "1", "--quiet"]


def test_animate_failure_leaves_the_old_gif_and_no_new_file(tmp_path, failing_json, capsys):
    (tmp_path / "a.gif").write_bytes(b"old gif")
    before = snapshot(tmp_path)
    assert main([*ANIM, "--out", str(tmp_path / "a.gif")]) == 1
    assert "disk on fire" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
    assert main([*ANIM, "--out", str(tmp_path / "new.gif")]) == 1
    assert snapshot(tmp_path) == before


def test_animate_writes_both_files(tmp_path):
    assert main([*ANIM, "--out", str(tmp_path / "a.gif")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "a.json"]


def test_figure3_failure_writes_no_figure_file(tmp_path, failing_json):
    out = tmp_path / "figs"
    out.mkdir()
    args = ["figure3", "--quick", "--panels", "b", "--seeds", "1", "--epochs", "1",
            "--ranks", "1", "--results", str(tmp_path / "res"), "--out", str(out / "fig3"),
            "--workers", "1", "--quiet"]
    assert main(args) == 1
    assert not any(out.iterdir())  # the sweep's results are in res/, no figure file


def test_demo_step_failure_writes_no_figure_file(tmp_path, failing_json):
    from lintheory.demo import STEPS, run_demo

    with pytest.raises(RuntimeError, match="disk on fire"):
        run_demo(tmp_path / "demo", quiet=True, steps=[STEPS[0]], echo=lambda *a: None)
    assert not (tmp_path / "demo").exists() or not any((tmp_path / "demo").iterdir())


def test_figure4_failure_writes_no_figure_npz_or_json(tmp_path, tiny_cifar_dir, monkeypatch,
                                                       failing_json):
    import dataclasses

    import lintheory.figure4 as f4

    f4._DATA.clear()
    tiny = f4.Figure4Config(seeds=(0,), channels=3, kernel=3, crop=8, ventral=1, dense=6,
                            bottleneck=1, ranks=(1,), n_train=40, n_eval=10, epochs=1,
                            data_dir=str(tiny_cifar_dir))
    monkeypatch.setitem(f4.PRESETS, "quick", dataclasses.replace(tiny))
    out = tmp_path / "figs"
    out.mkdir()
    (out / "fig4.png").write_bytes(b"old png")
    before = snapshot(out)
    assert main(["figure4", "--data-dir", str(tiny_cifar_dir), "--quick", "--quiet",
                 "--results", str(tmp_path / "res"), "--out", str(out / "fig4")]) == 1
    assert snapshot(out) == before  # the old PNG kept; no PDF, NPZ, JSON or temporary

"""Every example script runs end to end in quick mode (LINTHEORY_QUICK=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick(script, tmp_path):
    env = dict(os.environ, LINTHEORY_QUICK="1", LINTHEORY_EXAMPLES_OUT=str(tmp_path),
               MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, script.name], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pngs = list(tmp_path.glob("*.png"))
    assert pngs, f"{script.name} wrote no figure"
    assert all(p.stat().st_size > 10_000 for p in pngs)

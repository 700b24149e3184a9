"""``lintheory.load_run`` gives back what ``lintheory simulate`` wrote (JSON + NPZ).

Reference: the JSON's own mode strengths and loss (written by the run), and the arrays in
the NPZ; an inconsistent or missing file is a one-line error naming it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lintheory import load_run
from lintheory.cli import main
from lintheory.errors import DataFileError


@pytest.mark.parametrize("extra", [[], ["--depth", "3", "--lam", "0.1", "--init-scale", "0.3"],
                                   ["--rule", "draf", "--depth", "3", "--lam", "0.1"]])
def test_round_trip_of_simulate(tmp_path, extra):
    out = tmp_path / "r.json"
    assert main(["simulate", "--method", "both", "--T", "2", "--points", "5", "--quiet",
                 "--out", str(out), *extra]) == 0
    data = json.loads(out.read_text())
    run = load_run(out)
    np.testing.assert_array_equal(run["ode"].mode_strengths, data["mode_strengths"])
    np.testing.assert_array_equal(run["ode"].loss, data["loss"])
    np.testing.assert_array_equal(run["sgd"].mode_strengths, data["sgd"]["mode_strengths"])
    assert run["ode"].depth == (3 if extra else 2)
    assert run["parameters"]["rule"] == data["parameters"]["rule"]


def test_missing_or_wrong_files_name_the_path(tmp_path):
    with pytest.raises(DataFileError, match="nope.json: cannot be read"):
        load_run(tmp_path / "nope.json")
    out = tmp_path / "r.json"
    assert main(["simulate", "--T", "1", "--points", "3", "--quiet", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    data["parameters"]["seed"] = 5          # another task than the one in the NPZ
    out.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match="r.npz: its singular values differ"):
        load_run(out)

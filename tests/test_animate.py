"""``lintheory animate``: the GIF holds the requested frames and its JSON the ODE curves."""

import json

import numpy as np
from PIL import Image

from lintheory import integrate, make_init, make_task
from lintheory.cli import main


def test_animate_writes_gif_and_matching_json(tmp_path):
    out = tmp_path / "a.gif"
    code = main(["animate", "--out", str(out), "--frames", "4", "--T", "5", "--n", "6", "--m", "5",
                 "--d", "2", "--k", "6", "--samples", "100", "--rank", "1", "--quiet"])
    assert code == 0
    with Image.open(out) as im:
        assert im.n_frames == 4
    data = json.loads(out.with_suffix(".json").read_text())
    assert [p["rule"] for p in data["panels"]] == ["bp", "fa", "raf"]
    # the curves are the ODE's: recompute the RAF panel independently
    task = make_task(6, 5, 2, 100, seed=0)
    w0 = make_init(task, 6, 1, scale=1e-3, rng=np.random.default_rng(1))
    traj = integrate(task, "raf", w0, data["times"])
    np.testing.assert_allclose(data["panels"][2]["mode_strengths"], traj.mode_strengths,
                               rtol=1e-9, atol=1e-12)


def test_animate_rejects_bad_output_name(tmp_path, capsys):
    assert main(["animate", "--out", str(tmp_path / "a.png"), "--quiet"]) == 2
    assert "--out must end in .gif" in capsys.readouterr().err

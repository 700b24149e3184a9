"""The example scripts: each runs alone in quick mode, and turns into a valid notebook.

``test_example_runs_alone`` copies each script into an empty folder and runs it there
(``LINTHEORY_QUICK=1``, ``MPLBACKEND=Agg``), so nothing but the installed lintheory is
importable; its figures are then stored in the examples' figure cache
(``$LINTHEORY_EXAMPLES_CACHE``, default pytest's cache folder
``.pytest_cache/d/lintheory-examples``), from which the docs build takes them instead of
running every example again (docs/building.md).
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lintheory import examples_support as es

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("[0-9][0-9]_*.py"))


def _figure_cache(request) -> Path:
    if os.environ.get(es.CACHE_ENV):
        return Path(os.environ[es.CACHE_ENV])
    return Path(request.config.cache.mkdir("lintheory-examples"))


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in (es.OUT_ENV, "MPLBACKEND")}
    return dict(env, **extra)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_alone(script, tmp_path, request):
    fingerprint = es.source_fingerprint(script)      # before the run: what it ran
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy2(script, alone / script.name)
    proc = subprocess.run([sys.executable, script.name], cwd=alone,
                          env=_env(LINTHEORY_QUICK="1", MPLBACKEND="Agg"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pngs = sorted((alone / "output").glob("*.png"))   # default: output/ beside the script
    assert [p.stem for p in pngs] == [script.stem], f"{script.name} wrote {pngs}"
    assert all(p.stat().st_size > 10_000 for p in pngs)
    assert f"figure: {pngs[0]}" in proc.stdout
    es.store_figures(_figure_cache(request), script, pngs, fingerprint)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_sets_no_backend(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute)
             and node.func.attr in ("use", "switch_backend")]
    assert not calls, f"{script.name} sets a matplotlib backend (line {calls[0].lineno})"
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"dataclasses", "matplotlib", "numpy", "threadpoolctl", "lintheory"}, \
        f"{script.name} imports {sorted(imported)}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_notebook_has_the_scripts_cells(script):
    nbformat = pytest.importorskip("nbformat")
    text = script.read_text(encoding="utf-8")
    nb = es.percent_to_notebook(text)
    nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
    cells = nb["cells"]
    assert len(cells) == sum(line.startswith("# %%") for line in text.splitlines())
    # The code cells are the whole program: the markdown cells are comments in the script.
    code = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert ast.dump(ast.parse(code)) == ast.dump(ast.parse(text))
    # Every markdown line is a comment line of the script, in order; the first is the title.
    md = [line for c in cells if c["cell_type"] == "markdown"
          for line in "".join(c["source"]).splitlines()]
    comments = iter(line.rstrip() for line in text.splitlines() if line.startswith("#"))
    assert all(("# " + line).rstrip() in comments for line in md)   # a subsequence
    assert cells[0]["cell_type"] == "markdown" and md[0].startswith("# ")


def test_percent_cells_by_hand():
    text = ("import os\n# %% [markdown]\n# # Title\n#\n# Some *text*.\n\n"
            "# %%\nx = 1\n\n# a comment\ny = 2\n\n# %%\n\n# %% [markdown]\n#no space\n")
    assert es.percent_cells(text) == [
        ("code", "import os"),
        ("markdown", "# Title\n\nSome *text*."),
        ("code", "x = 1\n\n# a comment\ny = 2"),
        ("markdown", "no space"),
    ]
    nb = es.percent_to_notebook(text)
    assert [c["id"] for c in nb["cells"]] == ["cell-0", "cell-1", "cell-2", "cell-3"]
    assert nb["cells"][2]["source"] == ["x = 1\n", "\n", "# a comment\n", "y = 2"]
    assert nb["cells"][1].get("outputs") is None and nb["cells"][0]["outputs"] == []


def test_figure_cache_round_trip(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(b"png-a")
    script = tmp_path / "07_x.py"
    script.write_text("print(1)\n")
    cache = tmp_path / "cache"
    assert es.cached_figures(cache, script, "f1") == []
    entry = es.store_figures(cache, script, [src / "a.png"], "f1")
    assert entry == cache / "07_x" / "f1"
    assert [p.read_bytes() for p in es.cached_figures(cache, script, "f1")] == [b"png-a"]
    assert es.cached_figures(cache, script, "f2") == []
    es.store_figures(cache, script, [src / "a.png"], "f2")       # replaces the old entry
    assert sorted(p.name for p in (cache / "07_x").iterdir()) == ["f2"]
    with pytest.raises(ValueError, match="figures must be existing .png files"):
        es.store_figures(cache, script, [src / "missing.png"], "f3")


def test_fingerprint_follows_the_script(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("x = 2\n")
    assert es.source_fingerprint(a) == es.source_fingerprint(a)
    assert es.source_fingerprint(a) != es.source_fingerprint(b)


def test_output_folder_and_name(tmp_path, monkeypatch):
    monkeypatch.setenv(es.OUT_ENV, str(tmp_path / "figs"))
    assert es.output_folder() == tmp_path / "figs"
    monkeypatch.delenv(es.OUT_ENV)
    monkeypatch.chdir(tmp_path)
    interactive = types.ModuleType("__main__")          # a notebook's kernel: no __file__
    monkeypatch.setitem(sys.modules, "__main__", interactive)
    assert es.output_folder() == tmp_path / "output"
    script = tmp_path / "elsewhere" / "07_x.py"            # python path/to/07_x.py
    script.parent.mkdir()
    script.write_text("")
    interactive.__file__ = str(script)
    assert es.output_folder() == script.parent / "output"
    with pytest.raises(ValueError, match="name must be a plain file name"):
        es.save_example_figure(None, "sub/name")
    for value, quick in (("", False), ("0", False), ("1", True), ("yes", True)):
        monkeypatch.setenv(es.QUICK_ENV, value)
        assert es.quick_mode() is quick


def test_notebook_runs_and_shows_its_figure_inline(tmp_path):
    """The first example as a notebook, on a fresh kernel with no backend chosen: the
    figure appears as an inline image (a forced Agg backend would show nothing)."""
    pytest.importorskip("ipykernel", reason="needs ipykernel to run a notebook")
    nbclient = pytest.importorskip("nbclient", reason="needs nbclient to run a notebook")
    nbformat = pytest.importorskip("nbformat")
    text = EXAMPLES[0].read_text(encoding="utf-8")
    nb = nbformat.reads(json.dumps(es.percent_to_notebook(text)), as_version=4)
    old = {k: os.environ.get(k) for k in ("MPLBACKEND", es.QUICK_ENV, es.OUT_ENV)}
    os.environ.pop("MPLBACKEND", None)
    os.environ.pop(es.OUT_ENV, None)
    os.environ[es.QUICK_ENV] = "1"
    try:
        nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    assert (tmp_path / "output" / f"{EXAMPLES[0].stem}.png").stat().st_size > 10_000

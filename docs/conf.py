"""Sphinx configuration of the lintheory documentation (build: see docs/README.md)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import lintheory  # noqa: E402
from lintheory import examples_support  # noqa: E402

# autosummary's recursive module discovery imports every submodule; lintheory/__main__.py
# runs the command line when imported, so a placeholder marked as a mock stands in for it
# (autosummary skips mocked modules).
_main = types.ModuleType("lintheory.__main__")
_main.__sphinx_mock__ = True
sys.modules.setdefault("lintheory.__main__", _main)


def _copy_derivations() -> None:
    """Mirror ``derivations/*.md`` into ``docs/derivations/`` (generated, not committed).

    The derivations stay at the top of the repository, readable on GitHub as they are; the
    copy lets Sphinx render them with their relative links intact. A file is rewritten only
    when its content changed, so incremental builds stay incremental.
    """
    src, dst = ROOT / "derivations", Path(__file__).parent / "derivations"
    dst.mkdir(exist_ok=True)
    for path in sorted(src.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        target = dst / path.name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            tmp = target.with_suffix(".md.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
    for stale in dst.glob("*.md"):
        if not (src / stale.name).exists():
            stale.unlink()


def _write_if_changed(target: Path, data: str | bytes) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not target.exists() or target.read_bytes() != raw:
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, target)


# --- The example gallery (docs/building.md, "Examples") --------------------------------

EXAMPLES_SRC = ROOT / "examples"
EXAMPLES_DST = Path(__file__).parent / "examples"       # generated, not committed
EXAMPLES_ON = os.environ.get("LINTHEORY_DOCS_EXAMPLES", "1") != "0"


def _figure_caches() -> list[Path]:
    """Where quick-run figures are looked up, in order: ``$LINTHEORY_EXAMPLES_CACHE``, the
    cache tests/test_examples.py fills (pytest's cache folder), the docs build's own."""
    caches = [ROOT / ".pytest_cache" / "d" / "lintheory-examples", EXAMPLES_DST / "_cache"]
    if os.environ.get(examples_support.CACHE_ENV):
        caches.insert(0, Path(os.environ[examples_support.CACHE_ENV]))
    return caches


def _run_example(script: Path, fingerprint: str) -> str | None:
    """Run ``script`` alone (a copy in an empty folder) in quick mode and store its figures
    in the docs build's cache; None on success, else the end of its error output."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lintheory-example-") as tmp:
        shutil.copy2(script, Path(tmp) / script.name)
        env = {k: v for k, v in os.environ.items() if k != examples_support.OUT_ENV}
        env.update(LINTHEORY_QUICK="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
        proc = subprocess.run([sys.executable, script.name], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=600)
        pngs = sorted((Path(tmp) / "output").glob("*.png"))
        if proc.returncode != 0 or not pngs:
            return (proc.stderr or "no figure written to output/")[-1500:]
        examples_support.store_figures(_figure_caches()[-1], script, pngs, fingerprint)
    return None


def _example_figures(scripts: list[Path]) -> dict[Path, list[Path]]:
    """Each script's quick-run figures: from a cache when one holds them for the current
    fingerprint (script + lintheory sources), else by running the script (two at a
    time). Prints where they came from; a script that fails stops the build."""
    from concurrent.futures import ThreadPoolExecutor

    fingerprints = {sc: examples_support.source_fingerprint(sc) for sc in scripts}

    def lookup(sc):
        for cache in _figure_caches():
            found = examples_support.cached_figures(cache, sc, fingerprints[sc])
            if found:
                return found, cache
        return [], None

    found = {sc: lookup(sc) for sc in scripts}
    missing = [sc for sc in scripts if not found[sc][0]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = dict(zip(missing, pool.map(lambda sc: _run_example(sc, fingerprints[sc]),
                                            missing)))
    failed = {sc.name: err for sc, err in errors.items() if err is not None}
    if failed:
        name, err = next(iter(failed.items()))
        raise RuntimeError(f"example {name} failed in quick mode (LINTHEORY_QUICK=1; "
                           f"LINTHEORY_DOCS_EXAMPLES=0 skips the examples):\n{err}")
    own = _figure_caches()[-1]
    from_tests = sum(found[sc][1] not in (None, own) for sc in scripts)
    print(f"lintheory examples: {len(scripts)} figures: {from_tests} made by the tests, "
          f"{len(scripts) - from_tests - len(missing)} by an earlier docs build, "
          f"{len(missing)} run now")
    return {sc: found[sc][0] or lookup(sc)[0] for sc in scripts}


def _example_title(script: Path) -> str:
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return script.stem


def _example_pages() -> None:
    """The gallery: one page per ``examples/NN_*.py`` in ``docs/examples/`` (generated,
    not committed) with the script's title, download links for the script and for a
    notebook made from its cells, the figure of a quick run and the source; and
    ``docs/examples/_gallery.md``, the grid of figures that docs/examples.md includes.

    ``LINTHEORY_DOCS_EXAMPLES=0`` leaves the figures out (nothing is run).
    """
    import json

    import nbformat

    EXAMPLES_DST.mkdir(exist_ok=True)
    scripts = sorted(EXAMPLES_SRC.glob("[0-9]*.py"))
    figures = _example_figures(scripts) if EXAMPLES_ON else {sc: [] for sc in scripts}
    grid = ["`````{container} lt-gallery\n"]
    for script in scripts:
        stem, title = script.stem, _example_title(script)
        text = script.read_text(encoding="utf-8")
        _write_if_changed(EXAMPLES_DST / script.name, text)
        nb = examples_support.percent_to_notebook(text)
        nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
        _write_if_changed(EXAMPLES_DST / f"{stem}.ipynb",
                          json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        fig_dir = EXAMPLES_DST / "_figures" / stem
        fig_dir.mkdir(parents=True, exist_ok=True)
        pngs = figures[script]
        for png in pngs:
            _write_if_changed(fig_dir / png.name, png.read_bytes())
        for stale in fig_dir.glob("*.png"):
            if stale.name not in {png.name for png in pngs}:
                stale.unlink()
        parts = [
            f"# {title}\n",
            f"Download: {{download}}`the script ({script.name}) <{script.name}>` · "
            f"{{download}}`the notebook ({stem}.ipynb) <{stem}.ipynb>`. The script runs "
            f"alone, with only lintheory installed: `python {script.name}`, or cell by cell "
            "in an editor that knows `# %%` cells; `LINTHEORY_QUICK=1` gives the quick "
            "version, and figures are saved to `output/` beside it.\n",
        ]
        if pngs:
            parts.append("Its figure, from a quick run (`LINTHEORY_QUICK=1`: smaller sizes "
                         "and shorter times than the full script):\n")
            parts += [f"```{{image}} _figures/{stem}/{png.name}\n:alt: the figure of "
                      f"examples/{script.name}\n:width: 100%\n```\n" for png in pngs]
        parts.append(f"```{{literalinclude}} {script.name}\n:language: python\n```\n")
        _write_if_changed(EXAMPLES_DST / f"{stem}.md", "\n".join(parts))
        grid.append("````{container} lt-gallery-item\n")
        if pngs:
            grid.append(f"```{{image}} /examples/_figures/{stem}/{pngs[0].name}\n"
                        f":alt: the figure of examples/{script.name}\n"
                        f":target: examples/{stem}.html\n```\n")
        grid.append(f"{{doc}}`{title} </examples/{stem}>`\n````\n")
    grid.append("`````\n")
    _write_if_changed(EXAMPLES_DST / "_gallery.md", "\n".join(grid))
    keep = {f"{sc.stem}{ext}" for sc in scripts for ext in (".md", ".py", ".ipynb")}
    for stale in [*EXAMPLES_DST.glob("*.md"), *EXAMPLES_DST.glob("*.py"),
                  *EXAMPLES_DST.glob("*.ipynb")]:
        if stale.name not in keep and stale.name != "_gallery.md":
            stale.unlink()


def _check_example_pages(app, exception) -> None:
    """After an HTML build: every example page links its notebook and script (both
    copied into the site) and, unless LINTHEORY_DOCS_EXAMPLES=0, shows its figure."""
    import re

    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    problems = []
    for script in sorted(EXAMPLES_SRC.glob("[0-9]*.py")):
        page = out / "examples" / f"{script.stem}.html"
        html = page.read_text(encoding="utf-8") if page.exists() else ""
        for name in (f"{script.stem}.ipynb", script.name):
            links = re.findall(rf'href="(\.\./_downloads/[0-9a-f]+/{re.escape(name)})"', html)
            if not links or not (page.parent / links[0]).is_file():
                problems.append(f"{page}: no download of {name}")
        if EXAMPLES_ON and not re.search(rf'<img[^>]+src="\.\./_images/{script.stem}', html):
            problems.append(f"{page}: no figure")
    if problems:
        raise RuntimeError("example pages incomplete:\n  " + "\n  ".join(problems))


_copy_derivations()
_example_pages()

project = "lintheory"
author = "the lintheory developers"
copyright = "2026, the lintheory developers"
version = release = lintheory.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "examples/_gallery.md", "examples/_cache"]

# MyST: $...$ / $$...$$ maths (the derivations use them) and GitHub-style heading anchors,
# so that links such as theory.md#5-fixed-points work on GitHub and in the built site.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# API reference: one page per module, generated from the package tree; a package page
# lists its __all__, a module page documents its public members.
autosummary_generate = True
autosummary_ignore_module_all = True   # find every submodule (automodule still honours __all__)
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"          # the NumPy-style docstrings state types and shapes

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

html_theme = "alabaster"
html_title = f"lintheory {release}"
html_static_path = ["_static"]
html_css_files = ["gallery.css"]   # the grid of example figures


# Docstrings, in modules the documentation does not own, whose reStructuredText does not
# parse (an indented block without "::"). They are shown verbatim, as a literal block,
# until fixed in the source; remove an entry once its docstring parses.
LITERAL_DOCSTRINGS = {
    "lintheory.nn.retina.build_retina_model",     # argument list
}


def _literal_docstring(app, what, name, obj, options, lines):
    if name in LITERAL_DOCSTRINGS and lines:
        body = [("    " + line) if line.strip() else "" for line in lines]
        lines[:] = ["::", "", *body, ""]


def setup(app):
    app.connect("autodoc-process-docstring", _literal_docstring, priority=900)
    app.connect("build-finished", _check_example_pages)

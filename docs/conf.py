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


def _write_if_changed(target: Path, text: str) -> None:
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)


def _source_hash(script: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for path in (script, script.parent / "_common.py"):
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


def _run_example(script: Path, out: Path) -> str | None:
    """Run ``script`` in quick mode with its figures going to ``out``; None on success,
    else the end of its error output. Skipped when ``out`` has figures of this source."""
    import shutil
    import subprocess

    stamp = out / ".source-sha256"
    digest = _source_hash(script)
    if stamp.exists() and stamp.read_text() == digest and any(out.glob("*.png")):
        return None
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = dict(os.environ, LINTHEORY_QUICK="1", LINTHEORY_EXAMPLES_OUT=str(out),
               MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, script.name], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return proc.stderr[-1500:]
    stamp.write_text(digest)
    return None


def _example_pages() -> None:
    """One page per ``examples/NN_*.py`` in ``docs/examples/`` (generated, not committed):
    the title of the script's first cell, the figures of a quick run and the source.

    The scripts run in quick mode (``LINTHEORY_QUICK=1``), two at a time; a script whose
    source did not change since its figures were made is not run again.
    ``LINTHEORY_DOCS_EXAMPLES=0`` skips running them (pages without figures). A script
    that fails stops the build with its error output.
    """
    from concurrent.futures import ThreadPoolExecutor

    dst = Path(__file__).parent / "examples"
    dst.mkdir(exist_ok=True)
    scripts = sorted((ROOT / "examples").glob("[0-9]*.py"))
    run = os.environ.get("LINTHEORY_DOCS_EXAMPLES", "1") != "0"
    figures = dst / "_figures"
    if run:
        with ThreadPoolExecutor(max_workers=2) as pool:
            errors = dict(zip(scripts, pool.map(
                lambda sc: _run_example(sc, figures / sc.stem), scripts)))
        failed = {sc.name: err for sc, err in errors.items() if err is not None}
        if failed:
            name, err = next(iter(failed.items()))
            raise RuntimeError(f"example {name} failed in quick mode (LINTHEORY_QUICK=1; "
                               f"LINTHEORY_DOCS_EXAMPLES=0 skips the examples):\n{err}")
    for script in scripts:
        title = script.stem
        for line in script.read_text(encoding="utf-8").splitlines():
            if line.startswith("# # "):
                title = line[4:].strip()
                break
        parts = [f"# {title}\n", f"`examples/{script.name}`; run it from the repository "
                 f"root with `python examples/{script.name}`.\n"]
        pngs = sorted((figures / script.stem).glob("*.png")) if run else []
        if pngs:
            parts.append("Its figure, from a quick run (`LINTHEORY_QUICK=1`: smaller sizes "
                         "and shorter times than the full script):\n")
            parts += [f"```{{image}} _figures/{script.stem}/{png.name}\n:alt: the figure "
                      f"of examples/{script.name}\n:width: 100%\n```\n" for png in pngs]
        parts.append(f"```{{literalinclude}} ../../examples/{script.name}\n"
                     ":language: python\n```\n")
        _write_if_changed(dst / f"{script.stem}.md", "\n".join(parts))
    for stale in dst.glob("*.md"):
        if not (ROOT / "examples" / f"{stale.stem}.py").exists():
            stale.unlink()


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
exclude_patterns = ["_build", "README.md"]

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
html_static_path: list[str] = []


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

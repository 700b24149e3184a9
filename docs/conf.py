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


def _example_pages() -> None:
    """One page per ``examples/NN_*.py`` in ``docs/examples/`` (generated, not committed):
    the title of the script's first cell and its source."""
    dst = Path(__file__).parent / "examples"
    dst.mkdir(exist_ok=True)
    scripts = sorted((ROOT / "examples").glob("[0-9]*.py"))
    for script in scripts:
        title = script.stem
        for line in script.read_text(encoding="utf-8").splitlines():
            if line.startswith("# # "):
                title = line[4:].strip()
                break
        page = (f"# {title}\n\n`examples/{script.name}` (run it from the repository root: "
                f"`python examples/{script.name}`)\n\n"
                f"```{{literalinclude}} ../../examples/{script.name}\n:language: python\n```\n")
        _write_if_changed(dst / f"{script.stem}.md", page)
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

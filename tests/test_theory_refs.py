"""Every "theory §N" reference in the repository points at a section of docs/theory.md, and
the anchors that page lists exist (GitHub / MyST heading slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THEORY = ROOT / "docs" / "theory.md"
SCANNED = ("lintheory", "derivations", "examples", "tests", "docs", "README.md")


def _slug(title: str) -> str:
    """GitHub's heading anchor (the one MyST's ``myst_heading_anchors`` reproduces)."""
    s = title.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def _headings():
    text = THEORY.read_text(encoding="utf-8")
    return re.findall(r"^(#{2,3}) (.+)$", text, flags=re.MULTILINE)


def test_slug_matches_github():
    assert _slug("5. Fixed points") == "5-fixed-points"
    assert _slug("5.2 The fixed point `S Pi`") == "52-the-fixed-point-s-pi"


def test_sections_are_numbered_one_to_n():
    numbers = [int(re.match(r"(\d+)\.", t).group(1)) for h, t in _headings() if h == "##"]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 7          # the numbering the references were written against


def test_listed_anchors_exist():
    text = THEORY.read_text(encoding="utf-8")
    slugs = {_slug(t) for _, t in _headings()}
    listed = set(re.findall(r"\]\(#([\w\-]+)\)", text))
    assert listed, "the page lists its anchors"
    assert listed <= slugs, sorted(listed - slugs)


def _references():
    pattern = re.compile(r"theory\s+§\s*(\d+)(?:\s*[-–]\s*(\d+))?")
    for top in SCANNED:
        base = ROOT / top
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.suffix in {".py", ".md"}
            and "_build" not in p.parts and "__pycache__" not in p.parts)
        for path in files:
            for m in pattern.finditer(path.read_text(encoding="utf-8", errors="replace")):
                lo = int(m.group(1))
                hi = int(m.group(2)) if m.group(2) else lo
                yield path.relative_to(ROOT), lo, hi


def test_every_reference_has_a_section():
    sections = {int(re.match(r"(\d+)\.", t).group(1)) for h, t in _headings() if h == "##"}
    refs = list(_references())
    assert refs, "the code refers to the theory page"
    bad = [(str(p), lo, hi) for p, lo, hi in refs
           if not set(range(lo, hi + 1)) <= sections]
    assert not bad, bad


@pytest.mark.parametrize("symbol", ["W1bar", "W2bar", "Pbar", "Sigma_yx = U S V^T", "S Pi",
                                    "r (d - r)", "Oja", "Saxe", "dRAF", "DFA", "KP-Q"])
def test_page_defines_the_notation(symbol):
    assert symbol in THEORY.read_text(encoding="utf-8")


def test_nothing_refers_to_a_document_outside_the_repository():
    """The product refers to its own theory page, never to the brief it started from
    (``grep -rn SPEC lintheory derivations README.md docs`` finds nothing)."""
    hits = []
    for top in ("lintheory", "derivations", "README.md", "docs"):
        base = ROOT / top
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and p.suffix in {".py", ".md", ".rst"}
            and not {"_build", "api", "__pycache__"} & set(p.parts)
            and not (p.parent.name in ("derivations", "examples")
                     and p.parent.parent.name == "docs"))
        for path in files:
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "SPEC" in line:
                    hits.append(f"{path.relative_to(ROOT)}:{i}")
    assert not hits, hits

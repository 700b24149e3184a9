"""Rewrite references to the external SPEC into references to the theory page.

The project used to cite a specification that is not part of the repository ("SPEC §5").
Its content now lives in ``docs/theory.md`` with the same section numbers, so every
reference can be rewritten mechanically:

====================================  ==========================================
before                                after
====================================  ==========================================
``SPEC §5``, ``SPEC §3-5``,           ``theory §5``, ``theory §3-5``, ...
``SPEC\\n§4`` (across a line break)    ``theory\\n§4``
``(SPEC 5)``                          ``(theory §5)``
``SPEC Eq. 3``                        ``paper Eq. 3`` (SPEC's equation numbers are the paper's)
``1-based SPEC names``                ``1-based names of theory §6``
``paper/SPEC``                        ``paper/theory page``
``the project's SPEC``                ``the project's theory page (docs/theory.md)``
``of\\nSPEC.`` (derivations/README)    ``of the\\ntheory page (docs/theory.md).``
====================================  ==========================================

Identifiers such as ``SPEC_FIELDS`` are left alone (``SPEC`` is matched as a whole word).
Any other ``SPEC`` word is reported and not changed. Every cited section number is checked
against the ``## N.`` headings of ``docs/theory.md``.

Usage::

    python tools/replace_spec_refs.py PATH...            # show what would change (dry run)
    python tools/replace_spec_refs.py --write PATH...    # rewrite the files (atomically)

PATH may be a file or a directory (``*.py`` and ``*.md`` files below it). The exit status is
1 when a reference could not be rewritten, a cited section does not exist on the theory
page, or a rewritten ``.py`` line is longer than 100 characters (fix those by hand).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THEORY = ROOT / "docs" / "theory.md"
MAX_LINE = 100

# (pattern, replacement), applied in order.
RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\bSPEC(\s+)§"), r"theory\1§"),
    (re.compile(r"\(SPEC (\d+)\)"), r"(theory §\1)"),
    (re.compile(r"\bSPEC Eq\. ?(\d+)"), r"paper Eq. \1"),
    (re.compile(r"\b1-based SPEC names\b"), "1-based names of theory §6"),
    (re.compile(r"\bpaper/SPEC\b"), "paper/theory page"),
    (re.compile(r"\bthe project's SPEC\b"), "the project's theory page (docs/theory.md)"),
    (re.compile(r"\bof\nSPEC\."), "of the\ntheory page (docs/theory.md)."),
]
LEFTOVER = re.compile(r"\bSPEC\b")
CITED = re.compile(r"theory\s+§\s*(\d+)(?:\s*[-–]\s*(\d+))?")


def theory_sections(path: Path = THEORY) -> set[int]:
    """Numbers N of the ``## N. Title`` headings of the theory page."""
    text = path.read_text(encoding="utf-8")
    return {int(x) for x in re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)}


def rewrite(text: str) -> tuple[str, int]:
    """Return ``(new_text, number_of_replacements)``."""
    total = 0
    for pattern, repl in RULES:
        text, n = pattern.subn(repl, text)
        total += n
    return text, total


def cited_sections(text: str) -> set[int]:
    """Section numbers cited as ``theory §N`` or ``theory §N-M`` in ``text``."""
    out: set[int] = set()
    for a, b in CITED.findall(text):
        lo = int(a)
        hi = int(b) if b else lo
        out.update(range(lo, hi + 1))
    return out


def iter_files(paths: list[str]):
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in {".py", ".md"}
                              and "__pycache__" not in q.parts)
        elif p.is_file():
            yield p
        else:
            raise SystemExit(f"replace_spec_refs: no such file or directory: {p}")


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="files or directories to rewrite")
    ap.add_argument("--write", action="store_true",
                    help="rewrite the files in place (without it: a dry run)")
    args = ap.parse_args(argv)
    sections = theory_sections()
    problems = 0
    changed = 0
    for path in iter_files(args.paths):
        old = path.read_text(encoding="utf-8")
        new, n = rewrite(old)
        for lineno, line in enumerate(new.splitlines(), 1):
            if LEFTOVER.search(line):
                print(f"{path}:{lineno}: not rewritten: {line.strip()}")
                problems += 1
        missing = cited_sections(new) - sections
        if missing:
            print(f"{path}: cites theory § {sorted(missing)}, not on {THEORY.name} "
                  f"(sections {sorted(sections)})")
            problems += 1
        if n == 0:
            continue
        changed += 1
        old_lines = old.splitlines()
        for lineno, line in enumerate(new.splitlines(), 1):
            was = old_lines[lineno - 1] if lineno <= len(old_lines) else ""
            if line != was:
                print(f"{path}:{lineno}: {line.strip()}")
                if path.suffix == ".py" and len(line) > MAX_LINE:
                    print(f"{path}:{lineno}: line now {len(line)} > {MAX_LINE} characters")
                    problems += 1
        if args.write:
            write_atomic(path, new)
    verb = "rewrote" if args.write else "would rewrite"
    print(f"replace_spec_refs: {verb} {changed} file(s); {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

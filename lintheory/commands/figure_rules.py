"""``lintheory figure-rules``: RAF, normative, Oja-only and factorised at r = d and r < d."""

from __future__ import annotations

from . import figure2 as _figure2

NAME = "figure-rules"
ORDER = 21
HELP = "the later version's rules (RAF, normative, Oja-only, factorised) at r = d and r < d"
DESCRIPTION = (
    "Figure 2's setting with other rules: two panels per rule, r = d and r = --rank-low < d "
    "(ODE lines, SGD markers, the rule's fixed-point prediction dashed: the top r modes for "
    "all four). Writes OUT.png, OUT.pdf and OUT.json (OUT: figures/figure_rules). Any "
    "registered rules can be given with --rules (lintheory.rules.RULES)."
)
DEFAULT_RULES = "raf,normative,oja,factorised"


def add_arguments(p) -> None:
    """The options of ``lintheory figure2``, with this figure's rules and file names."""
    _figure2.add_arguments(p, stem="figure_rules")
    p.set_defaults(rules=DEFAULT_RULES)


def run(args) -> int:
    """``lintheory figure-rules``: as ``figure2 --rules``; returns 0."""
    return _figure2.run(args)

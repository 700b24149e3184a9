"""The registry of symbolic checks run by ``lintheory verify``.

A check is a small record: a dotted ``name`` (``avg.fa.explicit``), the paper/theory page
equation numbers it establishes, a one-line title, and a function returning an
:class:`~lintheory.symbolic.common.Outcome`. Check functions take their ingredients as
keyword arguments with defaults (``flow``, ``rotate``, ``claim``, ``closed_form``...), so
the *same* check code can be run on a deliberately broken variant::

    CHECKS["avg.fa.explicit"].run(flow=mutants.sign_flip)   # -> FAILED

Register a check with the :func:`register` decorator in one of the group modules.
"""

from __future__ import annotations

import fnmatch
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .common import Outcome, residual_text

CHECKS: dict[str, Check] = {}

# Listing order of the check groups: the order of the steps in Appendix A and theory §5.
GROUP_ORDER = ("avg", "rot", "fp", "kp", "oja", "saxe", "deep")


def _order(check) -> tuple[int, int]:
    group = check.name.split(".")[0]
    pos = GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
    return pos, list(CHECKS).index(check.name)


@dataclass(frozen=True)
class CheckResult:
    """The result of running one check."""

    name: str
    equations: str
    title: str
    ok: bool
    residual: str
    detail: str
    seconds: float

    @property
    def status(self) -> str:
        """``"verified"`` or ``"FAILED"``."""
        return "verified" if self.ok else "FAILED"

    def as_dict(self) -> dict:
        """A JSON-ready dict of the result (seconds rounded)."""
        return {
            "name": self.name, "equations": self.equations, "title": self.title,
            "status": self.status, "ok": self.ok, "residual": self.residual,
            "detail": self.detail, "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True)
class Check:
    """One registered check."""

    name: str
    equations: str
    title: str
    func: Callable[..., Outcome] = field(repr=False)

    @property
    def ingredients(self) -> tuple[str, ...]:
        """The keyword arguments (``flow``, ``rotate``...) a broken variant may replace."""
        return tuple(inspect.signature(self.func).parameters)

    def run(self, **overrides) -> CheckResult:
        """Run the check; ``overrides`` it does not take are ignored.

        Any exception (a shape error from a missing transpose, an empty solution set...)
        is reported as FAILED with the exception as the residual.
        """
        kwargs = {k: v for k, v in overrides.items() if k in self.ingredients}
        t0 = time.perf_counter()
        try:
            out = self.func(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a failing check must report, not crash
            out = Outcome(False, residual_text(f"{type(exc).__name__}: {exc}"))
        dt = time.perf_counter() - t0
        return CheckResult(self.name, self.equations, self.title, bool(out.ok),
                           out.residual, out.detail, dt)


def register(name: str, equations: str, title: str):
    """Decorator adding a check function to :data:`CHECKS` under ``name``."""

    def deco(func):
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        CHECKS[name] = Check(name, equations, title, func)
        return func

    return deco


def select(pattern: str | None = None) -> list[Check]:
    """Checks whose name matches ``pattern``, in :data:`GROUP_ORDER`, then registration order.

    ``pattern`` is a glob (``fp.*``, ``*raf*``) or a comma-separated list of globs; a
    pattern without wildcards also matches as a prefix (``avg`` selects ``avg.*``).
    """
    from .deep_checks import sync_rule_checks

    sync_rule_checks()  # rules registered since import get their checks
    if not pattern:
        return sorted(CHECKS.values(), key=_order)
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    out = []
    for c in CHECKS.values():
        for p in pats:
            if fnmatch.fnmatchcase(c.name, p) or (
                not any(ch in p for ch in "*?[") and c.name.startswith(p)
            ):
                out.append(c)
                break
    return sorted(out, key=_order)


def run_checks(pattern: str | None = None, *, progress=None, **overrides) -> list[CheckResult]:
    """Run the selected checks (see :func:`select`) and return their results.

    ``progress`` is an optional callable receiving each :class:`CheckResult` as it ends.
    """
    results = []
    for c in select(pattern):
        res = c.run(**overrides)
        if progress is not None:
            progress(res)
        results.append(res)
    return results

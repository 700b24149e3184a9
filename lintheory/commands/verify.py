"""``lintheory verify``: run the symbolic checks of the derivations (theory §3-5, Appendix A)."""

from __future__ import annotations

NAME = "verify"
HELP = "check the derivations and fixed points symbolically (SymPy)"
DESCRIPTION = (
    "Run every symbolic check of the linear theory: the averaged learning rules (A1-A12, "
    "A27-A36), the rotation by the SVD of Sigma_yx (A13-A25, A37-A49), the fixed points "
    "(Eq. 6, theory §5), KP-Q alignment, Oja's rule and the Saxe et al. mode equation. "
    "Every check calls the same flow function the ODE integrator compiles. Prints a "
    "table (check, equations, result, seconds); exit status 1 if any check fails. "
    "The documents in derivations/ name the check behind each step."
)
ORDER = 15


def add_arguments(parser) -> None:
    """Add the options of ``lintheory verify`` to ``parser``."""
    parser.add_argument("--only", metavar="PATTERN", default=None,
                        help="run only checks whose name matches this glob (e.g. 'fp.*', "
                        "'*raf*'); comma-separated globs allowed; a plain word is a prefix")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument("--break", dest="broken", metavar="VARIANT", default=None,
                        help="run the checks on a deliberately broken ingredient (e.g. "
                        "sign_flip, missing_transpose, rotate_q_too) to see them fail")
    parser.add_argument("--quiet", action="store_true", help="print only failures and the total")


def _table(results, total) -> str:
    w_name = max([len("check")] + [len(r.name) for r in results])
    w_eq = max([len("equations")] + [len(r.equations) for r in results])
    lines = [f"{'check':<{w_name}}  {'equations':<{w_eq}}  {'result':<8}  {'seconds':>7}",
             f"{'-' * w_name}  {'-' * w_eq}  {'-' * 8}  {'-' * 7}"]
    for r in results:
        lines.append(f"{r.name:<{w_name}}  {r.equations:<{w_eq}}  {r.status:<8}  "
                     f"{r.seconds:7.2f}")
        if not r.ok:
            lines.append(f"{'':<{w_name}}  residual: {r.residual}")
    n_ok = sum(r.ok for r in results)
    lines.append(f"{n_ok}/{len(results)} verified in {total:.1f} s")
    return "\n".join(lines)


def run(args) -> int:
    """``lintheory verify``: run the selected symbolic checks; returns 1 if any failed, else 0."""
    import json
    import sys
    import time

    from ..symbolic import mutants, run_checks, select

    checks = select(args.only)
    if not checks:
        raise ValueError(f"--only {args.only!r} matches no check; see 'lintheory verify --list'")
    if args.list:
        for c in checks:
            print(f"{c.name:<20}  {c.equations:<28}  {c.title}")
        return 0
    overrides = mutants.overrides(args.broken) if args.broken else {}

    def progress(res):
        if not args.json and not args.quiet and sys.stderr.isatty():
            print(f"  {res.name} ... {res.status}", file=sys.stderr)

    t0 = time.perf_counter()
    results = run_checks(args.only, progress=progress, **overrides)
    total = time.perf_counter() - t0
    failed = [r for r in results if not r.ok]
    if args.json:
        print(json.dumps({"broken_variant": args.broken, "seconds": round(total, 3),
                          "passed": len(results) - len(failed), "failed": len(failed),
                          "checks": [r.as_dict() for r in results]}, indent=2))
    elif args.quiet:
        for r in failed:
            print(f"FAILED {r.name} ({r.equations}): {r.residual}")
        print(f"{len(results) - len(failed)}/{len(results)} verified in {total:.1f} s")
    else:
        if args.broken:
            print(f"broken variant: {args.broken} (checks are expected to FAIL)")
        print(_table(results, total))
    return 1 if failed else 0

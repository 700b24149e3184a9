"""The settings of a linear run, validated once at the boundary, and the CLI options for them.

:class:`RunSettings` holds every engine setting a linear run shares across depths and
commands: the rule's hyperparameters (``lam``, ``wd``, ``p_rate``, ``oja_scale``,
``oja_drive``), the ODE solver (``solver``, ``rtol``, ``atol``) and the discrete run
(``lr``, ``batch``). It is frozen and checks every field when it is built, so
:func:`lintheory.experiments.simulate`, :func:`lintheory.dynamics.integrate` and
:func:`lintheory.sgd.run_sgd` given ``settings=`` do not check them again.

The command-line options of ``simulate``, ``figure2``, ``figure-deep`` and ``sweep`` are
made from the same table (:data:`OPTIONS`, :func:`add_arguments`, :func:`from_args`), so a
name, a help text or a check cannot drift between them; each command passes only its
defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from ._validate import check_choice, check_float, check_int, check_rates
from .rules import DEFAULT_OJA_DRIVE, OJA_DRIVES

SOLVERS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
"""``scipy.integrate.solve_ivp`` methods."""


def parse_batch(value):
    """``"full"``, ``"online"`` or a positive integer (from a CLI string or a value)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("full", "online"):
            return text
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"batch (--batch) must be full, online or an integer >= 1; "
                             f"got {value!r}") from None
    value = check_int("batch (mini-batch size)", value, low=1)
    return value


@dataclass(frozen=True)
class RunSettings:
    """Engine settings of a linear run (any depth), validated on construction.

    Attributes
    ----------
    lam : float >= 0
        Decay of ``Q`` (KP-Q, RAF, dRAF).
    wd : float >= 0
        Weight decay on every ``W``.
    p_rate : float >= 0
        Oja time-scale ratio ``eta_P / eta``.
    oja_scale : bool
        Normalise every error-driven Oja covariance by its largest per-unit variance.
    oja_drive : "error" or "targets"
        What a direct rule's ``P`` learns from.
    solver, rtol, atol
        ``solve_ivp`` method and tolerances (both > 0).
    lr : float > 0
        SGD learning rate; ``t = lr * steps``.
    batch : "full", "online" or int >= 1
        SGD batch (its upper bound, the number of samples, is checked with the task).
    """

    lam: float = 0.0
    wd: float = 0.0
    p_rate: float = 1.0
    oja_scale: bool = True
    oja_drive: str = DEFAULT_OJA_DRIVE
    solver: str = "RK45"
    rtol: float = 1e-7
    atol: float = 1e-9
    lr: float = 0.01
    batch: object = "full"

    def __post_init__(self):
        lam, wd, p_rate = check_rates(self.lam, self.wd, self.p_rate)
        values = {
            "lam": lam, "wd": wd, "p_rate": p_rate, "oja_scale": bool(self.oja_scale),
            "oja_drive": check_choice("oja_drive", self.oja_drive, OJA_DRIVES),
            "solver": self.solver if not isinstance(self.solver, str)
            else check_choice("solver", self.solver, SOLVERS),
            "rtol": check_float("rtol", self.rtol, low=0.0, low_open=True),
            "atol": check_float("atol", self.atol, low=0.0, low_open=True),
            "lr": check_float("lr (learning rate)", self.lr, low=0.0, low_open=True),
            "batch": parse_batch(self.batch),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes) -> RunSettings:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)

    @property
    def rates(self) -> tuple[float, float, float]:
        """``(lam, wd, p_rate)``."""
        return self.lam, self.wd, self.p_rate


FIELDS = tuple(f.name for f in fields(RunSettings))

OPTIONS = {
    "lam": ("--lam", float, "decay of Q (KP-Q, RAF, dRAF)"),
    "wd": ("--wd", float, "weight decay on every W"),
    "p_rate": ("--p-rate", float, "Oja rate ratio eta_P / eta"),
    "oja_drive": ("--oja-drive", str, "what a direct rule's P learns from: the output error "
                  "(as the paper's authors and the NumPy engine do) or the targets "
                  "(Sigma_yy)"),
    "solver": ("--solver", str, "solve_ivp method (RK45, DOP853, LSODA, ...)"),
    "rtol": ("--rtol", float, "ODE relative tolerance"),
    "atol": ("--atol", float, "ODE absolute tolerance"),
    "lr": ("--lr", float, "SGD learning rate (t = lr x steps)"),
    "batch": ("--batch", str, "SGD batch: full, online or a mini-batch size"),
}
"""Field -> (CLI flag, argparse type, help) for every :class:`RunSettings` field but
``oja_scale`` (a Python-API switch)."""


def add_arguments(parser, names=tuple(OPTIONS), defaults=None) -> None:
    """Add the options for the :class:`RunSettings` fields ``names`` to ``parser``.

    ``defaults``: a :class:`RunSettings` or a dict of the command's own defaults (the
    class defaults otherwise).
    """
    base = RunSettings().to_dict()
    if defaults is not None:
        base.update(defaults.to_dict() if isinstance(defaults, RunSettings) else defaults)
    for name in names:
        flag, typ, text = OPTIONS[name]
        kw = {"choices": OJA_DRIVES} if name == "oja_drive" else {}
        parser.add_argument(flag, type=typ, default=base[name] if name != "batch"
                            else str(base[name]), help=text, **kw)


def from_args(args, names=tuple(OPTIONS), base: RunSettings | None = None) -> RunSettings:
    """The validated :class:`RunSettings` of parsed arguments (other fields from ``base``)."""
    base = base or RunSettings()
    return base.replace(**{name: getattr(args, name) for name in names})

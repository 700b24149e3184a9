"""Exceptions raised by lintheory (besides ``ValueError`` for bad arguments)."""


class DivergenceError(RuntimeError):
    """A run produced non-finite or exploding weights (theory §3 SGD or §4 ODE).

    Attributes
    ----------
    step : int
        The discrete step (or, for an ODE, ``None``) at which divergence was detected.
    time : float
        The time ``t = lr * step`` (or the ODE time) at detection.
    suggestion : float or None
        A learning rate that is likely to be stable (usually a quarter of the one used).
    """

    def __init__(self, message: str, *, step=None, time=None, suggestion=None):
        super().__init__(message)
        self.step = step
        self.time = time
        self.suggestion = suggestion


class DataFileError(ValueError):
    """A data or result file that is missing, incomplete, truncated, corrupt or
    inconsistent; the message (one line) names the path and what was expected."""


class SolverError(RuntimeError):
    """``scipy.integrate.solve_ivp`` gave up (step size too small, too many steps): the
    message (one line) names the run, the time reached and what to change."""

    def __init__(self, message: str, *, time=None):
        super().__init__(message)
        self.time = time

"""Loading results back into Python: ``lintheory simulate``'s JSON + NPZ as trajectories.

:func:`load_run` reads what ``lintheory simulate --out run.json`` wrote (``run.json`` and
``run.npz`` beside it) and returns the same :class:`~lintheory.trajectory.Trajectory`
objects the run produced: rotated weights over time, with the task rebuilt from the saved
parameters (checked against the saved singular values), so ``mode_strengths``, ``leak``,
``alignment`` and ``loss`` are available again. The NPZ is read with
``allow_pickle=False``: nothing in a result file is executed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import DataFileError
from .rules import get_rule
from .task import make_task
from .trajectory import Trajectory


def _fail(path, why):
    return DataFileError(f"{path}: {why}; expected the JSON and NPZ that "
                         "'lintheory simulate --out PATH.json' writes")


def _stacks(z, prefix, depth):
    """``(Ws, Qs, Ps)`` stacks from the NPZ arrays (depth-2 or depth-L names)."""
    if depth == 2:
        names = (["W1bar", "W2bar"], ["Q"], ["Pbar"])
    else:
        names = ([f"W{i + 1}" for i in range(depth)], [f"Q{j + 2}" for j in range(depth - 1)],
                 [f"P{j + 2}" for j in range(depth - 1)])
    return tuple(tuple(np.asarray(z[prefix + n]) for n in group) for group in names)


def load_run(path) -> dict:
    """Load a ``lintheory simulate`` result.

    Parameters
    ----------
    path : str or Path
        The ``.json`` file (its ``.npz`` must sit beside it).

    Returns
    -------
    dict
        ``{"parameters": dict, "task": LinearTask, "ode": Trajectory, "sgd": Trajectory}``
        with only the methods that were run; each trajectory holds the rotated weights at
        the saved times (shapes as :class:`~lintheory.trajectory.Trajectory`) and its
        ``info``.

    Raises
    ------
    DataFileError
        A missing, unreadable or inconsistent file, naming the path.
    """
    path = Path(path)
    npz = path.with_suffix(".npz")
    try:
        data = json.loads(path.read_text())
        params = data["parameters"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(path, f"cannot be read as a simulate result ({exc})") from None
    try:
        z = np.load(npz, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _fail(npz, f"cannot be read ({exc})") from None
    with z:
        task = make_task(params["n"], params["m"], params["d"], params["N"],
                         sigma=params["sigma"],
                         singular_values=params.get("teacher_singular_values"),
                         whiten=params.get("whiten", True), seed=params["seed"])
        if not np.allclose(task.s, z["s"], rtol=1e-12, atol=0):
            raise _fail(npz, "its singular values differ from the task its parameters "
                             "describe (written by another version?)")
        rule = get_rule(params["rule"])
        depth = int(params.get("depth", 2))
        out = {"parameters": params, "task": task}
        runs = [("ode" if data.get("method") == "ode" else "sgd", "", data.get("info", {}))]
        if "sgd" in data and data.get("method") == "ode":
            runs.append(("sgd", "sgd_", data["sgd"].get("info", {})))
        for method, prefix, info in runs:
            try:
                Ws, Qs, Ps = _stacks(z, prefix, depth)
                times = np.asarray(z[prefix + "times"])
            except KeyError as exc:
                raise _fail(npz, f"has no array {exc}") from None
            out[method] = Trajectory(times, Ws, Qs, Ps, rule=rule.name, method=method,
                                     task=task, direct=rule.direct, info=info)
    return out

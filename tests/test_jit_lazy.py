"""numba kernels compile on first use, never at import (lintheory._jit.lazy_njit)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from numba import types

from lintheory._jit import lazy_njit


def test_import_compiles_and_loads_no_kernel(tmp_path):
    """A fresh NUMBA_CACHE_DIR stays empty after importing the package, its CLI and the
    classroom module and printing the help: nothing is compiled before it is used."""
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    code = "import lintheory, lintheory.cli, lintheory.classroom; lintheory.cli.main(['--help'])"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: lintheory" in proc.stdout
    assert not (cache.exists() and list(cache.rglob("*.nbi")))


def test_lazy_function_compiles_on_first_call_with_its_signature():
    def double(x):
        return 2.0 * x

    fn = lazy_njit(types.float64[::1](types.float64[::1]), cache=False)(double)
    assert fn.__name__ == "double" and fn.py_func is double
    x = np.arange(3.0)
    np.testing.assert_array_equal(fn(x), 2.0 * x)
    dispatcher = fn.compiled()
    assert dispatcher is fn.compiled() and dispatcher.py_func is double
    assert len(dispatcher.signatures) == 1     # the given signature, compiled once
    try:                                        # ... and only that one: no other types
        fn(np.arange(3))
    except TypeError:
        pass
    else:
        raise AssertionError("an int64 array was accepted by a float64[::1] signature")


def test_rule_functions_reach_the_engines_in_one_element_typed_lists():
    from numba.typed import List

    from lintheory.rules import RULES

    fns = RULES["raf"].jitted()
    assert len(fns) == 3 and all(isinstance(f, List) and len(f) == 1 for f in fns)
    W, Q, P, e = np.ones((3, 4)), np.ones((4, 2)), np.ones((2, 3)), np.arange(3.0)[:, None]
    np.testing.assert_array_equal(fns[0][0](W, Q, P, e), Q @ (P @ e))

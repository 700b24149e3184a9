"""Sub-commands of the ``lintheory`` CLI, one module each (see :mod:`lintheory.cli`)."""

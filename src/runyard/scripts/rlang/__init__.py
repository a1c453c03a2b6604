"""The ``R`` script engine: ``Rscript`` in a child process, bindings in and out as JSON."""

from runyard.scripts.rlang.engine import REngine as REngine

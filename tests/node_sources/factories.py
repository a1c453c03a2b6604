"""Node source types named ``module:callable`` in tests' config files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runyard.nodes.local import LocalNodeSource
from runyard.nodes.sources import SourceContext, local_source


def pair(name: str, options: Mapping[str, Any], context: SourceContext) -> LocalNodeSource:
    """A config file's own type: two local nodes, whatever the options."""
    return local_source(name, {"nodes": 2}, context)


def trap(name: str, options: Mapping[str, Any], context: SourceContext) -> LocalNodeSource:
    """Leaves a mark if ever called: a run-time request must never reach a ``module:callable`` type."""
    Path(options["mark"]).write_text(name)
    return local_source(name, {"nodes": 1}, context)

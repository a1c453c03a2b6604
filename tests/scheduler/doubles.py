"""Test doubles of node sources whose reconciliation blocks (a Dask scheduler or worker that does not
answer), as a ``module:callable`` type of a server's config file: ``scheduler.doubles:gated_local``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import RecordedExecution
from runyard.nodes.sources import SourceContext

GATES: dict[str, threading.Event] = {}
"""By the ``gate`` option: set, reconciliations pass; clear, they wait until it is set."""
ASKED: dict[str, threading.Event] = {}
"""By the ``gate`` option: set once a reconciliation waits at the gate."""


class GatedReconcileSource(LocalNodeSource):
    """Local nodes whose ``reconcile`` waits at a gate, as a source whose remote side does not answer
    would wait for its timeout; then it answers as the local source does (nothing outlived the server)."""

    def __init__(self, gate: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = GATES.setdefault(gate, threading.Event())
        self.asked = ASKED.setdefault(gate, threading.Event())

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        self.asked.set()
        self.gate.wait()
        return super().reconcile(recorded, timeout)


def gated_local(name: str, options: Mapping[str, Any], context: SourceContext) -> GatedReconcileSource:
    """One local node whose reconciliation waits at the gate named by ``options["gate"]``."""
    return GatedReconcileSource(
        str(options["gate"]), 1, context.nodes_dir, name, host_name=context.host_name,
        private_dirs=context.private_dirs,
    )  # fmt: skip

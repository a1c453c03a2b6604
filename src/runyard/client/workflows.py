"""Workflows not submitted: checked by the server as ``runyard validate`` checks a file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from runyard.client.documents import CheckedWorkflow
from runyard.client.transport import Call, json_body, operation


class WorkflowsApi:
    @operation
    def validate_workflow(
        self, workflow: str | Mapping[str, Any], *, format: Literal["yaml", "xml"] | None = None
    ) -> Call[CheckedWorkflow]:
        """Check ``workflow`` (its XML or YAML text, or its mapping form) without submitting it.

        The answer lists the problems (each with its line in ``text``), the workflow as text in
        ``format`` (by default the text's own; YAML for a mapping) and its mapping form (``None`` when
        the text cannot be read). References to the catalog are resolved as a submission would."""
        body = {"workflow": workflow if isinstance(workflow, str) else dict(workflow), "format": format}
        return Call("POST", "/workflows/validate", json_body, json=body)

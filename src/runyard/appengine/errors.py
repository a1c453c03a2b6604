"""Errors as Cytomine's App Engine answers them: ``{"errorCode", "message", "details"}``.

``details`` carries a ``type`` discriminator, as upstream: ``empty`` ``{}``, ``parameter``
``{parameterName}``, ``related`` ``{parameterName, description}``, ``batch`` ``{errors: [...]}``,
``multiple`` ``{errors: [...]}``, ``server`` ``{exceptionMessage}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The codes used by more than one module (the others are written where they are raised).
REQUEST_VALIDATION = "APPE-internal-request-validation-error"
TASK_NOT_FOUND = "APPE-internal-task-not-found"
RUN_NOT_FOUND = "APPE-internal-run-not-found-error"
PARAMETER_NOT_FOUND = "APPE-internal-parameter-not-found"
RUN_STATE = "APPE-internal-task-run-state-error"
BUNDLE_VALIDATION = "APPE-internal-bundle-validation-error"
SERVER_ERROR = "APPE-internal-server-error"


class AppEngineError(Exception):
    """Raise to answer ``status`` with Cytomine's error envelope."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details if details is not None else {"type": "empty"}

    def envelope(self) -> dict[str, Any]:
        return {"errorCode": self.code, "message": self.message, "details": self.details}


def parameter_error(
    parameter: str, message: str, code: str = REQUEST_VALIDATION, status: int = 400
) -> AppEngineError:
    """An error about one parameter (``details.type`` ``parameter``), 400 unless said otherwise."""
    return AppEngineError(status, code, message, {"type": "parameter", "parameterName": parameter})


def batch_error(
    code: str, message: str, errors: Sequence[AppEngineError], status: int = 400
) -> AppEngineError:
    """Several errors at once (``details.type`` ``batch``), each in its own envelope."""
    return AppEngineError(status, code, message, {"type": "batch", "errors": [e.envelope() for e in errors]})

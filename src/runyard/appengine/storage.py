"""Where the App Engine's files live, as Cytomine lays them out under ``STORAGE_BASE_PATH``::

    <base>/task-<task uuid>-def/        descriptor.yml, logo.png
    <base>/task-run-inputs-<run uuid>/  one file (or folder, for an array) per input, named as it
    <base>/task-run-outputs-<run uuid>/ the same for outputs, written by the task

Identifiers are checked to be UUIDs before they name a folder: a path never comes from a client.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from runyard.appengine.errors import AppEngineError

DESCRIPTOR = "descriptor.yml"
LOGO = "logo.png"


def checked_uuid(value: str, what: str = "identifier") -> str:
    """``value`` in canonical form if it is a UUID; 400 ``APPE-internal-bundle-validation-error``
    otherwise (Cytomine answers an ``IllegalArgumentException`` so)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise AppEngineError(
            400, "APPE-internal-bundle-validation-error", f"invalid {what}: {value!r} is not a UUID"
        ) from None


class Storage:
    """The App Engine's folders under ``base`` (created on first use)."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def task_folder(self, task_id: str) -> Path:
        return self.base / f"task-{checked_uuid(task_id)}-def"

    def run_inputs(self, run_id: str) -> Path:
        return self.base / f"task-run-inputs-{checked_uuid(run_id)}"

    def run_outputs(self, run_id: str) -> Path:
        return self.base / f"task-run-outputs-{checked_uuid(run_id)}"

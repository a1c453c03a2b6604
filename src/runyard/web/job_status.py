"""Job and task statuses as the portal shows them: one colour per status, as a badge or a table cell."""

from __future__ import annotations

import json

from nicegui import ui

from runyard.model import JobStatus, TaskStatus
from runyard.web.labels import labelled

#: Quasar colours: running blue, waiting grey, needs someone orange, failed red, done green.
COLOURS = {
    "SUBMITTED": "grey-6",
    "PENDING": "grey-6",
    "WAITING_ON_ERROR": "warning",
    "WAITING_ON_FAILURE": "warning",
    "RUNNING": "primary",
    "STALLED": "warning",
    "PAUSED": "warning",
    "IN_ERROR": "deep-orange",
    "FINISHED": "positive",
    "SKIPPED": "grey-5",
    "CANCELED": "grey-7",
    "FAULTY": "negative",
    "FAILED": "negative",
    "ABORTED": "negative",
    "NOT_STARTED": "grey-5",
    "NOT_RESTARTED": "grey-5",
    "KILLED": "negative",
}
JOB_STATUSES = tuple(status.value for status in JobStatus)
TASK_STATUSES = tuple(status.value for status in TaskStatus)


def badge(status: str) -> ui.badge:
    """The status as a coloured badge."""
    return labelled(ui.badge(status, color=COLOURS.get(status, "primary")), f"status {status}")


def cell(field: str = "status") -> str:
    """A Quasar table cell slot showing the row's ``field`` as a coloured badge (the text stays text)."""
    colours = json.dumps(COLOURS).replace('"', "'")
    return (
        f'<q-td :props="props"><q-badge :color="{colours}[props.row.{field}] || \'primary\'"'
        f' :label="props.row.{field}" /></q-td>'
    )

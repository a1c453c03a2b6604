"""What names, kinds, content types, projects, tags and commit messages may be; how filters match.

Names are checked here once, at the catalog's edge: a name that passes can appear in a URL path
(``/buckets/B/resources/N/raw``) without quoting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from runyard.errors import InvalidRequestError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
"""Bucket and object names: 1 to 128 letters, digits, ``.``, ``_``, ``-``; not starting with ``.``, ``-``."""

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9_.+-]*"
KIND_PATTERN = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})*$")
"""``Workflow/standard``, ``Script/pre``, ``Calendar``: segments separated by ``/``."""

_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
CONTENT_TYPE_PATTERN = re.compile(rf"^{_TOKEN}/{_TOKEN}(\s*;[\x20-\x7e]*)?$")
"""A media type (``text/x-python``, ``application/xml; charset=utf-8``), printable ASCII only."""

MAX_TEXT = 255
"""Longest kind, content type, project name or tag."""
MAX_TAGS = 64
MAX_COMMIT_MESSAGE = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(what: str, name: str) -> str:
    """``name`` if it is a valid bucket or object name (``what`` says which, for the message)."""
    if not NAME_PATTERN.match(name):
        raise InvalidRequestError(
            f"invalid {what} name {name!r}: 1 to 128 letters, digits, '.', '_' or '-', "
            "not starting with '.' or '-'"
        )
    return name


def check_kind(kind: str) -> str:
    if len(kind) > MAX_TEXT or not KIND_PATTERN.match(kind):
        raise InvalidRequestError(
            f"invalid kind {kind!r}: segments of letters, digits, '_', '.', '+' or '-' separated by '/' "
            "(e.g. 'Workflow/standard', 'Script/task')"
        )
    return kind


def check_content_type(content_type: str) -> str:
    content_type = content_type.strip()
    if len(content_type) > MAX_TEXT or not CONTENT_TYPE_PATTERN.match(content_type):
        raise InvalidRequestError(f"invalid content type {content_type!r}: expected 'type/subtype'")
    return content_type


def check_project_name(project_name: str | None) -> str | None:
    """The project name stripped, ``None`` for none or blank."""
    project_name = (project_name or "").strip()
    _check_text("project name", project_name)
    return project_name or None


def check_commit_message(message: str) -> str:
    if len(message) > MAX_COMMIT_MESSAGE:
        raise InvalidRequestError(f"the commit message is longer than {MAX_COMMIT_MESSAGE} characters")
    if "\x00" in message:
        raise InvalidRequestError("the commit message contains a NUL character")
    return message


def check_filter(what: str, value: str | None) -> None:
    """A listing filter: any text a stored value could be, so no control characters."""
    if value is not None:
        _check_text(what, value)


def parse_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags stripped, blanks dropped, duplicates removed, sorted; each is also split on commas."""
    found = {tag.strip() for item in tags for tag in item.split(",")} - {""}
    for tag in found:
        _check_text("tag", tag)
    if len(found) > MAX_TAGS:
        raise InvalidRequestError(f"{len(found)} tags given, at most {MAX_TAGS} are allowed")
    return tuple(sorted(found))


def is_workflow_kind(kind: str) -> bool:
    """Objects of these kinds must be workflows (``Workflow``, ``Workflow/standard``, ``Workflow/psa``)."""
    return kind.split("/", 1)[0].lower() == "workflow"


def kind_clause(column: sa.ColumnElement[str], kind: str) -> sa.ColumnElement[bool]:
    """``column`` is ``kind`` or below it, ignoring case: ``Workflow`` matches ``workflow/psa``."""
    lowered = kind.strip().rstrip("/").lower()
    return sa.or_(
        sa.func.lower(column) == lowered,
        sa.func.lower(column).like(_escape(lowered) + "/%", escape="\\"),
    )


def name_clause(column: sa.ColumnElement[str], pattern: str) -> sa.ColumnElement[bool]:
    """``column`` matches ``pattern``, where ``*`` stands for any characters, ignoring case."""
    return column.ilike(_escape(pattern).replace("*", "%"), escape="\\")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_text(what: str, text: str) -> None:
    if len(text) > MAX_TEXT:
        raise InvalidRequestError(f"the {what} {text[:40]!r}... is longer than {MAX_TEXT} characters")
    if _CONTROL.search(text):
        raise InvalidRequestError(f"the {what} {text!r} contains control characters")

"""Model names, user names and versions as clients send them, checked before they name a path."""

from __future__ import annotations

import re

from runyard.maas.defaults import MAX_NAME_LENGTH, MAX_VERSION
from runyard.maas.errors import RequestRefused

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def checked_name(value: object, what: str = "model_name") -> str:
    """``value`` if it is a safe name (letters, digits, ``_ . -``, not starting with ``.`` or ``-``)."""
    if not isinstance(value, str) or not value:
        raise RequestRefused(f"{what} is required")
    if len(value) > MAX_NAME_LENGTH or not _NAME.fullmatch(value):
        raise RequestRefused(
            f"{what} must be 1-{MAX_NAME_LENGTH} letters, digits, '_', '.' or '-' (not first '.' or '-')"
        )
    return value


def checked_version(value: object) -> int | None:
    """``value`` as a version number, or None when not given."""
    return checked_count(value, "model_version")


def checked_count(value: object, what: str) -> int | None:
    """``value`` as a positive integer (also given as text), or None when not given."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise RequestRefused(f"{what} must be a positive integer")
    return value

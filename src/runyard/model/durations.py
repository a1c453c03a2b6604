"""ProActive duration strings: ``ss``, ``mm:ss`` or ``hh:mm:ss``."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+)(?::(\d+))?(?::(\d+))?\s*$")


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; raises ``ValueError`` naming the bad value."""
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"negative duration {text!r}")
        return float(text)
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration (expected ss, mm:ss or hh:mm:ss)")
    parts = [int(p) for p in match.groups() if p is not None]
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    try:
        return float(seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None

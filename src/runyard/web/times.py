"""Moments as a person reads them in a table (UTC, to the second: the same on every browser)."""

from __future__ import annotations

from datetime import UTC, datetime


def moment(epoch: float | None) -> str:
    """``2026-12-07 01:10:05 UTC``; empty for ``None``."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

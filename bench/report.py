"""Printing shared by the benchmarks: figures in ms, verdicts against targets, the machine's load, tables."""

from __future__ import annotations

import os
from collections.abc import Sequence


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """The first column left-aligned, the others (figures) right-aligned."""
    widths = [max(len(c) for c in column) for column in zip(headers, *rows, strict=True)]
    for cells in [headers, *rows]:
        first, *rest = cells
        print(
            "  "
            + first.ljust(widths[0])
            + "".join(f"  {c:>{w}}" for c, w in zip(rest, widths[1:], strict=True))
        )

"""The tables commands print, with nothing cut: endpoints, names and ids stay whole to copy them.

On a terminal a long value wraps inside its cell (never "…"); piped or redirected, a table is as wide
as its longest row, so each value stays on one line whatever ``COLUMNS`` says.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

_UNBOUNDED = 1_000_000


def new_table(*columns: str, title: str | None = None) -> Table:
    """A table with these column headers (rich markup), whose cells wrap rather than being cut."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def show(console: Console, table: Table) -> None:
    """Print ``table`` on ``console``: within the terminal's width, else at its natural width."""
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update_width(_UNBOUNDED), table).maximum
    Console(file=console.file, width=max(console.width, natural), highlight=False).print(table)

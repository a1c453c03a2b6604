"""How ``--help`` names values, as manual pages do: ``--owner OWNER``, ``--var KEY=VALUE``, nothing after
a flag, arguments bare in the usage line (``runyard submit [OPTIONS] WORKFLOW``).

typer would show Python types instead (``--json <bool>``, ``<list[str]>``, ``{workflow}``), which reads
as if a flag took a value. The root group (:class:`Group`) names every value of its command tree once,
when typer builds it; a parameter given a ``metavar`` keeps it.
"""

from __future__ import annotations

from typing import Any

from typer import _click  # typer's own click: the types its classes take
from typer.core import TyperArgument, TyperGroup, TyperOption


class Group(TyperGroup):
    """The ``runyard`` group (``typer.Typer(cls=Group)``)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        name_values(self)


class Argument(TyperArgument):
    """An argument shown by its name alone: ``WORKFLOW`` if required, else ``[JOB_ID]``."""

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return None

    def get_usage_pieces(self, ctx: _click.Context) -> list[str]:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return [name if self.nargs == 1 else f"{name}..."]


def name_values(command: _click.Command) -> None:
    """Name the values of ``command``'s parameters (its help option's too) and of its subcommands'."""
    help_option = command.get_help_option(_click.Context(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
        elif isinstance(param, TyperOption | TyperArgument) and param.metavar is None:
            long = next((o for o in param.opts if o.startswith("--")), param.name or "")
            param.metavar = long.lstrip("-").replace("-", "_").upper()
        if type(param) is TyperArgument:
            param.__class__ = Argument  # the same object, shown as above
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            name_values(sub)

"""Job Analytics' search panel: the API's search fields; searching opens the URL of the new search."""

from __future__ import annotations

from nicegui import ui

from runyard.web.analytics_query import PRESETS, STATUSES, Query
from runyard.web.sessions import Session

_CUSTOM = "custom"
_HINTS = (
    "value: exactly value · value*: starts with · *value: ends with · *value*: contains · "
    "!value: anything but · !*value*: does not contain. Several values: separate them with commas."
)
_WHERE_HINT = "One per line: variables.LR<0.01, results.Train>0.9, name~bert, duration>30"


def search_panel(session: Session, query: Query) -> None:
    """The form, filled with ``query``; Search opens the page of the search it describes."""
    with ui.expansion("Search", icon="search", value=query == Query()).classes("w-full border rounded"):
        with ui.element("div").classes("grid gap-x-4 gap-y-1 w-full grid-cols-1 md:grid-cols-3"):
            workflows = _listed("Workflow names", query.workflows)
            projects = _listed("Project names", query.projects)
            asked = {status.lower() for status in query.statuses}
            statuses = ui.select(
                list(STATUSES), label="Status", multiple=True, clearable=True,
                value=[status for status in STATUSES if status.lower() in asked],
            ).props("use-chips")  # fmt: skip
            custom = query.submitted_after or query.submitted_before
            period = ui.select(
                {"": "Any time", **PRESETS, _CUSTOM: "Custom dates"}, label="Submitted",
                value=_CUSTOM if custom else query.submitted,
            )  # fmt: skip
            after = ui.input("Submitted from", value=query.submitted_after).props("type=date stack-label")
            before = ui.input("Submitted before", value=query.submitted_before).props("type=date stack-label")
            for field in (after, before):
                field.bind_visibility_from(period, "value", lambda v: v == _CUSTOM)
            mine = ui.switch("Only my jobs", value=not query.users)
            users = _listed("Users", query.users, hint="* for everyone's")
            users.bind_visibility_from(mine, "value", lambda v: not v)
            if not session.admin:
                mine.disable()
                mine.tooltip("Only an admin may see other users' jobs")
            values = ui.switch("Variables and results charts", value=query.values_shown)
        where = ui.textarea("Value filters", value="\n".join(query.where)).props("autogrow").classes("w-full")
        where.props["hint"] = _WHERE_HINT

        def search() -> None:
            custom = period.value == _CUSTOM
            found = Query(
                workflows=_split(workflows.value),
                projects=_split(projects.value),
                statuses=tuple(statuses.value or ()),
                users=() if mine.value else _split(users.value),
                submitted="" if custom else period.value or "",
                submitted_after=after.value if custom else "",
                submitted_before=before.value if custom else "",
                where=tuple(line.strip() for line in where.value.splitlines() if line.strip()),
                values_shown=values.value,
            )
            ui.navigate.to(found.url())

        with ui.row().classes("items-center"):
            ui.button("Search", icon="search", on_click=search)
            ui.button("Clear", on_click=lambda: ui.navigate.to("/analytics")).props("flat")
            ui.label(_HINTS).classes("text-gray-600 text-sm")
        for field in (workflows, projects, users):
            field.on("keydown.enter", search)


def _listed(label: str, values: tuple[str, ...], hint: str = "") -> ui.input:
    field = ui.input(label, value=", ".join(values))
    if hint:
        field.props["hint"] = hint
    return field


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())

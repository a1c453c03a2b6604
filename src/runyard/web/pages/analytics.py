"""``/analytics``: Job Analytics (seed 003 §7): a search, three metric panels, the duration, variable and
result charts, and the execution table with per-column filters, CSV export and "apply filters to charts".

The page is a function of its URL (:mod:`runyard.web.analytics_query`): a new search opens the URL it
makes; the table's filters are written back into it as they change. Counts are as of the search (as in
ProActive, the in-progress count is not refreshed by itself): nothing here follows events.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Any

from fastapi import Request
from nicegui import events, ui

from runyard.client.documents import AnalyticsCharts, AnalyticsMetrics, Dashboard
from runyard.web import analytics_charts, execution_grid
from runyard.web.analytics_charts import Kind
from runyard.web.analytics_query import ISSUES, Query
from runyard.web.analytics_search_panel import search_panel
from runyard.web.calls import Refused, call
from runyard.web.grid_filters import to_model, to_where
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.sessions import Session

#: How long to wait for the browser's grid to answer (a loaded machine is slow).
_BROWSER_WAIT = 10.0
CHARTS = (
    ("Durations", analytics_charts.duration_series),
    ("Variables", analytics_charts.variable_series),
    ("Results", analytics_charts.result_series),
)


@page("/analytics", "Job Analytics")
async def analytics(session: Session, request: Request) -> None:
    query = Query.parse(request.query_params.multi_items())
    search_panel(session, query)
    with ui.row().classes("gap-1 items-center").props('aria-label="Active search"'):
        for part in query.summary():
            ui.chip(part, icon="filter_alt").props("dense outline color=primary")
    view = _View(session, query)
    await ui.context.client.connected()
    with suppress(TimeoutError):
        view.tz = str(await ui.run_javascript("Intl.DateTimeFormat().resolvedOptions().timeZone"))
    await view.load()


class _View:
    """The dashboard under the search: panels, charts and table, and what keeps them in step."""

    def __init__(self, session: Session, query: Query) -> None:
        self.session = session
        self.query = query
        self.tz = ""
        self.numeric: set[str] = set()
        self.columns: list[str] = []
        self.loading = ui.spinner(size="lg").props('aria-label="Loading"')
        self.refusal = ui.label().classes("text-negative").props('role="alert"')
        self.refusal.visible = False
        self.metrics = ui.row().classes("w-full gap-3")
        self.charts: dict[str, ui.echart] = {}
        self.kinds: dict[str, Kind] = {}
        with ui.element("div").classes("grid gap-3 w-full grid-cols-1 lg:grid-cols-3"):
            for title, _ in CHARTS:
                self._chart_card(title)
        self._table_card()

    def _chart_card(self, title: str) -> None:
        card = labelled(ui.card(), title).classes("w-full p-3").props('role="region"')
        if title != "Durations":
            card.bind_visibility_from(self, "query", lambda q: q.values_shown)
        with card:
            with ui.row().classes("w-full items-center"):
                ui.label(title).classes("text-lg font-medium")
                ui.space()
                kind = ui.toggle(
                    {"line": "Line", "bar": "Bar"},
                    value="line",
                    on_change=lambda e: self._redraw(title, e.value),
                ).props("dense no-caps")
                labelled(kind, f"{title}: line or bar")
            self.kinds[title] = "line"
            chart = ui.echart({}).classes("w-full h-64")
            chart.on_point_click(self._point_clicked)
            self.charts[title] = chart

    def _table_card(self) -> None:
        with ui.card().classes("w-full p-3").props('role="region" aria-label="Executions"'):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Executions").classes("text-lg font-medium")
                self.count = ui.label().classes("text-gray-600").props('aria-live="polite"')
                ui.space()
                self.synced = ui.switch("Apply filters to charts", value=self.query.charts_filtered,
                                        on_change=self._sync_changed)  # fmt: skip
                ui.button("Clear filters", icon="filter_alt_off", on_click=self._clear_filters).props(
                    "flat no-caps"
                )
                self.columns_button = ui.button("Columns", icon="view_column", on_click=self._edit_columns)
                self.columns_button.props("flat no-caps")
                self.export_button = ui.button("Export CSV", icon="download", on_click=self._export)
                self.export_button.props("no-caps")
            self.grid = ui.aggrid(execution_grid.options([], [], {}), auto_size_columns=False)
            self.grid.classes("w-full h-[28rem]").props('aria-label="Execution table"')
            self.grid.on("filterChanged", self._filters_changed)

    async def load(self) -> None:
        """Read the dashboard and the table of the URL's search."""
        try:
            board = await self._dashboard(filtered=False, quiet=True)  # said below the search
            self._show_metrics(board["metrics"])
            charts = (await self._dashboard(filtered=True)) if self._charts_narrowed() else board
            self._show_charts(charts["charts"])
            self.columns = board["columns"]
            await self._load_rows(initial=True)
        except Refused as refused:
            self.refusal.text = f"This search was refused: {refused.text}"
            self.refusal.visible = True
        finally:
            self.loading.visible = False

    def _charts_narrowed(self) -> bool:
        return self.query.charts_filtered and bool(self.query.filters)

    async def _dashboard(self, *, filtered: bool, quiet: bool = False) -> Dashboard:
        search = self.query.search(self.tz, filtered=filtered)
        return await call(self.session.client.analytics(**search), quiet=quiet)

    def _show_metrics(self, metrics: AnalyticsMetrics) -> None:
        self.metrics.clear()
        ratio = metrics["success_ratio"]
        issues = metrics["issues"]
        with self.metrics:
            with _panel("Jobs"):
                ui.label(str(metrics["total"])).classes("text-3xl font-semibold").props(
                    'aria-label="Jobs found"'
                )
                ui.label(f"{metrics['successful']} successful" + ("" if ratio is None else f" ({ratio:.0%})"))
                ui.label(f"{metrics['in_progress']} in progress (when searched)").classes("text-gray-600")
            with _panel("Issues"):
                for issue, label in ISSUES.items():
                    count = issues[issue]  # type: ignore[literal-required]
                    button = ui.button(f"{label}: {count}", on_click=lambda i=issue: self._pick_issue(i))
                    labelled(button, f"{label}: {count} (show them)").props("flat dense no-caps align=left")
                by_status = ", ".join(f"{s} {n}" for s, n in issues["interrupted_by_status"].items() if n)
                ui.label(by_status or "none interrupted").classes("text-gray-600 text-sm")
            with _panel("Mean duration"):
                ui.label(_duration(metrics["mean_duration"])).classes("text-3xl font-semibold")
                ui.label("from start to end, of the jobs that ended").classes("text-gray-600")

    def _pick_issue(self, issue: str) -> None:
        ui.navigate.to(replace(self.query, issue=issue).url())

    def _show_charts(self, charts: AnalyticsCharts) -> None:
        self.job_ids = charts["job_ids"]
        self.series = {title: make(charts) for title, make in CHARTS}
        for title in self.charts:
            self._redraw(title, self.kinds[title])

    def _redraw(self, title: str, kind: Kind) -> None:
        self.kinds[title] = kind
        chart = self.charts[title]
        chart.options.clear()
        chart.options.update(analytics_charts.options(title, self.job_ids, self.series[title], kind))
        chart.update()

    async def _point_clicked(self, event: events.EChartPointClickEventArguments) -> None:
        """A point of a chart: the table shows that job only."""
        model = await self.grid.run_grid_method("getFilterModel", timeout=_BROWSER_WAIT)
        model["id"] = {"filterType": "number", "type": "equals", "filter": int(event.name)}
        self.grid.run_grid_method("setFilterModel", model)

    async def _load_rows(self, *, initial: bool = False) -> None:
        search = self.query.search(self.tz, filtered=True)
        found = await call(self.session.client.analytics_executions(limit=execution_grid.ROW_LIMIT, **search))
        grown = [c for c in found["columns"] if c not in self.columns]
        self.columns += grown
        if initial:
            self.grid.options.update(
                execution_grid.options(self.columns, found["rows"], to_model(list(self.query.filters)))
            )
            self.grid.update()
        else:
            if grown:
                defs = [execution_grid.column_def(c) for c in self.columns]
                self.grid.run_grid_method("setGridOption", "columnDefs", defs)
            self.grid.run_grid_method("setGridOption", "rowData", found["rows"])
        shown, total = len(found["rows"]), found["total"]
        self.count.text = (
            f"{total} jobs" if shown == total else f"the newest {shown} of {total} jobs (export has all)"
        )
        self.numeric = {c for c in self.columns if c.startswith(("variables.", "results.", "result_map."))}

    async def _filters_changed(self) -> None:
        model = await self.grid.run_grid_method("getFilterModel", timeout=_BROWSER_WAIT)
        filters = tuple(to_where(model))
        if filters == self.query.filters:
            return
        charts_were_filtered = self.query.charts_filtered
        self.query = replace(
            self.query, filters=filters, charts_filtered=self.query.charts_filtered and bool(filters)
        )
        self.synced.value = self.query.charts_filtered
        ui.navigate.history.replace(self.query.url())
        with suppress(Refused):
            await self._load_rows()
            if charts_were_filtered:  # narrowed by the filters before: by the new ones now, or none
                self._show_charts((await self._dashboard(filtered=self.query.charts_filtered))["charts"])

    async def _sync_changed(self, event: events.ValueChangeEventArguments[bool | None]) -> None:
        if bool(event.value) == self.query.charts_filtered:
            return
        self.query = replace(self.query, charts_filtered=bool(event.value))
        ui.navigate.history.replace(self.query.url())
        with suppress(Refused):
            self._show_charts((await self._dashboard(filtered=self.query.charts_filtered))["charts"])

    def _clear_filters(self) -> None:
        self.grid.run_grid_method("setFilterModel", None)

    async def _export(self) -> None:
        """The table as the API writes it (every row of the search and the filters, in the grid's order)."""
        self.export_button.props("loading")
        try:
            state = await self.grid.run_grid_method("getColumnState", timeout=_BROWSER_WAIT)
            order = execution_grid.sort_of(state, self.numeric)
            search = self.query.search(self.tz, filtered=True)
            text = await call(self.session.client.analytics_csv(**order, **search))  # type: ignore[arg-type]
            ui.download.content(text, "executions.csv", "text/csv")
        except Refused:
            pass
        finally:
            self.export_button.props(remove="loading")

    async def _edit_columns(self) -> None:
        state: list[dict[str, Any]] = await self.grid.run_grid_method("getColumnState", timeout=_BROWSER_WAIT)
        with ui.dialog() as dialog, ui.card().classes("p-3 max-h-[80vh] overflow-auto"):
            ui.label("Columns: show, hide and pin").classes("text-lg")
            for column in state:
                self._column_controls(column)
            ui.button("Close", on_click=dialog.close).props("flat")
        dialog.open()

    def _column_controls(self, column: dict[str, Any]) -> None:
        name = column["colId"]

        def show(event: events.ValueChangeEventArguments[bool | None]) -> None:
            self.grid.run_grid_method("setColumnsVisible", [name], bool(event.value))

        def pin(event: events.ValueChangeEventArguments[str]) -> None:
            self.grid.run_grid_method(
                "setColumnsPinned", [name], None if event.value == "none" else event.value
            )

        with ui.row().classes("items-center gap-2 no-wrap"):
            ui.checkbox(name, value=not column.get("hide"), on_change=show)
            sides = {"none": "not pinned", "left": "left", "right": "right"}
            toggle = ui.toggle(sides, value=column.get("pinned") or "none", on_change=pin).props(
                "dense no-caps"
            )
            toggle.props["aria-label"] = f"Pin {name}"


def _panel(title: str) -> ui.card:
    card = labelled(ui.card(), title).classes("p-3 min-w-[16rem] flex-1 gap-1").props('role="region"')
    with card:
        ui.label(title).classes("text-sm uppercase text-gray-600")
    return card


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"

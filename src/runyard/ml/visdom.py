"""Drawing in a Visdom server from a task, over its HTTP API (what Visdom's own client posts).

Visdom's Python client cannot be imported by tasks (it lives in the Visdom service's own venv, see
:mod:`runyard.services.visdom`), and needs nothing more than this: a window is a list of plotly traces
with a layout, or a text pane, posted as JSON to ``{endpoint}/events`` (the same window id replaces the
window), and read back from ``{endpoint}/win_data``. The endpoint is the instance's URL, proxied or not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from runyard.scripts.engine import ScriptFailure
from runyard.tls import verification

#: Seconds a request to Visdom may take.
TIMEOUT = 30.0
Trace = dict[str, Any]


class VisdomError(ScriptFailure):
    """Visdom could not be reached, or refused a request: the task fails with this message."""


class Visdom:
    """The windows of one environment (``env``) of the Visdom server at ``endpoint``."""

    def __init__(self, endpoint: str, env: str = "main", *, headers: Mapping[str, str] | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.env = env
        self._http = httpx.Client(
            trust_env=False, timeout=TIMEOUT, headers=dict(headers or {}), verify=verification(self.endpoint)
        )

    def __enter__(self) -> Visdom:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def plot(
        self, win: str, traces: Sequence[Trace], *, title: str = "", layout: Mapping[str, Any] | None = None
    ) -> None:
        """Show ``traces`` (plotly's) in window ``win``, replacing what it showed."""
        figure = {"title": title, "showlegend": len(traces) > 1, **(layout or {})}
        self._post("events", {"data": list(traces), "layout": figure, "win": win, "opts": {"title": title}})

    def text(self, win: str, html: str, *, title: str = "") -> None:
        """Show ``html`` in window ``win``."""
        self._post(
            "events", {"data": [{"content": html, "type": "text"}], "win": win, "opts": {"title": title}}
        )

    def window(self, win: str) -> dict[str, Any] | None:
        """What window ``win`` shows, as Visdom keeps it (``content``: its traces and layout, or text);
        ``None`` when there is no such window."""
        if self._post("win_exists", {"win": win}) != "true":
            return None
        answer: dict[str, Any] = json.loads(self._post("win_data", {"win": win}))
        return answer

    def _post(self, route: str, message: dict[str, Any]) -> str:
        url = f"{self.endpoint}/{route}"
        try:
            answer = self._http.post(url, content=json.dumps({**message, "eid": self.env}))
        except httpx.HTTPError as error:
            raise VisdomError(f"Visdom at {self.endpoint} cannot be reached: {error}") from None
        if answer.status_code != 200:
            raise VisdomError(f"Visdom at {url} answered {answer.status_code}: {answer.text[:300]}")
        return answer.text


def line(x: Sequence[Any], y: Sequence[Any], name: str = "", *, markers: bool = True) -> Trace:
    return {
        "type": "scatter",
        "mode": "lines+markers" if markers else "lines",
        "x": list(x),
        "y": list(y),
        "name": name,
    }


def scatter(x: Sequence[Any], y: Sequence[Any], name: str = "") -> Trace:
    return {"type": "scatter", "mode": "markers", "x": list(x), "y": list(y), "name": name}


def bar(x: Sequence[Any], y: Sequence[Any], name: str = "") -> Trace:
    return {"type": "bar", "x": list(x), "y": list(y), "name": name}


def heatmap(z: Sequence[Sequence[Any]], x: Sequence[Any], y: Sequence[Any]) -> Trace:
    return {
        "type": "heatmap",
        "z": [list(row) for row in z],
        "x": list(x),
        "y": list(y),
        "colorscale": "Viridis",
    }

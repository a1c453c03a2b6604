"""Visdom plotting of a tuner's trials: the loss of each trial (x = its number, one point per trial, its
parameters shown on hover) as a line in the window ``automl-<tuner job>`` of the running Visdom service
instance ``VISDOM_INSTANCE_NAME``; one line per objective. The window is drawn again after each trial
with every point so far, those it showed before a restart of the tuner included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runyard.client import Client
from runyard.ml.errors import TaskInputError
from runyard.ml.services import endpoint_url, running_instance
from runyard.ml.visdom import Visdom, VisdomError, line


class TrialPlot:
    """The losses of the trials of one tuner job, in the window ``win`` of a Visdom instance."""

    def __init__(self, client: Client, instance_name: str, win: str) -> None:
        instance = running_instance(client, "Visdom", instance_name)
        if instance is None:
            raise TaskInputError(
                "VISDOM_INSTANCE_NAME",
                f"no running Visdom service instance is named {instance_name!r}: start one (runyard service "
                f"start Visdom --var INSTANCE_NAME={instance_name})",
            )
        self._visdom = Visdom(endpoint_url(instance))
        self._win = win
        self._points: dict[int, tuple[tuple[float, ...], str]] = {}
        shown = self._visdom.window(win)
        for trace in [] if shown is None else shown["content"]["data"]:
            objective = _objective(str(trace["name"]))
            for x, y, text in zip(trace["x"], trace["y"], trace["text"], strict=True):
                losses, _ = self._points.get(int(x), ((), text))
                self._points[int(x)] = ((*losses[:objective], float(y)), text)

    def record(self, number: int, losses: tuple[float, ...] | None, values: Mapping[str, Any]) -> None:
        """Add trial ``number`` (nothing when it failed) and draw the window again; a Visdom that does not
        answer (paused, finished) is reported, and the search goes on."""
        if losses is None:
            return
        self._points[number] = (losses, json.dumps(dict(values), default=str))
        numbers = sorted(self._points)
        objectives = len(self._points[number][0])
        traces = []
        for i in range(objectives):
            name = "loss" if objectives == 1 else f"loss {i}"
            trace = line(numbers, [self._points[n][0][i] for n in numbers], name)
            traces.append({**trace, "text": [self._points[n][1] for n in numbers]})
        layout = {"xaxis": {"title": "trial"}, "yaxis": {"title": "loss"}}
        try:
            self._visdom.plot(self._win, traces, title=f"AutoML {self._win}: loss per trial", layout=layout)
        except VisdomError as error:
            print(f"trial {number} not drawn: {error}")

    def close(self) -> None:
        self._visdom.close()


def _objective(name: str) -> int:
    """The objective a trace of :meth:`TrialPlot.record` draws, from its name."""
    return int(name.rsplit(" ", 1)[1]) if name.startswith("loss ") else 0

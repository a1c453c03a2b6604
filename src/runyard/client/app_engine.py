"""The App Engine (Cytomine-compatible): task bundles, and runs of them with typed inputs.

Its routes are Cytomine's, under ``/app-engine/v1`` rather than runyard's ``/api/v1``; what they answer
is Cytomine's JSON (camelCase), returned here as it comes. A task is named ``namespace`` and
``version``; a run by its UUID. Errors raise ``ApiError`` whose ``error`` is Cytomine's ``errorCode``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from runyard.client.errors import WaitTimeout
from runyard.client.transport import (
    Call,
    Plan,
    Sleep,
    Stream,
    bytes_body,
    json_body,
    no_body,
    operation,
    segment,
    streaming,
    text_body,
)

APP_ENGINE_PATH = "/app-engine/v1"
#: The states a run ends in.
RUN_ENDED = ("FINISHED", "FAILED")
#: Input types given as a file rather than a JSON value.
BINARY_TYPES = ("file", "image")
_POLL_SECONDS = 0.25


class AppEngineApi:
    url: str  # the server's base URL (runyard.client.transport.Connection)

    def _app_path(self, path: str) -> str:
        return f"{self.url}{APP_ENGINE_PATH}{path}"

    def _app_task_path(self, namespace: str, version: str, rest: str = "") -> str:
        return self._app_path(f"/tasks/{segment(namespace)}/{segment(version)}{rest}")

    def _app_run_path(self, run_id: str, rest: str = "") -> str:
        return self._app_path(f"/task-runs/{segment(run_id)}{rest}")

    @operation
    def upload_app_task(self, bundle: str | Path) -> Call[dict[str, Any]]:
        """Upload a task bundle (a zip: ``descriptor.yml``, the image's ``docker save`` tar, an optional
        ``logo.png``); returns the task's description."""
        path = Path(bundle)
        files = {"task": (path.name, path.read_bytes(), "application/zip")}
        return Call("POST", self._app_path("/tasks"), json_body, files=files)

    @operation
    def list_app_tasks(self) -> Call[list[dict[str, Any]]]:
        return Call("GET", self._app_path("/tasks"), json_body)

    @operation
    def get_app_task(self, namespace: str, version: str) -> Call[dict[str, Any]]:
        return Call("GET", self._app_task_path(namespace, version), json_body)

    @operation
    def app_task_inputs(self, namespace: str, version: str) -> Call[list[dict[str, Any]]]:
        return Call("GET", self._app_task_path(namespace, version, "/inputs"), json_body)

    @operation
    def app_task_outputs(self, namespace: str, version: str) -> Call[list[dict[str, Any]]]:
        return Call("GET", self._app_task_path(namespace, version, "/outputs"), json_body)

    @operation
    def app_task_descriptor(self, namespace: str, version: str) -> Call[str]:
        """The task's ``descriptor.yml``, as uploaded."""
        return Call("GET", self._app_task_path(namespace, version, "/descriptor.yml"), text_body)

    @operation
    def app_task_logo(self, namespace: str, version: str) -> Call[bytes]:
        """The task's ``logo.png`` (404 ``APPE-internal-logo-not-found`` when its bundle had none)."""
        return Call("GET", self._app_task_path(namespace, version, "/logo"), bytes_body)

    @operation
    def delete_app_task(self, namespace: str, version: str) -> Call[None]:
        """Delete a task (its uploader or an admin), its runs and their files."""
        return Call("DELETE", self._app_task_path(namespace, version), no_body)

    @operation
    def create_app_run(self, namespace: str, version: str) -> Call[dict[str, Any]]:
        """A new run of the task, in state ``CREATED``."""
        return Call("POST", self._app_task_path(namespace, version, "/runs"), json_body)

    @operation
    def provision_app_run(self, run_id: str, name: str, value: Any) -> Call[dict[str, Any]]:
        """Give input ``name`` its JSON ``value`` (arrays as ``[{"index": 0, "value": ...}, ...]``), or,
        for a ``file`` or ``image`` input, the bytes of the file at ``value`` (a ``Path``)."""
        return self._provision(run_id, name, value)

    @operation
    def start_app_run(self, run_id: str) -> Call[dict[str, Any]]:
        """Ask a provisioned run to run (state action ``RUNNING``); returns the run."""
        return self._start(run_id)

    def _provision(self, run_id: str, name: str, value: Any) -> Call[dict[str, Any]]:
        path = self._app_run_path(run_id, f"/input-provisions/{segment(name)}")
        if isinstance(value, Path):
            files = {"file": (value.name, value.read_bytes(), "application/octet-stream")}
            return Call("POST", path, json_body, files=files)
        return Call("PUT", path, json_body, json={"parameterName": name, "value": value})

    def _start(self, run_id: str) -> Call[dict[str, Any]]:
        path = self._app_run_path(run_id, "/state-actions")
        return Call("POST", path, _resource, json={"desired": "RUNNING"})

    @operation
    def list_app_runs(self, namespace: str, version: str) -> Call[list[dict[str, Any]]]:
        """The runs of the task you may see (yours; an admin: everyone's), oldest first: ``{id, task,
        state}`` each (``get_app_run`` adds ``createdAt`` and ``updatedAt``)."""
        return Call("GET", self._app_task_path(namespace, version, "/runs"), json_body)

    @operation
    def get_app_run(self, run_id: str) -> Call[dict[str, Any]]:
        """Cytomine's TaskRun, plus ``jobId`` (runyard's job running it, once started) and ``reason``
        (why it is in its state: why it FAILED), which the server sends in headers."""
        return Call("GET", self._app_run_path(run_id), _run_body)

    @operation
    def wait_for_app_run(self, run_id: str, timeout: float | None = None) -> Plan[dict[str, Any]]:
        """Wait until the run is ``FINISHED`` or ``FAILED``; returns it (``WaitTimeout`` past ``timeout``)."""
        return (yield from self._until_app_run_ended(run_id, timeout))

    def _until_app_run_ended(self, run_id: str, timeout: float | None) -> Plan[dict[str, Any]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run: dict[str, Any] = yield Call("GET", self._app_run_path(run_id), _run_body)
            if run["state"] in RUN_ENDED:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"run {run_id} is still {run['state']} after {timeout} s")
            yield Sleep(_POLL_SECONDS)

    @operation
    def app_run_inputs(self, run_id: str) -> Call[list[dict[str, Any]]]:
        return Call("GET", self._app_run_path(run_id, "/inputs"), json_body)

    @operation
    def app_run_outputs(self, run_id: str) -> Call[list[dict[str, Any]]]:
        """The outputs of a ``FINISHED`` run, read back and validated."""
        return Call("GET", self._app_run_path(run_id, "/outputs"), json_body)

    @operation
    def app_run_output_file(self, run_id: str, name: str) -> Call[bytes]:
        """One output's file as the task wrote it (a folder, such as an array, comes zipped)."""
        return Call("GET", self._app_run_path(run_id, f"/output/{segment(name)}"), bytes_body)

    @operation
    def app_run_input_file(self, run_id: str, name: str, index: str | None = None) -> Call[bytes]:
        """One input's file as provisioned (a folder, such as an array, comes zipped); with ``index``
        (``"2"``, ``"0/1"`` in nested arrays) one item of an array input."""
        return self._run_file(run_id, "input", name, index)

    @operation
    def app_run_output_item(self, run_id: str, name: str, index: str) -> Call[bytes]:
        """One item's file of an array output (``index`` as in ``app_run_input_file``)."""
        return self._run_file(run_id, "output", name, index)

    def _run_file(self, run_id: str, side: str, name: str, index: str | None) -> Call[bytes]:
        if index is None:
            return Call("GET", self._app_run_path(run_id, f"/{side}/{segment(name)}"), bytes_body)
        path = self._app_run_path(run_id, f"/{side}/{segment(name)}/indexes")
        return Call("GET", path, bytes_body, params={"value": index})

    @operation
    def app_run_outputs_zip(self, run_id: str) -> Call[bytes]:
        return Call("GET", self._app_run_path(run_id, "/outputs.zip"), bytes_body)

    @operation
    def app_run_logs(self, run_id: str) -> Call[str]:
        """What the run's container printed. The server follows a job that has not ended, so the answer
        comes at its end (a silence past the client's timeout fails): ``follow_app_run_logs`` reads the
        lines as they come."""
        return Call("GET", self._app_run_path(run_id, "/logs"), text_body)

    @streaming
    def follow_app_run_logs(self, run_id: str) -> Stream[str]:
        """The lines the run's container prints, as they come, until its job ends (nothing before the
        run was started)."""
        return Stream(self._app_run_path(run_id, "/logs"), _lines)

    @operation
    def delete_app_run(self, run_id: str) -> Call[None]:
        return Call("DELETE", self._app_run_path(run_id), no_body)

    @operation
    def run_app_task(
        self,
        namespace: str,
        version: str,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None = None,
        wait: bool = True,
    ) -> Plan[dict[str, Any]]:
        """Create a run, provision ``inputs`` (a ``Path`` for a ``file`` or ``image`` input, else its JSON
        value), start it and, with ``wait``, wait for its end; returns the run."""
        run: dict[str, Any] = yield Call("POST", self._app_task_path(namespace, version, "/runs"), json_body)
        for name, value in inputs.items():
            yield self._provision(run["id"], name, value)
        run = yield self._start(run["id"])
        if not wait:
            return run
        return (yield from self._until_app_run_ended(run["id"], timeout))


def _lines() -> Callable[[str], Iterable[str]]:
    return lambda line: (line,)


def _resource(response: Any) -> dict[str, Any]:
    """A state action's answer ``{"status": "success", "resource": run}``: the run."""
    resource: dict[str, Any] = json_body(response)["resource"]
    return resource


def input_value(kind: str, text: str) -> Any:
    """A command line's ``name=value`` as the JSON value an input of type ``kind`` takes: numbers and
    booleans parsed, arrays as JSON lists (``[1, 2]`` becomes ``[{"index": 0, "value": 1}, ...]``),
    the rest (strings, enumerations, datetimes, geometries as GeoJSON or WKT) as text."""
    if kind in ("integer", "number", "boolean", "array"):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid {kind}") from None
        return _indexed(value) if kind == "array" else value
    return text


def _indexed(value: Any) -> Any:
    """``[1, [2, 3]]`` → ``[{"index": 0, "value": 1}, {"index": 1, "value": [...]}]``; lists already in
    that form are kept."""
    if not isinstance(value, list):
        return value
    if all(isinstance(item, dict) and set(item) == {"index", "value"} for item in value) and value:
        return value
    return [{"index": number, "value": _indexed(item)} for number, item in enumerate(value)]


def _run_body(response: httpx.Response) -> dict[str, Any]:
    run: dict[str, Any] = response.json()
    job, reason = response.headers.get("X-Runyard-Job-Id"), response.headers.get("X-Runyard-Reason")
    run["jobId"] = int(job) if job else None
    run["reason"] = unquote(reason) if reason else None
    return run

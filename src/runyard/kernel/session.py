"""What a notebook's cells do, one pragma at a time, apart from Jupyter's messaging (:mod:`.kernel`).

:meth:`NotebookSession.run` reads a cell and runs its pragma; what it has to show goes to ``emit``
(text, or a :class:`Display` such as the job's picture) as it happens; a failure raises
:class:`~runyard.kernel.pragmas.PragmaError`, the job being built left as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard import formats
from runyard.client import ApiError, Client, ClientError, WaitTimeout
from runyard.kernel.connection import Connection, connect, connect_default
from runyard.kernel.dot_import import MAX_DOT_BYTES, read_dot
from runyard.kernel.drawing import workflow_svg
from runyard.kernel.notebook_job import NotebookJob
from runyard.kernel.pragmas import Cell, PragmaError, help_text, read_cell
from runyard.model import JobStatus

DEFAULT_WAIT_SECONDS = 600
"""How long the result pragmas wait for a job to end, unless given ``timeout=``."""
_FILE_NAME = re.compile(r"^[\w][\w .\-]{0,199}$")


@dataclass(frozen=True)
class Display:
    """Rich output: MIME type → content (``image/svg+xml``, ``text/plain``)."""

    data: dict[str, str]


Emit = Callable[[str | Display], None]

_TASK_ROLES = ("task", "split", "process", "merge", "start", "loop", "branch", "if", "else", "continuation")
_SCRIPTS = ("pre_script", "post_script", "selection_script", "fork_env")


class NotebookSession:
    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.job = NotebookJob()
        self.connection: Connection | None = None
        self.submitted: list[tuple[int, str]] = []
        self.connection_problem = ""

    def connect_quietly(self) -> None:
        """Connect as ``#%connect()`` would, keeping the reason if it cannot (said when a pragma needs it)."""
        try:
            self.connection = connect_default()
        except PragmaError as error:
            self.connection_problem = str(error)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def run(self, text: str) -> None:
        cell = read_cell(text)
        try:
            self._run(cell)
        except WaitTimeout as error:
            raise PragmaError(str(error), "Timeout") from None
        except ApiError as error:
            raise PragmaError(f"the server refused: {error.message}", "Server error") from None
        except ClientError as error:
            raise PragmaError(str(error), "Connection error") from None

    def _run(self, cell: Cell) -> None:
        pragma, params, code = cell.pragma, cell.params, cell.code
        if pragma in _TASK_ROLES:
            if not cell.explicit:
                self.emit("No pragma: the cell is a new Python task (name it with #%task(name=NAME)).\n")
            self._change(lambda job: job.define_task(params, code, role=pragma))
        elif pragma in _SCRIPTS:
            self._change(lambda job: job.set_script(pragma, params, code))
        elif pragma in ("job_selection_script", "job_fork_env"):
            self._change(lambda job: job.set_job_script(pragma, params, code))
        elif pragma in ("runs", "condition"):
            self._change(lambda job: job.set_flow_script(pragma, params, code))
        elif pragma == "delete_task":
            self._change(lambda job: job.delete_task(params["name"]))
        elif pragma == "import":
            self._change(lambda job: job.add_imports(params, code))
        elif pragma == "job":
            self._change(lambda job: job.configure_job(params))
        else:
            getattr(self, f"_{pragma}")(params)

    def _change(self, change: Callable[[NotebookJob], object]) -> None:
        self.job, messages = self.job.changed(change)
        self.emit("".join(f"{message}\n" for message in messages))

    # -- pragmas not changing the job --------------------------------------------------------------

    def _help(self, params: dict[str, Any]) -> None:
        self.emit(help_text(params.get("pragma")))

    def _connect(self, params: dict[str, Any]) -> None:
        connection = connect(params)
        self.close()
        self.connection = connection
        self.emit(f"Connected to {connection.client.url} as {connection.user}.\n")

    def _draw_job(self, params: dict[str, Any]) -> None:
        workflow = self.job.draft(params.get("name"))
        picture = workflow_svg(workflow)
        if params.get("save", False):
            path = _file(workflow.name, ".svg")
            path.write_text(picture, encoding="utf-8")
            self.emit(f"'{path.name}' written.\n")
        if params.get("inline", True):
            self.emit(Display({"image/svg+xml": picture, "text/plain": f"<task graph of {workflow.name}>"}))

    def _write_dot(self, params: dict[str, Any]) -> None:
        workflow = self.job.draft(params.get("name"))
        path = _file(workflow.name, ".dot")
        path.write_text(formats.dump_dot(workflow), encoding="utf-8")
        self.emit(f"'{path.name}' written.\n")

    def _import_dot(self, params: dict[str, Any]) -> None:
        path = Path(params["path"]).expanduser()
        try:
            if path.stat().st_size > MAX_DOT_BYTES:
                raise PragmaError(f"{path}: larger than {MAX_DOT_BYTES} bytes", "Parameter error")
            graph = read_dot(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise PragmaError(f"cannot read {path}: {error}", "Parameter error") from None
        self._change(lambda job: job.add_graph(graph.nodes, graph.edges))

    def _export_xml(self, params: dict[str, Any]) -> None:
        workflow = self.job.workflow(params.get("name"))
        path = _file(workflow.name, ".xml")
        path.write_text(formats.dump_xml(workflow), encoding="utf-8")
        self.emit(f"'{path.name}' written.\n")

    def _submit_job(self, params: dict[str, Any]) -> None:
        workflow = self.job.workflow(params.get("name"))
        client = self._client()
        job_id = client.submit(workflow)
        self.job.name = workflow.name
        self.submitted.append((job_id, workflow.name))
        self.emit(f"Job '{workflow.name}' submitted: job_id {job_id}\n")

    def _list_submitted_jobs(self, params: dict[str, Any]) -> None:
        if not self.submitted:
            self.emit("No job submitted yet.\n")
        for job_id, name in self.submitted:
            self.emit(f"Id: {job_id}, Name: {name}\n")

    def _get_job_result(self, params: dict[str, Any]) -> None:
        job_id = self._ended_job(params)
        answer = self._client().get_job_result(job_id)
        lines = [f"Job {job_id} ({answer['status']}):"]
        lines += [f"  {task}: {_shown(value)}" for task, value in answer["results"].items()]
        lines += [f"  {task} failed: {error}" for task, error in answer["errors"].items()]
        if answer["result_map"]:
            lines.append(f"  result map: {_shown(answer['result_map'])}")
        self.emit("\n".join(lines) + "\n")

    def _get_task_result(self, params: dict[str, Any]) -> None:
        job_id = self._ended_job(params)
        task = self._client().get_task(job_id, params["task_name"])
        if task["error"]:
            raise PragmaError(f"task {task['name']} ({task['status']}): {task['error']}", "Task error")
        self.emit(f"{_shown(task['result'])}\n")

    def _print_job_output(self, params: dict[str, Any]) -> None:
        job_id = self._ended_job(params)
        self.emit(self._client().get_job_output(job_id) or f"(job {job_id} printed nothing)\n")

    def _print_task_output(self, params: dict[str, Any]) -> None:
        job_id = self._ended_job(params)
        task = params["task_name"]
        self.emit(self._client().get_task_output(job_id, task) or f"(task {task} printed nothing)\n")

    # -- helpers -----------------------------------------------------------------------------------

    def _client(self) -> Client:
        if self.connection is None:
            reason = self.connection_problem or "not connected"
            raise PragmaError(
                f"{reason}\nConnect with #%connect(url=URL, login=LOGIN, password=PASSWORD)",
                "Connection error",
            )
        return self.connection.client

    def _ended_job(self, params: dict[str, Any]) -> int:
        """The job the parameters name (default: the last submitted), once it has ended."""
        if "job_id" in params:
            if not params["job_id"].isdigit():
                raise PragmaError(f"job_id: {params['job_id']!r} is not a job id", "Parameter error")
            job_id = int(params["job_id"])
        elif "job_name" in params:
            ids = [job_id for job_id, name in self.submitted if name == params["job_name"]]
            if not ids:
                raise PragmaError(
                    f"this notebook submitted no job named {params['job_name']!r}", "Parameter error"
                )
            job_id = ids[-1]
        elif self.submitted:
            job_id = self.submitted[-1][0]
        else:
            raise PragmaError("no job submitted yet: give job_id=ID", "Parameter error")
        client = self._client()
        status = client.get_job_status(job_id)
        if not JobStatus(status).is_alive:
            return job_id
        timeout = params.get("timeout", DEFAULT_WAIT_SECONDS)
        if timeout == 0:
            raise PragmaError(f"job {job_id} is {status} (timeout=0: no waiting)", "Timeout")
        self.emit(f"Waiting for job {job_id} to end...\n")
        client.wait_for_job(job_id, timeout=timeout)
        return job_id


def _file(name: str, extension: str) -> Path:
    """``NAME.ext`` in the notebook's folder; a name that is not a plain file name is refused."""
    if not _FILE_NAME.match(name):
        raise PragmaError(
            f"{name!r} cannot name a file: use letters, digits, spaces, '.', '-', '_'", "Parameter error"
        )
    return Path.cwd() / f"{name}{extension}"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)

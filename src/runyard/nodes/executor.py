"""One task execution, in the current process: selection → input files → pre → main → post →
flow → output files → clean. Every call into user code passes one error boundary (``_step``)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from runyard.errors import RunyardError, ScriptError
from runyard.model import JavaExecutable, NativeExecutable, Script, SelectionType
from runyard.nodes.dataspaces import DataSpaces, transfer_inputs, transfer_outputs
from runyard.nodes.flow import flow_decision
from runyard.nodes.output import output_to
from runyard.nodes.protocol import OutcomeKind, TaskOutcome, TaskSpec
from runyard.nodes.selection import is_selected, static_key
from runyard.scripts import (
    Bindings,
    EncodedResult,
    JavaMap,
    ParentTaskResult,
    ScriptFailure,
    ScriptOutput,
    encode_result,
    json_mapping,
    resolve_language,
    run_native,
    run_script,
)
from runyard.taskapi import TaskApis


@dataclass
class NodeContext:
    """The node an execution runs on, as selection scripts and cache transfers see it."""

    name: str = "local"
    host: str = field(default_factory=socket.gethostname)
    url: str = ""
    cachespace: str = ""


def execute(
    spec: TaskSpec,
    static_selection_cache: MutableMapping[str, bool] | None = None,
    node: NodeContext | None = None,
    *,
    remove_localspace: bool = True,
) -> TaskOutcome:
    """Run one execution of ``spec`` and say how it ended; never raises for a user-code failure.

    ``static_selection_cache`` holds the answers of static selection scripts on this node (keyed by
    ``selection.static_key``); new answers are added to it, so a caller that keeps it (the node
    agent) skips those scripts next time. The localspace is removed at the end (scratch space, as in
    ProActive), unless ``remove_localspace`` is false: the caller then removes it itself, with
    ``remove_folder`` (a one-shot task process does so once it has reported the outcome).
    """
    cache: MutableMapping[str, bool] = {} if static_selection_cache is None else static_selection_cache
    return _Execution(spec, node or NodeContext(), cache).run(remove_localspace)


class _Execution:
    def __init__(self, spec: TaskSpec, node: NodeContext, cache: MutableMapping[str, bool]) -> None:
        self.spec = spec
        self.node = node
        self.cache = cache
        self.variables = JavaMap(spec.variables)
        self.result_map = JavaMap()
        self.result_metadata = JavaMap()  # ``resultMetadata``: scripts fill it, it goes with the result
        self.generic_information = JavaMap(spec.generic_information)
        self.credentials = JavaMap(spec.credentials)
        self.results = [ParentTaskResult(p.task_name, p.value, p.error) for p in spec.parents]
        self.spaces = DataSpaces(
            localspace=spec.localspace,
            userspace=spec.userspace,
            globalspace=spec.globalspace,
            cachespace=node.cachespace,
            inputspace=spec.inputspace,
            outputspace=spec.outputspace,
        )
        self.error: str | None = None
        self.result: Any = None
        self.encoded: EncodedResult | None = None
        self.exit_value: int | None = None
        self.flow: dict[str, Any] | None = None
        self.apis = TaskApis(self.variables, userspace=spec.userspace, globalspace=spec.globalspace)

    def run(self, remove_localspace: bool = True) -> TaskOutcome:
        started = time.time()
        _make_folder(self.spec.localspace)
        spec = self.spec
        with output_to(spec.log_path), _working_dir(spec.localspace), _environment(spec.environment):
            try:
                kind = self._run_steps()
            finally:
                self.apis.close()
        if remove_localspace:
            remove_folder(self.spec.localspace)  # as ProActive: scratch space only
        encoded = self.encoded if kind is OutcomeKind.FINISHED else None
        return TaskOutcome(
            task_id=self.spec.task_id,
            execution=self.spec.execution,
            kind=kind,
            result=encoded.pickled if encoded else None,
            result_json=encoded.json_value if encoded else None,
            result_repr=encoded.repr if encoded else None,
            error=self.error,
            variables=json_mapping(self.variables) if kind is not OutcomeKind.NOT_SELECTED else {},
            result_map=json_mapping(self.result_map),
            result_metadata=json_mapping(self.result_metadata) if encoded else {},
            flow=self.flow,
            exit_value=self.exit_value,
            started_at=started,
            finished_at=time.time(),
        )

    def _run_steps(self) -> OutcomeKind:
        spec = self.spec
        if not self._selected():
            return OutcomeKind.NOT_SELECTED
        ok = self._step("input file transfer", partial(transfer_inputs, spec.input_files, self.spaces))
        if ok and spec.pre is not None:
            ok = self._step("pre script", partial(self._plain_script, "pre", spec.pre))
        ok = ok and self._step("main script", self._main)
        if ok and spec.post is not None:
            ok = self._step("post script", self._post)
        ok = ok and self._step("result", self._encode_result)
        self.variables["PA_TASK_SUCCESS"] = "true" if ok else "false"
        if self.error is not None:  # what failed, for flow and cleaning scripts (the service helpers tell it)
            self.variables["PA_TASK_ERROR"] = self.error
        if spec.flow is not None:
            ok = self._step("flow script", self._flow) and ok
        outputs = partial(transfer_outputs, spec.output_files, self.spaces)
        ok = self._step("output file transfer", outputs) and ok
        if spec.cleaning is not None:
            cleaning = partial(self._plain_script, "cleaning", spec.cleaning)
            self._step("cleaning script", cleaning, record=False)
        return OutcomeKind.FINISHED if ok else OutcomeKind.FAULTY

    def _step(self, label: str, call: Callable[[], None], *, record: bool = True) -> bool:
        """The error boundary: run ``call``; on failure log it, keep the first error (if ``record``),
        return False."""
        try:
            call()
            return True
        except (ScriptFailure, RunyardError) as error:
            detail = str(error)
        except Exception:
            detail = traceback.format_exc().rstrip()
        message = f"{label} of task {self.spec.task_name} failed: {detail}"
        print(f"[runyard] {message}", file=sys.stderr)
        if record and self.error is None:
            self.error = message
        return False

    def _selected(self) -> bool:
        for number, selection in enumerate(self.spec.selection, start=1):
            key = static_key(selection.script) if selection.type is SelectionType.STATIC else None
            answer = self.cache.get(key) if key is not None else None
            if answer is None:
                answer = self._ask(number, selection.script)
                if answer is None:
                    return False
                if key is not None:
                    self.cache[key] = answer
            if not answer:
                self.error = f"node {self.node.name} not selected by selection script #{number}"
                return False
        return True

    def _ask(self, number: int, script: Script) -> bool | None:
        """Run a selection script: its answer, or ``None`` if it failed."""
        extra = {
            "nodename": self.node.name,
            "nodeurl": self.node.url,
            "nodehost": self.node.host,
            "nodeTokens": list(self.spec.node_tokens),
        }
        answers: list[bool] = []

        def ask() -> None:
            answers.append(is_selected(self._script("selection", script, extra)))

        return answers[0] if self._step(f"selection script #{number}", ask) else None

    def _main(self) -> None:
        executable = self.spec.executable
        if isinstance(executable, JavaExecutable):
            raise ScriptError(f"javaExecutable {executable.class_name} cannot run in runyard")
        if isinstance(executable, NativeExecutable):
            output = run_native(executable, self._bindings())
        else:
            output = self._script("main", executable.script)
        if output.values is None:
            self.exit_value = output.exit_code
            self.variables["EXIT_VALUE"] = output.exit_code
            self.result = output.exit_code
        else:
            self.result = output.values.get("result")
        self._check_exit(output)

    def _plain_script(self, role: str, script: Script) -> None:
        """A pre or cleaning script: only whether it fails matters."""
        self._check_exit(self._script(role, script))

    def _post(self) -> None:
        assert self.spec.post is not None
        output = self._script("post", self.spec.post, {"result": self.result})
        self._check_exit(output)
        if output.values is not None:
            self.result = output.values.get("result")

    def _encode_result(self) -> None:
        try:
            self.encoded = encode_result(self.result)
        except Exception as error:
            raise ScriptFailure(
                f"the result, of type {type(self.result).__name__}, cannot be pickled: {error}"
            ) from None

    def _flow(self) -> None:
        action = self.spec.flow
        assert action is not None
        output = self._script("flow", action.script, {"result": self.result})
        if output.values is None:
            raise ScriptError(
                f"a {resolve_language(action.script)} flow script cannot set branch, runs or loop:"
                " write it in cpython"
            )
        self.flow = flow_decision(action, output.values)

    def _script(self, role: str, script: Script, extra: dict[str, Any] | None = None) -> ScriptOutput:
        label = f"<{role} script of task {self.spec.task_name}>"
        output = run_script(script, self._bindings(extra), label=label, source_dir=self.spec.source_dir)
        metadata = (output.values or {}).get("resultMetadata")
        if isinstance(metadata, dict):  # engines that run elsewhere (a JVM, R) give the map back
            self.result_metadata.clear()
            self.result_metadata.update(metadata)
        return output

    def _bindings(self, extra: dict[str, Any] | None = None) -> Bindings:
        return Bindings(
            variables=self.variables,
            results=self.results,
            result_map=self.result_map,
            generic_information=self.generic_information,
            credentials=self.credentials,
            localspace=self.spec.localspace,
            userspace=self.spec.userspace,
            globalspace=self.spec.globalspace,
            cachespace=self.node.cachespace,
            inputspace=self.spec.inputspace,
            outputspace=self.spec.outputspace,
            extra={"resultMetadata": self.result_metadata, **(extra or {})},
            apis=self.apis,
        )

    @staticmethod
    def _check_exit(output: ScriptOutput) -> None:
        if output.exit_code:
            raise ScriptFailure(f"exited with code {output.exit_code}")


def _make_folder(path: str) -> None:
    """``os.makedirs(path, exist_ok=True)`` with one system call in the common case (the parent is there)."""
    try:
        os.mkdir(path)
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        pass


def remove_folder(path: str) -> None:
    """Remove ``path`` and what it holds; a plain ``rmdir`` is enough when the task left nothing."""
    try:
        os.rmdir(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the execution (a task run in the node's worker must not leak them)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _working_dir(path: str) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path or ".")
    try:
        yield
    finally:
        os.chdir(previous)

"""The node agent: a long-lived process that runs task executions in processes it forks (a warm
fork: the engines are imported once, no interpreter starts per task).

Run as ``python -m runyard.nodes.agent --channel-fd N --node NAME ...`` with ``N`` one end of a
socket pair. Parent → agent messages are run and kill requests (``runyard.nodes.messages``: a JSON
header, and for a run the pickled spec, which the agent passes on to the task process unread);
agent → parent messages are JSON objects (``ready``, ``started``, ``done``), so the parent never
unpickles anything user code produced. A ``done`` message names the execution from the agent's own
records, and is followed by the outcome as the task process wrote it (user code may have written
anything there: the parent reads it as a claim about that execution only). The agent exits, killing
its task, when the channel closes.

An execution runs in a fresh forked process (the default), or, for a ``fork=False`` spec, in the
node's **worker**: a process forked once and reused for every such execution of one scope (account,
owner and job) until it dies or is killed (faster, not isolated from the scope's other executions;
see docs/scripts.md). Both kinds of process run the same loop: read a
request from a pipe, execute it, write the ``done`` message to another pipe. The agent forwards that
message as it is. The agent forks none of them itself: its fork server
(``runyard.nodes.fork_server``), forked once the agent is warm and idle between forks, forks them
and reaps a one-shot process once it has exited, off the critical path (so the agent's own writes
are not copied again after every fork). The platform's own code (an App Engine run's runner) comes from
a second fork server, made at its first run with that code's modules imported (``_fork_platform``).

A spec that names an account (the server sets it) runs sandboxed (``runyard.nodes.sandbox``): the
task process enters the sandbox before it runs anything of the spec's, the worker once for its scope.

The answers of static selection scripts are cached here per owner: an execution receives its owner's
answers only, and what it reports having learnt (user code may forge it) goes to that owner's answers
only, so no user's task changes where another user's tasks may run.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import gc
import importlib
import json
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NoReturn

from runyard.errors import NodeError
from runyard.model import Script, ScriptExecutable
from runyard.nodes.channel import Channel, write_all
from runyard.nodes.executor import NodeContext, execute, remove_folder
from runyard.nodes.fork_server import ForkServer
from runyard.nodes.messages import KillRequest, RunRequest, decode_request, outcome_to_json
from runyard.nodes.output import prepare_standard_streams
from runyard.nodes.protocol import OutcomeKind, TaskOutcome, TaskSpec
from runyard.nodes.sandbox import Sandbox, make_undumpable, platform_paths
from runyard.scripts.jvm import launcher as jvm
from runyard.scripts.jvm import session as jvm_session

_PR_SET_PDEATHSIG = 1
_READ_SIZE = 1 << 20
_HEADER = struct.Struct("!Q")
#: No-op executions the agent runs in itself before its first fork (see ``Agent._warm_up``).
_WARM_UP_RUNS = 20
#: Longest wait in ``select`` (seconds): a deadline further away is checked again after it.
_MAX_WAIT = 3600.0
#: Most static selection answers kept per owner: what an execution reports beyond it is dropped.
_MAX_ANSWERS = 1024
#: Modules imported once here for every fork: the service helpers (and ``http.client``), which every
#: service action and health check imports (~30 ms a task otherwise, for ~1.7 MiB per agent).
_PRELOAD = ("runyard.services.launch",)
#: Modules the platform's own code run on nodes needs (``TaskSpec.platform``: an App Engine run's
#: runner, its HTTP client, Docker's SDK), imported once by that code's own fork server
#: (``Agent._fork_platform``): ~150 ms a run otherwise. Not in ``_PRELOAD``: 16 MiB more, whose page
#: tables every fork of a user's task would copy.
_PLATFORM_PRELOAD = ("runyard.appengine.runner", "httpcore", "docker", "docker.errors", "docker.types")


@dataclass
class _TaskProcess:
    """A forked task process: the spare waiting for its one request, the reusable worker of
    ``fork=False`` executions, or a scope's zygote (a former spare that forks each sandboxed execution);
    ``request`` is set while it runs one."""

    pid: int
    pidfd: int
    request_pipe: int | None  # write end; closed (None) once a one-shot process has its request
    outcome_pipe: int | None  # read end; closed (None) once a one-shot process has reported
    reusable: bool
    forker: ForkServer  # the fork server that forked it, which reaps it
    scope: str | None = None  # a worker's or zygote's: what it is sandboxed for (``messages.worker_scope``)
    request: RunRequest | None = None
    started_at: float = 0.0
    deadline: float | None = None
    data: bytearray = field(default_factory=bytearray)
    stopped: OutcomeKind | None = None  # KILLED or WALLTIME once the agent killed it

    def fds(self) -> list[int]:
        return [fd for fd in (self.pidfd, self.request_pipe, self.outcome_pipe) if fd is not None]


class _Child(NamedTuple):
    """A zygote's child, forked ahead of the execution it runs."""

    pid: int
    request_pipe: int  # write end
    outcome_pipe: int  # read end


class Agent:
    """Runs one execution at a time in a forked process, reporting over ``channel``.

    The next one-shot process is forked ahead of time (right after the previous one reported), so
    that neither the fork nor the child's start is on the path from a request to its outcome. On a
    node that sandboxes, the spare becomes the zygote of the first scope it serves: sandboxed once, it
    forks each execution of that scope (its next child also forked ahead), until another scope comes.
    """

    def __init__(self, channel: Channel, node: NodeContext, private_dirs: tuple[str, ...] = ()) -> None:
        self.channel = channel
        self.node = node
        self.private_dirs = private_dirs  # hidden from sandboxed executions (the data folder)
        self.static_selection: dict[str, dict[str, bool]] = {}  # owner -> static_key -> answer
        self.spare: _TaskProcess | None = None
        self.spare_asked = False  # the next spare is being forked: taken when needed
        self.worker: _TaskProcess | None = None  # fork=False executions; forked on first use
        self.zygote: _TaskProcess | None = None  # forks the sandboxed executions of one scope
        self.retired: list[_TaskProcess] = []  # of another scope than the request's: killed after it
        self.running: _TaskProcess | None = None
        self.forker: ForkServer | None = None  # forks the task processes once the agent is warm
        self.platform_forker: ForkServer | None = None  # forks the platform's own (made at its first)
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl
        # Outcomes are read into it, and only its used part wiped (made in ``serve``).
        self._chunk = bytearray()

    def serve(self) -> None:
        """Serve until the channel closes; the task processes are killed on the way out."""
        self._warm_up()
        _prepare_jvm()
        # JVMs started by one-shot task processes (unsandboxed: one scope) last as long as the agent
        jvm.hold(self.node.cachespace)
        platform_paths()  # computed once, here, for every sandbox
        gc.freeze()  # what the agent holds now is left alone by the collector of every fork
        _trim_heap()  # each fork copies the page table of what the fork server holds: the less, the faster
        self.forker = ForkServer(self._child_main, in_server=self.channel.close)
        self._chunk = bytearray(_READ_SIZE)  # the agent's alone (256 pages the fork server does not hold)
        try:
            self.spare = self._fork(reusable=False)
            self._send({"type": "ready", "pid": os.getpid()})
            while self._serve_once():
                pass
        finally:
            with contextlib.suppress(NodeError):  # a fork server that died took its children with it
                self._collect_spare()
            for process in (self.running, self.spare, self.worker, self.zygote, *self.retired):
                if process is not None:
                    kill_process_group(process.pid)
            for forker in (self.forker, self.platform_forker):
                if forker is not None:
                    forker.close()

    def _warm_up(self) -> None:
        """Import the ``_PRELOAD`` modules and run a few no-op executions here, before the first fork.

        Each forked process pays a page copy for every page it writes, and a first run writes a lot:
        CPython specialises the bytecode it runs in place, fills its type caches, interns names.
        Done once here, it is shared by every fork (about 70 fewer page copies per execution).
        """
        for module in _PRELOAD:
            importlib.import_module(module)
        folder = os.path.join(self.node.cachespace, f".runyard-warm-up-{os.getpid()}")
        no_op = ScriptExecutable(Script("cpython", code="result = None"))
        for number in range(_WARM_UP_RUNS):
            spec = TaskSpec(
                job_id="0", job_name="warm-up", task_id=f"warm-up-{number}", task_name="warm-up",
                execution=1, owner="", iteration=0, replication=0, variables={}, generic_information={},
                executable=no_op, localspace=os.path.join(folder, "localspace"),
                log_path=os.path.join(folder, "log"),
            )  # fmt: skip
            self._run(pickle.loads(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)), {})
        shutil.rmtree(folder, ignore_errors=True)
        jvm_session.warm_up()

    def _serve_once(self) -> bool:
        running = self.running
        assert self.forker is not None
        forkers = [f.pidfd for f in (self.forker, self.platform_forker) if f is not None]
        readable = [self.channel.fileno(), *forkers]
        timeout = None
        if running is not None:
            readable.append(running.pidfd)
            if running.outcome_pipe is not None:
                readable.append(running.outcome_pipe)
            if running.deadline is not None and running.stopped is None:
                timeout = min(max(0.0, running.deadline - time.time()), _MAX_WAIT)
        ready, _, _ = select.select(readable, [], [], timeout)
        if any(pidfd in ready for pidfd in forkers):
            # Its task processes died with it: the node source starts another agent.
            raise NodeError("the fork server died")
        if running is not None:
            self._watch(running, ready)
        if self.channel.fileno() in ready:
            try:
                message = self.channel.recv_buffer()
            except (EOFError, OSError):
                return False
            try:
                self._handle(decode_request(message))
            finally:
                _wipe(message)  # a spec holds its owner's secrets: none is left for the next forks
        return True

    def _watch(self, running: _TaskProcess, ready: list[int]) -> None:
        if running.outcome_pipe in ready and (done := self._reported(running)) is not None:
            if not running.reusable:  # it exits now: the fork server reaps it
                self._close_pipes(running)
                self._forget(running)
            self._report(running, done)
        elif running.pidfd in ready:
            status = self._reap(running)
            done = self._reported(running)
            self._close_pipes(running)
            if running is self.worker:
                self.worker = None
            if running is self.zygote:
                self.zygote = None
            self._report(running, done or self._death(running, status))
        elif running.stopped is None and running.deadline is not None and time.time() >= running.deadline:
            running.stopped = OutcomeKind.WALLTIME
            kill_process_group(running.pid)

    def _handle(self, request: RunRequest | KillRequest) -> None:
        running = self.running
        if isinstance(request, KillRequest):
            if (
                running is not None
                and running.request is not None
                and (running.request.task_id, running.request.execution)
                == (request.task_id, request.execution)
            ):
                running.stopped = running.stopped or OutcomeKind.KILLED
                kill_process_group(running.pid)
        elif running is not None:
            busy = f"node {self.node.name} is already running another task"
            outcome = TaskOutcome(request.task_id, request.execution, OutcomeKind.FAULTY, error=busy)
            self._send_done(request, json.dumps(outcome_to_json(outcome)).encode())
        else:
            self._start(request)

    def _start(self, request: RunRequest) -> None:
        if not request.fork:
            process = self._take_worker(request.scope)
        elif request.scope is not None:
            process = self._take_zygote(request.scope)
        elif request.platform:
            process = self._fork_platform()
        else:
            process = self._take_spare()
        process.request = request
        process.started_at = time.time()
        if request.walltime is not None:
            process.deadline = process.started_at + request.walltime
        self.running = process
        cache = _frame(json.dumps(self.static_selection.get(request.owner, {})).encode())
        frames = (cache, _HEADER.pack(len(request.spec)), request.spec)
        assert process.request_pipe is not None
        # A task process that died meanwhile shows up through its pidfd: the write error is moot.
        with contextlib.suppress(OSError):
            write_all(process.request_pipe, frames)
        if not process.reusable:
            os.close(process.request_pipe)
            process.request_pipe = None
        started = {"task_id": request.task_id, "execution": request.execution, "pid": process.pid}
        self._send({"type": "started", **started})
        for retired in self.retired:
            kill_process_group(retired.pid)
            self._forget(retired)
        self.retired.clear()

    def _take_spare(self) -> _TaskProcess:
        self._collect_spare()
        spare, self.spare = self.spare, None
        return spare if spare is not None and self._alive(spare) else self._fork(reusable=False)

    def _collect_spare(self) -> None:
        """Take the spare asked of the fork server, if one was."""
        if self.spare_asked:
            assert self.forker is not None
            self.spare_asked = False
            self.spare = self._process(*self.forker.take(), reusable=False, forker=self.forker)

    def _take_worker(self, scope: str | None) -> _TaskProcess:
        """The worker for ``scope``: a worker of another scope (it may hold what its user code left
        in it) is killed, and a fresh one forked."""
        worker = self.worker = self._of_scope(self.worker, scope)
        if worker is None:
            worker = self.worker = self._fork(
                reusable=True, jvm_folder=None if scope else self.node.cachespace
            )
            worker.scope = scope
        return worker

    def _take_zygote(self, scope: str) -> _TaskProcess:
        """The process that forks the sandboxed executions of ``scope``, each in a process of its own:
        the spare, sandboxed by its first request and kept. The sandbox is made once per scope (account,
        owner and job) rather than once per execution; user code never runs in the zygote itself."""
        zygote = self.zygote = self._of_scope(self.zygote, scope)
        if zygote is None:
            zygote = self.zygote = self._take_spare()
            zygote.reusable, zygote.scope = True, scope
        return zygote

    def _of_scope(self, process: _TaskProcess | None, scope: str | None) -> _TaskProcess | None:
        """``process`` if it serves ``scope`` and is alive; one of another scope is retired: killed once
        the request is on its way, reaped once it has exited (a namespace takes a while to go)."""
        if process is not None and process.scope != scope and self._alive(process):
            self._close_pipes(process)
            self.retired.append(process)
            return None
        return process if process is not None and self._alive(process) else None

    def _alive(self, process: _TaskProcess) -> bool:
        """Whether an idle task process is still there; a dead one is reaped and its pipes closed."""
        if not select.select([process.pidfd], [], [], 0)[0]:
            return True
        self._reap(process)
        self._close_pipes(process)
        return False

    def _fork(self, *, reusable: bool, jvm_folder: str | None = None) -> _TaskProcess:
        """A new task process for users' code, forked by the fork server."""
        assert self.forker is not None
        self._collect_spare()  # the fork server answers in order
        forked = self.forker.fork(reusable=reusable, jvm_folder=jvm_folder)
        return self._process(*forked, reusable=reusable, forker=self.forker)

    def _fork_platform(self) -> _TaskProcess:
        """A one-shot process for the platform's own code, out of any sandbox (the spare may have
        prepared one), forked by a fork server of its own that has ``_PLATFORM_PRELOAD`` imported."""
        if self.platform_forker is None:
            self.platform_forker = ForkServer(self._child_main, in_server=self._platform_server)
        forked = self.platform_forker.fork(reusable=False, sandboxed=False)
        return self._process(*forked, reusable=False, forker=self.platform_forker)

    def _platform_server(self) -> None:
        """In the platform's fork server, first: what the agent holds now closed and forgotten (its
        children must not keep a task process's pipe open, nor reach the agent), the modules imported."""
        self.channel.close()
        assert self.forker is not None
        self.forker.sock.close()
        os.close(self.forker.pidfd)
        for process in (self.spare, self.worker, self.zygote, self.running, *self.retired):
            for fd in process.fds() if process is not None else ():
                os.close(fd)
        self.spare = self.worker = self.zygote = self.running = self.forker = None
        self.retired = []
        for module in _PLATFORM_PRELOAD:
            with contextlib.suppress(ImportError):  # then the task itself fails to import it, and says so
                importlib.import_module(module)
        gc.freeze()

    @staticmethod
    def _process(
        pid: int, request_write: int, outcome_read: int, *, reusable: bool, forker: ForkServer
    ) -> _TaskProcess:
        os.set_blocking(outcome_read, False)
        return _TaskProcess(pid, os.pidfd_open(pid), request_write, outcome_read, reusable, forker)

    def _child_main(
        self, request_pipe: int, outcome_pipe: int, reusable: bool, sandboxed: bool, jvm_folder: str | None
    ) -> NoReturn:
        """In a process the fork server forked: the task process."""
        if reusable:  # the worker's JVM lasts as long as it (a one-shot process's, as the agent)
            jvm.hold(jvm_folder)
        self._task_process(request_pipe, outcome_pipe, reusable, for_users=sandboxed)

    def _task_process(
        self, request_pipe: int, outcome_pipe: int, reusable: bool, *, for_users: bool
    ) -> NoReturn:
        """In the forked process: run each request that comes, write its outcome; exit at end of input.

        A one-shot process gets one request (the agent then closes the pipe), the worker many. A
        one-shot process removes the execution's localspace once it has written the outcome (a
        ``rmdir`` may wait milliseconds for the file system's journal: not on the way to the outcome).
        One not ``for_users`` runs the platform's own code only (``TaskSpec.platform``: an App Engine
        runner), out of any sandbox: none is prepared in it (a user namespace, made without root,
        cannot be left).
        """
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.channel.close()
            for process in (self.spare, self.worker, self.zygote, self.running, *self.retired):
                for fd in process.fds() if process is not None else ():
                    os.close(fd)
            os.setsid()
            self._prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            sandbox = self._prepare_sandbox() if for_users else None
            sandboxed = False
            child: _Child | None = None
            while (frames := _read_frames(request_pipe, 2)) is not None:
                cache, pickled = frames
                spec: TaskSpec = pickle.loads(pickled)
                try:
                    if not for_users:
                        if not (spec.platform and spec.account is None):
                            raise NodeError("a process made for the platform's own code got a user's task")
                    elif not sandboxed and (spec.account is not None or sandbox is not None):
                        self._enter_sandbox(spec, sandbox)
                        sandboxed = True
                    zygote = sandboxed and spec.fork  # forks the executions of its scope
                    if zygote:
                        relayed = child or self._fork_child((request_pipe, outcome_pipe))
                        outcome, unreaped = self._relay(relayed, spec, frames)
                        write_all(outcome_pipe, [outcome])
                        child = self._fork_child((request_pipe, outcome_pipe))  # the next one's, ahead
                        if unreaped:  # then the last one reaped (it may still be removing its localspace)
                            os.waitpid(relayed.pid, 0)
                    else:
                        write_all(
                            outcome_pipe, [self._run(spec, json.loads(cache), remove_localspace=reusable)]
                        )
                        if not reusable:
                            remove_folder(spec.localspace)
                except Exception as error:
                    # Reported (a sandboxed process's standard error is /dev/null), then this process
                    # ends: a worker half set up or half broken serves nobody else.
                    write_all(outcome_pipe, [_failure(spec, error)])
                    raise
        except BaseException:
            traceback.print_exc()
            code = 70
        finally:
            os._exit(code)

    def _fork_child(self, pipes: tuple[int, int]) -> _Child:
        """A child of this zygote, waiting for the one execution it is to run (a kill of the zygote's
        process group ends it too). It gets none of this process's ``pipes`` (its next requests, its
        link to the agent)."""
        request_read, request_write = os.pipe()
        outcome_read, outcome_write = os.pipe()
        jvm.hold()  # the scope's JVM, in the zygote's process group, lasts as long as the zygote
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for fd in (request_write, outcome_read, *pipes):
                    os.close(fd)
                self._prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
                if (frames := _read_frames(request_read, 2)) is not None:
                    cache, pickled = frames
                    spec: TaskSpec = pickle.loads(pickled)
                    write_all(outcome_write, [self._run(spec, json.loads(cache), remove_localspace=False)])
                    remove_folder(spec.localspace)  # once the outcome is on its way
            except BaseException:
                traceback.print_exc()
                code = 70
            finally:
                os._exit(code)
        os.close(request_read)
        os.close(outcome_write)
        return _Child(pid, request_write, outcome_read)

    @staticmethod
    def _relay(child: _Child, spec: TaskSpec, frames: list[bytes]) -> tuple[bytes, bool]:
        """Give ``child`` its execution; the outcome frames it wrote, or a failure if it ended without
        writing them whole; and whether ``child`` is still to be reaped (it wrote them: it may be
        removing its localspace)."""
        with contextlib.suppress(OSError):  # a child that died shows in its status
            write_all(child.request_pipe, [b for frame in frames for b in (_HEADER.pack(len(frame)), frame)])
        os.close(child.request_pipe)
        data = bytearray()
        while _split_frames(data, 2) is None and (chunk := os.read(child.outcome_pipe, _READ_SIZE)):
            data += chunk
        os.close(child.outcome_pipe)
        if _split_frames(data, 2) is not None:
            return bytes(data), True
        _, status = os.waitpid(child.pid, 0)
        shutil.rmtree(spec.localspace, ignore_errors=True)  # the task could not clean up after itself
        return _failure(spec, _ended_early(status)), False

    def _prepare_sandbox(self) -> Sandbox | OSError | None:
        """On a node with private folders, the part of the sandbox that comes before the request
        (done while the process waits for it); a failure is reported with the request."""
        if not self.private_dirs:
            return None
        try:
            return Sandbox(self.private_dirs)
        except OSError as error:
            return error

    def _enter_sandbox(self, spec: TaskSpec, prepared: Sandbox | OSError | None) -> None:
        """Show the task only its own folders, and run as its account (the worker: for its scope)."""
        if isinstance(prepared, OSError):
            raise prepared
        if spec.account is None:
            raise NodeError("this node sandboxes every task: a task without an account is refused")
        sandbox = prepared or Sandbox(self.private_dirs)
        owned = [os.path.dirname(spec.localspace), os.path.dirname(spec.log_path), spec.userspace]
        owned += [spec.services_dir, self._node_for(spec).cachespace]
        folders: list[tuple[str, int | None]] = [(folder, 0o700) for folder in owned]
        folders += [(spec.globalspace, 0o1777), (spec.inputspace, None), (spec.outputspace, None)]
        sandbox.enter(spec.account, folders)

    def _node_for(self, spec: TaskSpec) -> NodeContext:
        """The node as ``spec`` sees it: a sandboxed execution gets its owner's part of the cache space."""
        if spec.account is None:
            return self.node
        return dataclasses.replace(self.node, cachespace=os.path.join(self.node.cachespace, spec.owner))

    def _run(self, spec: TaskSpec, answers: dict[str, bool], *, remove_localspace: bool = True) -> bytes:
        """Execute ``spec`` knowing its owner's static selection ``answers``: two frames, the answers
        learnt and the outcome."""
        known = set(answers)
        outcome = execute(spec, answers, self._node_for(spec), remove_localspace=remove_localspace)
        learnt = {k: v for k, v in answers.items() if k not in known}
        return _frame(json.dumps(learnt).encode()) + _frame(json.dumps(outcome_to_json(outcome)).encode())

    def _reported(self, running: _TaskProcess) -> memoryview | None:
        """The outcome the task process wrote, once whole (the static selection answers it
        learnt are taken in on the way, as answers of the request's owner)."""
        if running.outcome_pipe is not None:
            chunk, used = self._chunk, 0  # read in place, wiped: an outcome holds its owner's values
            with contextlib.suppress(BlockingIOError):
                while count := os.readv(running.outcome_pipe, [chunk]):
                    used = max(used, count)
                    running.data += memoryview(chunk)[:count]
                os.close(running.outcome_pipe)  # end of input: the process is exiting
                running.outcome_pipe = None
            _wipe(chunk, used)
        frames = _split_frames(running.data, 2)
        if frames is None:  # not all there yet, or cut short by a kill
            return None
        learnt, done = frames
        assert running.request is not None
        answers = self.static_selection.setdefault(running.request.owner, {})
        for key, answer in _answers(learnt).items():
            if len(answers) < _MAX_ANSWERS or key in answers:
                answers[key] = answer
        return done

    def _death(self, running: _TaskProcess, status: int) -> bytes:
        """The outcome of a task process that exited without writing one."""
        assert running.request is not None
        request = running.request
        kind: OutcomeKind = OutcomeKind.FAULTY
        if running.stopped is OutcomeKind.WALLTIME:
            kind, error = running.stopped, f"walltime of {request.walltime:g} s exceeded: killed"
        elif running.stopped is OutcomeKind.KILLED:
            kind, error = running.stopped, "killed on request"
        else:
            error = _ended_early(status)
        shutil.rmtree(request.localspace, ignore_errors=True)  # the task could not clean up after itself
        died = TaskOutcome(request.task_id, request.execution, kind, error=error)
        died.started_at, died.finished_at = running.started_at, time.time()
        return json.dumps(outcome_to_json(died)).encode()

    def _report(self, process: _TaskProcess, done: bytes | memoryview) -> None:
        """Forward the outcome; a one-shot process is left to exit, a live worker waits for more."""
        assert process.request is not None
        self._send_done(process.request, done)
        self.running = None
        process.request, process.deadline, process.stopped = None, None, None
        _wipe(process.data)  # ``done`` is a view into it
        process.data = bytearray()
        if self.spare is None and not self.spare_asked:  # taken by a one-shot execution, or a zygote now
            assert self.forker is not None
            self.forker.ask(reusable=False)
            self.spare_asked = True

    @staticmethod
    def _close_pipes(process: _TaskProcess) -> None:
        for fd in (process.request_pipe, process.outcome_pipe):
            if fd is not None:
                os.close(fd)
        process.request_pipe = process.outcome_pipe = None

    def _reap(self, process: _TaskProcess) -> int:
        """The exit status of a task process that has exited (its pidfd is readable)."""
        os.close(process.pidfd)
        return process.forker.wait(process.pid)

    def _forget(self, process: _TaskProcess) -> None:
        """Leave a task process that reported or was killed to the fork server, which reaps it."""
        os.close(process.pidfd)
        process.forker.forget(process.pid)

    def _send(self, message: dict[str, Any]) -> None:
        self.channel.send_bytes(json.dumps(message).encode())

    def _send_done(self, request: RunRequest, outcome: bytes | memoryview) -> None:
        """The ``done`` message of ``request``'s execution, then its ``outcome`` as it was written: two
        messages in one write (one wake-up of the node source's reader)."""
        done = {"type": "done", "task_id": request.task_id, "execution": request.execution}
        header = json.dumps(done).encode()
        frames = (_HEADER.pack(len(header)), header, _HEADER.pack(len(outcome)), outcome)
        write_all(self.channel.fileno(), frames)


def _prepare_jvm() -> None:
    """Compile the JVM evaluator of groovy and javascript scripts if it is not yet (once per machine,
    a few seconds): sandboxed task processes cannot write where it is kept."""
    found = jvm.installation()
    if isinstance(found, str) or found.javac is None:
        return  # the engines say why they cannot run when a script asks for them
    try:
        jvm.prepare(found)
    except (jvm.JvmError, OSError) as error:
        print(f"[runyard] the JVM evaluator could not be built: {error}", file=sys.stderr)


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system (~0.7 MiB after the warm-up), if the C library can."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def _ended_early(status: int) -> str:
    """Why a task process that ended with ``status`` (``waitpid``'s) wrote no outcome."""
    if os.WIFSIGNALED(status):
        return f"task process died (signal {os.WTERMSIG(status)})"
    return f"task process exited with code {os.WEXITSTATUS(status)} before reporting"


def _failure(spec: TaskSpec, error: Exception | str) -> bytes:
    """The frames of the outcome of an execution the task process itself failed to run (or, given as
    text, one its forked child ended without reporting)."""
    reason = (
        error
        if isinstance(error, str)
        else f"the task process failed to run the task: {type(error).__name__}: {error}"
    )
    outcome = TaskOutcome(spec.task_id, spec.execution, OutcomeKind.FAULTY, error=reason)
    return _frame(b"{}") + _frame(json.dumps(outcome_to_json(outcome)).encode())


def _answers(learnt: memoryview) -> dict[str, bool]:
    """The static selection answers a task process reported: user code may have written anything
    there, so whatever is not a key and a boolean is left out."""
    try:
        reported = json.loads(bytes(learnt))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(reported, dict):
        return {}
    return {key: answer for key, answer in reported.items() if isinstance(answer, bool)}


def _frame(data: bytes) -> bytes:
    return _HEADER.pack(len(data)) + data


def _wipe(buffer: bytearray, size: int | None = None) -> None:
    """Zero ``buffer`` (its first ``size`` bytes) in place: what it held leaves this process's memory
    (and that of its next forks)."""
    size = len(buffer) if size is None else size
    buffer[:size] = bytes(size)


def _split_frames(data: bytes | bytearray, count: int) -> list[memoryview] | None:
    """The first ``count`` length-prefixed frames of ``data``, or ``None`` if they are not all there."""
    frames, offset = [], 0
    for _ in range(count):
        if len(data) < offset + _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        if len(data) < offset + size:
            return None
        frames.append(memoryview(data)[offset : offset + size])
        offset += size
    return frames


def _read_frames(fd: int, count: int) -> list[bytes] | None:
    """Read ``count`` frames from a blocking ``fd``; ``None`` at end of input."""
    frames = []
    for _ in range(count):
        header = _read_exactly(fd, _HEADER.size)
        if header is None:
            return None
        body = _read_exactly(fd, _HEADER.unpack(header)[0])
        if body is None:
            return None
        frames.append(body)
    return frames


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, min(size - len(data), _READ_SIZE))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def kill_process_group(pid: int) -> None:
    """SIGKILL ``pid`` (a task process), then the process group it leads, if still there.

    A task process calls ``setsid`` before it forks anything, but a kill may come before it has: its
    group does not exist yet. Killed first, it can no longer make one after the group's kill.
    """
    for kill in (os.kill, os.killpg):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runyard.nodes.agent", description=__doc__)
    parser.add_argument("--channel-fd", type=int, required=True, help="inherited socket to the node source")
    parser.add_argument("--node", required=True, help="node name, e.g. local-1")
    parser.add_argument("--host", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--cachespace", required=True, help="node-wide cache folder")
    parser.add_argument(
        "--private-dir", action="append", default=[], help="folder sandboxed tasks never see (repeatable)"
    )
    args = parser.parse_args(argv)
    make_undumpable()  # its memory and environment are not for the tasks, even of the same uid
    os.makedirs(args.cachespace, exist_ok=True)
    # SIGTERM ends the agent through ``serve``'s cleanup, which kills the running task.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    prepare_standard_streams()
    node = NodeContext(name=args.node, host=args.host, url=args.url, cachespace=args.cachespace)
    channel = Channel(socket.socket(fileno=args.channel_fd))
    Agent(channel, node, tuple(os.path.abspath(d) for d in args.private_dir)).serve()


if __name__ == "__main__":
    main()

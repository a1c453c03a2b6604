"""The warm JVM of a scope: its files (compiled once per machine), its start, the connection to it.

A JVM is keyed by its **holder**, the long-lived process of the scope it serves (the zygote that
forks the scope's task processes, or the ``fork=False`` worker; the node agent for unsandboxed runs):
it listens on ``.runyard-jvm-<holder>.sock`` in the job's local folder (a folder only the scope's
sandbox shows), and exits when its holder does. A task process connects to it, or starts it when
there is none (or a dead one). The JVM is started in the caller's process group, so that killing the
zygote's or the worker's group kills it too.

Nothing here imports ``subprocess`` or ``threading``: the node agent calls :func:`prepare`, and
what the agent imports weighs on every process it forks.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import select
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.scripts.jvm import compat
from runyard.scripts.jvm.frames import receive_frame

#: Debian's jars (``groovy``, ``rhino`` packages); ``RUNYARD_GROOVY_JAR`` / ``RUNYARD_RHINO_JAR`` override.
GROOVY_JAR = "/usr/share/java/groovy-all.jar"
RHINO_JAR = "/usr/share/java/rhino.jar"
#: A JVM nobody used for this long exits (a scope's later script starts another).
IDLE_SECONDS = 600
#: Longest wait for a starting JVM to listen.
START_TIMEOUT = 60.0
#: The Java sources shipped with this package: the evaluator and ProActive's helper classes.
_SOURCES = ("RunyardEvaluator.java", "SelectionUtils.java")
_MAIN_CLASS = "RunyardEvaluator"
_JAR = "evaluator.jar"
_ARCHIVE = "evaluator.jsa"
#: Options for a quick start: class data sharing (the machine's archive, see ``prepare``), the C1 JIT
#: only (a script's code is short lived; C2's compile threads would compete with it on a small node),
#: the serial collector, no perf data file in /tmp.
_JVM_OPTIONS = (
    *("--add-modules=jdk.incubator.foreign", "--enable-native-access=ALL-UNNAMED"),  # chdir per script
    "--add-opens=java.base/java.io=ALL-UNNAMED",  # java.io's idea of the working folder, along
    "--add-opens=java.base/java.util=ALL-UNNAMED",  # the environment: each script sees its task's
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-Xshare:auto",
    "-Djava.security.manager=allow",
    "-Dfile.encoding=UTF-8",
    "-Djava.awt.headless=true",
)


@dataclass(frozen=True)
class _Holder:
    """This process's holder (see ``hold``)."""

    pid: int
    lifeline: int  # the JVM's end
    folder: str | None  # where its JVM listens; None: the job's local folder


_holder: _Holder | None = None


class JvmError(Exception):
    """The JVM cannot be started or reached: says why."""


def hold(folder: str | None = None) -> None:
    """Make this process the holder of the JVMs that it and the processes it forks start from now on,
    listening in ``folder`` (``None``: the job's local folder, for a holder serving one scope).

    A lifeline: this process keeps one end of a socket pair open and never writes to it; a JVM gets
    the other end as its standard input, and exits when it reads the end of it, that is when this
    process and every process it forked (they hold the first end too) are gone. No pid to watch: a sandboxed
    process cannot see its holder in ``/proc`` (an account's processes that were root are hidden).
    Idempotent in a process; a process that does not call it uses its parent's holder.
    """
    global _holder
    if _holder is None or _holder.pid != os.getpid():
        # A socket pair rather than a pipe: task processes look for their outcome pipe among theirs.
        ours, jvms = socket.socketpair()
        ours.detach()  # stays open for this process's life
        _holder = _Holder(os.getpid(), jvms.detach(), folder)


def _held() -> _Holder:
    """This process's holder: inherited from the process that forked it, else this process."""
    if _holder is None:
        hold()
    assert _holder is not None
    return _holder


@dataclass(frozen=True)
class Installation:
    java: str
    javac: str | None
    groovy_jar: str | None
    rhino_jar: str | None
    libraries: tuple[str, ...] = ()  # the third-party jars of the ProActive classes (compat)

    def jars(self) -> list[str]:
        return [*(jar for jar in (self.groovy_jar, self.rhino_jar) if jar is not None), *self.libraries]


@functools.cache
def installation() -> Installation | str:
    """What is installed here, or why no JVM engine can run."""
    java = shutil.which("java")
    if java is None:
        return "no java on the PATH (Debian: apt-get install default-jre-headless)"
    java = os.path.realpath(java)
    javac = shutil.which("javac")
    groovy = _readable(os.environ.get("RUNYARD_GROOVY_JAR", GROOVY_JAR))
    rhino = _readable(os.environ.get("RUNYARD_RHINO_JAR", RHINO_JAR))
    return Installation(java, javac and os.path.realpath(javac), groovy, rhino, compat.libraries())


def _readable(path: str) -> str | None:
    real = os.path.realpath(path)
    return real if os.access(real, os.R_OK) else None


def cache_root() -> Path:
    """Where the compiled evaluator and its class data archive are kept, once per machine:
    ``RUNYARD_JVM_CACHE``, else ``<prefix>/var/cache/runyard/jvm`` (inside the installation, which
    sandboxed tasks can read), else ``~/.cache/runyard/jvm``."""
    configured = os.environ.get("RUNYARD_JVM_CACHE")
    if configured:
        return Path(configured)
    in_prefix = Path(sys.prefix, "var", "cache", "runyard", "jvm")
    with contextlib.suppress(OSError):
        in_prefix.mkdir(parents=True, exist_ok=True)
    return in_prefix if in_prefix.is_dir() else Path.home() / ".cache" / "runyard" / "jvm"


def _sources() -> dict[str, bytes]:
    return {name: Path(__file__).with_name(name).read_bytes() for name in _SOURCES} | compat.sources()


def build_folder(found: Installation) -> Path:
    """The folder of these sources built against these jars and this Java."""
    digest = hashlib.sha256(b"".join(_sources().values()))
    for path in (found.java, *found.jars()):
        status = os.stat(path)
        digest.update(f"{path}:{status.st_size}:{status.st_mtime_ns}".encode())
    return cache_root() / digest.hexdigest()[:16]


def prepare(found: Installation) -> Path:
    """The built evaluator's folder: compiled now if it is not yet (``javac``, about a second), with
    a class data sharing archive of a training run (the JVM then starts about twice as fast)."""
    folder = build_folder(found)
    if (folder / _JAR).exists():
        return folder
    if found.javac is None:
        raise JvmError("the JVM evaluator is not compiled yet and there is no javac here to compile it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(f"{folder}.{os.getpid()}.building")
    shutil.rmtree(building, ignore_errors=True)
    (building / "classes").mkdir(parents=True)
    try:
        sources = _sources()
        for name, text in sources.items():
            (building / name).write_bytes(text)
        classpath = os.pathsep.join(found.jars())
        javac = [found.javac, "-nowarn", "--add-modules", "jdk.incubator.foreign", "-encoding", "UTF-8"]
        javac += ["-cp", classpath, "-d", "classes", *sources]
        code, output = _run(javac, building)
        if code != 0:
            raise JvmError(f"javac failed to compile the JVM evaluator: {output.strip()}")
        import zipfile  # here: it imports threading, whose after-fork hook would weigh on every fork

        with zipfile.ZipFile(building / _JAR, "w") as jar:  # class data sharing takes jars only
            for compiled in sorted((building / "classes").rglob("*.class")):
                jar.write(compiled, compiled.relative_to(building / "classes"))
        shutil.rmtree(building / "classes")
        building.chmod(0o755)
        with contextlib.suppress(OSError):  # another process built it meanwhile: theirs is as good
            building.rename(folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    # Trained where it stays: an archive is valid for the class path it was made with only.
    training = folder / f"{_ARCHIVE}.{os.getpid()}"
    _run([found.java, f"-XX:ArchiveClassesAtExit={training}", *_options(found, folder, None), "--train"])
    with contextlib.suppress(OSError):
        training.rename(folder / _ARCHIVE)
    return folder


def _options(found: Installation, folder: Path, archive: Path | None) -> list[str]:
    options = list(_JVM_OPTIONS)
    if archive is not None and archive.exists():
        options.append(f"-XX:SharedArchiveFile={archive}")
    return [*options, "-cp", os.pathsep.join([str(folder / _JAR), *found.jars()]), _MAIN_CLASS]


def _run(argv: list[str], cwd: Path | None = None) -> tuple[int, str]:
    """Run ``argv`` to its end: its exit code and what it printed."""
    read, write = os.pipe()
    try:
        pid = _spawn(argv, cwd, _output_to(write))
    finally:
        os.close(write)
    output = bytearray()
    with os.fdopen(read, "rb") as pipe:
        while chunk := pipe.read(65536):
            output += chunk
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return code, output.decode("utf-8", "replace")


def _output_to(fd: int, stdin: int | None = None) -> list[tuple[Any, ...]]:
    """``posix_spawn`` file actions: standard input from ``stdin`` (else none), standard output and
    error to ``fd``."""
    return [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
        if stdin is None
        else (os.POSIX_SPAWN_DUP2, stdin, 0),
        (os.POSIX_SPAWN_DUP2, fd, 1),
        (os.POSIX_SPAWN_DUP2, fd, 2),
    ]


def _spawn(argv: list[str], cwd: Path | None, actions: list[tuple[Any, ...]]) -> int:
    """``posix_spawn`` in ``cwd`` (Python 3.11's cannot change folder: this process does, and comes back)."""
    previous = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return os.posix_spawn(argv[0], argv, _environment(), file_actions=actions)
    finally:
        os.chdir(previous)


def _environment() -> dict[str, str]:
    """The JVM outlives the execution that starts it: it gets none of that execution's environment."""
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "JAVA_HOME") or k.startswith("LC_")}


def connect(job_folder: str) -> socket.socket:
    """A connection to the JVM of this process's holder, started if needed; it listens in the
    holder's folder, else in ``job_folder``."""
    found = installation()
    if isinstance(found, str):
        raise JvmError(found)
    holder = _held()
    folder = holder.folder or job_folder
    name = f".runyard-jvm-{holder.pid}.sock"
    directory = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # Through the folder's descriptor: a socket path is limited to 107 bytes, a data folder is not.
        address = f"/proc/self/fd/{directory}/{name}"
        with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
            client = _connected(address)
            if client is not None:
                return client
        # None yet, a dead one, or one ending (its last script was killed): a new one.
        _start(found, folder, name)
        client = _connected(address)
        if client is None:
            raise JvmError("the JVM closed the connection at once")
        return client
    finally:
        os.close(directory)


def _connected(address: str) -> socket.socket | None:
    """A connection the JVM took (it says hello), or ``None`` if it closed it: a JVM halting because
    its previous client went away mid-script still had the connection waiting in its backlog."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(address)
        hello = receive_frame(client)
    except OSError:
        client.close()
        raise
    if hello is None:
        client.close()
        return None
    return client


def _start(found: Installation, folder: str, name: str) -> None:
    built = prepare(found)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(folder, name))
    argv = [found.java, *_options(found, built, built / _ARCHIVE), name, str(IDLE_SECONDS)]
    read, write = os.pipe()
    try:
        pid = _spawn(argv, Path(folder), _output_to(write, _held().lifeline))
    finally:
        os.close(write)
    output = bytearray()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while b"ready\n" not in output:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read], [], [], remaining)[0]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
                raise JvmError(f"the JVM did not start within {START_TIMEOUT:g} s")
            chunk = os.read(read, 65536)
            if not chunk:
                os.waitpid(pid, 0)
                text = output.decode("utf-8", "replace").strip()
                raise JvmError(f"the JVM exited before it was ready: {text}")
            output += chunk
    finally:
        os.close(read)  # its later output (the JVM's own warnings) is not for anyone

"""The docker engine against a real daemon (see support/docker.py) and runyard's local images; the option
parsing on its own. Containers publish free ports on 127.0.0.1 and are removed whatever happens."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import docker
import psycopg
import pytest

from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.services.engines import RunState, ServiceStartError, engine_for
from runyard.services.engines.docker import DockerEngine, Limits, parse_options, start_container
from runyard.services.engines.supervisor import wait_until
from runyard.services.ports import free_port
from support.docker import docker_daemon
from support.service_lifecycle import port_is_free

# The timeout covers the tests, not the daemon fixture: that may build the images (minutes from nothing).
pytestmark = pytest.mark.timeout(120, func_only=True)

HTTP_IMAGE = "runyard/http:1"
POSTGRES_IMAGE = "runyard/postgresql:15"


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    with docker_daemon(["http", "postgresql"]) as host:
        yield host


@pytest.fixture
def engine(docker_host: str) -> DockerEngine:
    return DockerEngine()


@pytest.fixture
def names(engine: DockerEngine) -> Iterator[list[str]]:
    """Names for this test's containers, removed afterwards (``new_name`` below adds one)."""
    taken: list[str] = []
    yield taken
    for name in taken:
        engine.stop(name)


def new_name(names: list[str]) -> str:
    name = f"runyard-test-{uuid.uuid4().hex[:12]}"
    names.append(name)
    return name


def get(port: int, timeout: float = 10.0) -> str:
    """The page at ``http://127.0.0.1:port/``, retried until the server answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_engine_for_docker(engine: DockerEngine) -> None:
    assert engine_for("docker").name == "docker"


def test_http_container_serves_pauses_resumes_and_stops(engine: DockerEngine, names: list[str]) -> None:
    port = free_port()
    ref = start_container(new_name(names), HTTP_IMAGE, ports={8080: port})
    assert "runyard/http is serving" in get(port)
    assert engine.state(ref) == RunState.RUNNING
    engine.pause(ref)
    engine.pause(ref)  # already paused: nothing happens
    assert engine.state(ref) == RunState.PAUSED
    engine.resume(ref)
    assert engine.state(ref) == RunState.RUNNING
    assert "runyard/http is serving" in get(port)
    assert "serving /srv/www on port 8080" in engine.logs(ref)
    engine.stop(ref)
    assert engine.state(ref) == RunState.MISSING
    assert port_is_free(port)
    engine.stop(ref)  # gone already: nothing happens


def test_resume_starts_an_exited_container_again(engine: DockerEngine, names: list[str]) -> None:
    ref = start_container(new_name(names), HTTP_IMAGE, ports={}, command=["echo", "ran"])
    assert wait_until(lambda: engine.state(ref) == RunState.EXITED, 10)
    with pytest.raises(ConflictError, match="exited: it cannot be paused"):
        engine.pause(ref)
    engine.resume(ref)
    assert wait_until(lambda: engine.logs(ref).count("ran") == 2, 10)


def test_logs_since_leave_out_earlier_output(engine: DockerEngine, names: list[str]) -> None:
    script = "echo first; sleep 2; echo second; sleep 60"
    ref = start_container(new_name(names), HTTP_IMAGE, ports={}, command=["sh", "-c", script])
    assert wait_until(lambda: "first" in engine.logs(ref), 10)
    since = time.time()
    assert wait_until(lambda: "second" in engine.logs(ref), 10)
    assert engine.logs(ref, since=since).split() == ["second"]


def test_volumes_environment_and_options_reach_the_container(
    engine: DockerEngine, names: list[str], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("mounted page\n")
    tmp_path.chmod(0o755)  # the server runs as nobody (65534)
    port = free_port()
    ref = start_container(
        new_name(names),
        HTTP_IMAGE,
        ports={8080: port},
        environment={"GREETING": "hello", "TARGET": "replaced"},
        volumes={str(tmp_path): "/srv/www:ro"},
        options="-e TARGET=world --memory 64m -w /tmp --user 65534",
    )
    assert get(port) == "mounted page\n"
    with closing(docker.from_env()) as client:
        attributes = client.containers.get(ref).attrs
    assert {"GREETING=hello", "TARGET=world"} <= set(attributes["Config"]["Env"])
    assert attributes["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert attributes["Config"]["WorkingDir"] == "/tmp"
    assert attributes["Config"]["User"] == "65534"


def test_limits_labels_and_no_new_privileges_are_applied(engine: DockerEngine, names: list[str]) -> None:
    limits = Limits(memory="128m", pids=64, cpus=0.5)
    ref = start_container(
        new_name(names), HTTP_IMAGE, ports={}, labels={"runyard.instance": "7"}, limits=limits
    )
    with closing(docker.from_env()) as client:
        attributes = client.containers.get(ref).attrs
    host = attributes["HostConfig"]
    assert (host["Memory"], host["MemorySwap"], host["PidsLimit"]) == (128 << 20, 128 << 20, 64)
    assert host["NanoCpus"] == 500_000_000 and host["SecurityOpt"] == ["no-new-privileges"]
    assert not host["Privileged"] and attributes["Config"]["Labels"]["runyard.instance"] == "7"
    with pytest.raises(InvalidRequestError, match="--memory 1g is above the platform's limit 128m"):
        start_container(new_name(names), HTTP_IMAGE, ports={}, options="-m 1g", limits=limits)


def test_a_taken_name_is_refused(engine: DockerEngine, names: list[str]) -> None:
    name = new_name(names)
    start_container(name, HTTP_IMAGE, ports={})
    with pytest.raises(ConflictError, match=f"named '{name}' exists already"):
        start_container(name, HTTP_IMAGE, ports={})


def test_a_missing_image_is_named_and_never_pulled(engine: DockerEngine, names: list[str]) -> None:
    with pytest.raises(
        ServiceStartError, match=r"'runyard/absent:1' is not on the Docker daemon.*scripts/docker"
    ):
        start_container(new_name(names), "runyard/absent:1", ports={})
    with closing(docker.from_env()) as client:
        assert not client.images.list(name="runyard/absent")


def test_unknown_references(engine: DockerEngine) -> None:
    assert engine.state("runyard-test-nothing") == RunState.MISSING
    engine.stop("runyard-test-nothing")
    with pytest.raises(NotFoundError):
        engine.pause("runyard-test-nothing")
    with pytest.raises(NotFoundError):
        engine.logs("runyard-test-nothing")


def test_postgresql_image_initialises_from_the_environment(engine: DockerEngine, names: list[str]) -> None:
    port = free_port()
    environment = {"POSTGRES_USER": "yard", "POSTGRES_PASSWORD": "secret", "POSTGRES_DB": "jobs"}
    start_container(new_name(names), POSTGRES_IMAGE, ports={5432: port}, environment=environment)
    url = f"postgresql://yard:secret@127.0.0.1:{port}/jobs"

    def answers() -> bool:
        try:
            with psycopg.connect(url, connect_timeout=2) as connection:
                return connection.execute("select 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False

    assert wait_until(answers, 30)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://yard:wrong@127.0.0.1:{port}/jobs", connect_timeout=2).close()


def test_parse_options() -> None:
    parsed = parse_options(
        "-e A=1 --env=B='two words' -eC= -v /a:/b --volume /c:/d:ro -m 256m --entrypoint sh"
    )
    assert parsed.environment == {"A": "1", "B": "two words", "C": ""}
    assert parsed.volumes == ["/a:/b", "/c:/d:ro"]
    assert parsed.settings == {"mem_limit": "256m", "entrypoint": ["sh"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            "--cgroup-parent x",
            r"unsupported Docker option '--cgroup-parent'; supported: -e/--env KEY=VALUE, ",
        ),
        ("--privileged", "--privileged is not allowed: containers never run privileged"),
        ("--cap-add=SYS_ADMIN", "--cap-add is not allowed: containers get no capability beyond"),
        ("--device /dev/sda", "--device is not allowed: containers share nothing with the host"),
        ("--pid=host", "--pid is not allowed"),
        ("--security-opt seccomp=unconfined", "--security-opt is not allowed"),
        ("--network host", "Docker network 'host' is not allowed: a container joins bridge or none"),
        ("--network=container:other", "Docker network 'container:other' is not allowed"),
        ("--name other", "--name is not allowed: the service names its container"),
        ("-p 80:80", "-p is not allowed: the published ports come from the service's reserved ports"),
        ("-e HOME", "give KEY=VALUE"),
        ("-v /data", r"give SOURCE:TARGET\[:MODE\]"),
        ("--memory", "--memory needs a value: SIZE"),
        ("-e 'A=1", "cannot be split"),
    ],
)
def test_bad_options_are_refused_before_the_daemon_is_asked(options: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        start_container("unused", "runyard/absent:1", ports={}, options=options)

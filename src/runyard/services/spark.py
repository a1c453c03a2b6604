"""The Spark service of the advanced tutorial (seed 002): a standalone Spark master and its workers, each on
a node of its own, on the process engine.

Spark is PyPI's ``pyspark`` (Spark's jars and launch scripts) run by the node's Java, in a venv of its own:
at about 500 MB it has no place in runyard's. ``scripts/spark`` builds that venv once per machine in
``/opt/runyard/spark``; where it is missing the service builds one for its owner on first use
(:func:`spark_venv`), from the pinned ``spark-requirements.txt`` beside this module.

The start workflow calls :func:`start_master` on one node and :func:`start_worker` on as many others (a
replicated task); each leaves a JSON deployment in a job variable ``SPARK_DEPLOYMENT<i>`` for
:func:`runyard.services.psa.add_deployments_and_update_service`, and reserves its node with
:func:`reserve_node`. The finish workflow calls :func:`stop_node` on each of these nodes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from runyard.services import launch, psa
from runyard.services.commands import as_user, service_env
from runyard.services.engines import RunState, engine_for
from runyard.services.engines.platform import task_engine
from runyard.services.ports import wait_for_port

Variables = psa.Variables

REQUIREMENTS = Path(__file__).with_name("spark-requirements.txt")
#: Where ``scripts/spark`` builds the venv for every user of the machine.
DEFAULT_VENV = Path("/opt/runyard/spark")
#: The file of a built venv holding the hash of the requirements it was built from.
STAMP = ".runyard-spark"
#: Job variables holding the JSON sub-deployments: master, its ``spark://`` endpoint, then each worker.
DEPLOYMENT_PREFIX = "SPARK_DEPLOYMENT"
#: Heap of the master and worker daemons (the executors' memory is ``WORKER_MEMORY``).
DAEMON_MEMORY = "256m"
#: Small, short-lived JVMs: a serial collector and the quick compiler start faster on a few cores (a
#: driver and its executors used about 40% less CPU with them).
JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
#: The venv's ``conf/spark-defaults.conf``, read by every ``spark-submit`` run from it.
SPARK_DEFAULTS = f"""\
# Written by runyard.services.spark: small JVMs for the driver and the executors.
spark.driver.extraJavaOptions {JVM_OPTIONS}
spark.executor.extraJavaOptions {JVM_OPTIONS}
"""
READY_TIMEOUT = 120.0


# -- the venv ---------------------------------------------------------------------------------------


def spark_venv(variables: Variables) -> Path:
    """The venv holding Spark: ``SPARK_VENV`` when given, else the machine's (``scripts/spark``), else the
    owner's own in their services folder, built now when missing (a few minutes, once)."""
    named = str(variables.get("SPARK_VENV") or "").strip()
    if named:
        if not is_built(Path(named)):
            raise psa.ServiceFailure(
                f"SPARK_VENV {named}: no Spark venv there (scripts/spark --dir builds one)"
            )
        return Path(named)
    if is_built(DEFAULT_VENV):
        return DEFAULT_VENV
    own = Path(os.environ.get("RUNYARD_SERVICES_DIR") or Path.cwd() / "services") / "spark-venv"
    print(f"no Spark venv in {DEFAULT_VENV}: building the owner's own in {own}")
    return install(own)


def is_built(folder: Path) -> bool:
    """Whether ``folder`` holds a venv built from the current requirements, with the current defaults."""
    if not _installed(folder):
        return False
    defaults = spark_home(folder) / "conf" / "spark-defaults.conf"
    return defaults.is_file() and defaults.read_text(encoding="utf-8") == SPARK_DEFAULTS


def _installed(folder: Path) -> bool:
    stamp = folder / STAMP
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == _requirements_hash()


def install(folder: Path) -> Path:
    """Build Spark's venv in ``folder`` unless it is built from the same requirements (two starts at once
    build it once), and write its defaults; return it. uv installs when it lies beside this Python, else
    pip."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed(folder):
            _build(folder)
        conf = spark_home(folder) / "conf"
        conf.mkdir(exist_ok=True)
        (conf / "spark-defaults.conf").write_text(SPARK_DEFAULTS, encoding="utf-8")
        conf.chmod(0o755)
        (conf / "spark-defaults.conf").chmod(0o644)
    return folder


def _build(folder: Path) -> None:
    """A fresh venv in ``folder`` with the pinned pyspark, readable by every account."""
    shutil.rmtree(folder, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(folder)], "creating Spark's venv")
    python = str(folder / "bin" / "python")
    uv = Path(sys.executable).parent / "uv"
    if uv.is_file():
        command = [str(uv), "pip", "install", "--quiet", "--python", python]
    else:
        command = [python, "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    _run([*command, "--require-hashes", "-r", str(REQUIREMENTS)], "installing pyspark")
    _run(["chmod", "-R", "a+rX", str(folder)], "opening Spark's venv to the services' accounts")
    (folder / STAMP).write_text(_requirements_hash() + "\n", encoding="utf-8")


def spark_home(venv: Path) -> Path:
    """Spark's folder in the venv (pyspark's package: ``bin/``, ``jars/``)."""
    found = sorted(venv.glob("lib/python3*/site-packages/pyspark/bin/spark-class"))
    if not found:
        raise psa.ServiceFailure(f"no pyspark in {venv}")
    return found[0].parents[1]


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise psa.ServiceFailure(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


# -- starting -------------------------------------------------------------------------------------


def start_master(variables: Variables) -> None:
    """The master's task: Spark's standalone master on this node, its web UI the endpoint ``ENDPOINT_ID``.
    Sets ``SPARK_MASTER_URL`` (``spark://HOST:PORT``), ``SPARK_MASTER_GUI_URL``, ``SPARK_MASTER_NODE``,
    ``SPARK_AUTHENTICATE_SECRET`` (what the workers and every application must give the master), and the
    sub-deployments ``SPARK_DEPLOYMENT0`` (the master) and ``SPARK_DEPLOYMENT1`` (its URL)."""
    host = node_address(variables)
    port, gui = _reserve_port(variables), _reserve_port(variables)
    variables["SPARK_AUTHENTICATE_SECRET"] = secrets.token_urlsafe(32)
    argv = ["org.apache.spark.deploy.master.Master", "--host", host, "--port", str(port)]
    _start(variables, "master", [*argv, "--webui-port", str(gui)], host, port)
    master_url, gui_url = f"spark://{host}:{port}", f"http://{host}:{gui}"
    variables["SPARK_MASTER_URL"], variables["SPARK_MASTER_GUI_URL"] = master_url, gui_url
    variables["SPARK_MASTER_NODE"] = str(variables.get("PA_NODE_NAME") or "")
    endpoint_id = _needed(variables, "ENDPOINT_ID")
    _deployment(variables, 0, _endpoint(f"{endpoint_id}-gui", gui_url), gui)
    _deployment(variables, 1, _endpoint(endpoint_id, master_url), port)


def start_worker(variables: Variables) -> None:
    """A worker's task (replica ``PA_TASK_REPLICATION``): a Spark worker of ``SPARK_MASTER_URL`` (with
    ``SPARK_AUTHENTICATE_SECRET``) on this node, with ``WORKER_CORES`` cores and ``WORKER_MEMORY`` for
    executors; its web UI is an endpoint. Sets the sub-deployment ``SPARK_DEPLOYMENT<i+2>``."""
    index = int(variables.get("PA_TASK_REPLICATION") or 0)
    master = _needed(variables, "SPARK_MASTER_URL")
    host = node_address(variables)
    port, gui = _reserve_port(variables), _reserve_port(variables)
    cores, memory = str(variables.get("WORKER_CORES") or "1"), str(variables.get("WORKER_MEMORY") or "1g")
    work = launch.service_dir(variables) / f"worker{index}" / "work"
    work.mkdir(parents=True, exist_ok=True)
    argv = ["org.apache.spark.deploy.worker.Worker", master, "--host", host, "--port", str(port)]
    argv += ["--webui-port", str(gui), "--cores", cores, "--memory", memory, "--work-dir", str(work)]
    _start(variables, f"worker{index}", argv, host, port)
    name = psa.instance_name(variables)
    endpoint = _endpoint(f"{name}-worker{index}-gui", f"http://{host}:{gui}")
    _deployment(variables, index + 2, endpoint, gui)


def clean_start(variables: Variables) -> None:
    """A deployment task's cleaning script. When the task failed: the instance goes to ERROR with the
    task's error (:func:`runyard.services.psa.clean_start_service`), and its nodes are given back, since
    the finish must then reach nodes reserved and not alike (the token reserving some would keep it off
    the others). A task that worked leaves the instance as it is: it is RUNNING only once every worker is."""
    if variables.get("PA_TASK_SUCCESS") == "true":
        return
    with psa.helper_client() as api:  # first: a finish asked once ERROR shows must find them released
        identifier = psa.instance_id(variables)
        for held in api.get_service_instance(identifier)["node_tokens"]:
            api.remove_service_node_token(identifier, held["token"], held["node"])
    psa.clean_start_service(variables)


def node_address(variables: Variables) -> str:
    """The address Spark binds on this node: the node's host when it is an IPv4 address (a host of its
    own), else loopback (the embedded nodes share this host)."""
    host = str(variables.get("PA_NODE_HOST") or "")
    parts = host.split(".")
    is_ipv4 = len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)
    return host if is_ipv4 else "127.0.0.1"


def reserve_node(variables: Variables) -> None:
    """A deployment task's post script: reserve this node for the instance with ``PSA_<INSTANCE_NAME>``,
    so that only the instance's tasks run there from now on."""
    with psa.helper_client() as api:
        name = psa.token_name(psa.instance_name(variables))
        api.add_service_node_token(psa.instance_id(variables), str(variables["PA_NODE_NAME"]), name)


def deployed_nodes(variables: Variables) -> list[str]:
    """The nodes of the Spark processes the platform recorded for the instance, master first; also set
    as ``SPARK_NODES`` (comma-separated)."""
    with psa.helper_client() as api:
        deployments = api.get_service_instance(psa.instance_id(variables))["deployments"]
    nodes = [str((d.get("node") or {}).get("name") or "") for d in deployments if d.get("ref")]
    unique = list(dict.fromkeys(node for node in nodes if node))
    variables["SPARK_NODES"] = ",".join(unique)
    return unique


def wait_for_workers(variables: Variables, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the master counts ``NUMBER_OF_WORKERS`` alive workers (its UI's ``/json/``), so that a
    RUNNING instance takes jobs at once."""
    wanted = int(str(variables.get("NUMBER_OF_WORKERS") or "0"))
    url = _needed(variables, "SPARK_MASTER_GUI_URL") + "/json/"
    deadline = time.monotonic() + timeout
    alive = 0
    while (alive := _alive_workers(url)) < wanted:
        if time.monotonic() > deadline:
            raise psa.ServiceFailure(
                f"the Spark master has {alive} alive workers of {wanted} after {timeout:g} s"
            )
        time.sleep(0.5)


def _alive_workers(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def _needed(variables: Variables, name: str) -> str:
    value = str(variables.get(name) or "")
    if not value:
        raise psa.ServiceFailure(f"the variable {name} is needed")
    return value


def _reserve_port(variables: Variables) -> int:
    with psa.helper_client() as api:
        return api.reserve_service_port(psa.instance_id(variables), -1)


def _start(variables: Variables, role: str, arguments: list[str], host: str, port: int) -> None:
    """Start ``spark-class ARGUMENTS`` as the process ``role`` of the instance (its folder
    ``<instance folder>/<role>``) and record it with the instance at once, so that a kill or a finish
    stops it even if the start fails later; wait until ``host:port`` accepts connections."""
    from runyard.services.engines.process import start_process

    home = spark_home(spark_venv(variables))
    folder = launch.service_dir(variables) / role
    for sub in ("conf", "logs", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _write_settings(folder / "conf" / "spark-defaults.conf", _needed(variables, "SPARK_AUTHENTICATE_SECRET"))
    user = str(variables.get("PA_USER") or "spark")
    env = service_env(
        {
            "HOME": str(folder),
            "USER": user,
            "SPARK_USER": user,
            "SPARK_HOME": str(home),
            "SPARK_CONF_DIR": str(folder / "conf"),
            "SPARK_LOG_DIR": str(folder / "logs"),
            "SPARK_LOCAL_DIRS": str(folder / "tmp"),
            "SPARK_LOCAL_IP": host,
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_DAEMON_JAVA_OPTS": f"{JVM_OPTIONS} -Djava.io.tmpdir={folder / 'tmp'}",
        }
    )
    # Hadoop's login, which Spark's daemons run, fails for an account without a name (a task's): lend one.
    argv = as_user("root", [str(home / "bin" / "spark-class"), *arguments], folder / "account")
    ref = start_process(f"{psa.instance_name(variables)}-{role}", argv, folder / "run", env=env)
    with psa.helper_client() as api:
        process = {"node": _node(variables), "engine": "process", "ref": ref}
        api.update_service_instance(psa.instance_id(variables), deployments=[process])
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            wait_for_port(host, port, 1.0)
            return
        except TimeoutError:
            state = engine_for("process").state(ref)
            if state not in (RunState.RUNNING, RunState.PAUSED) or time.monotonic() > deadline:
                log = engine_for("process").logs(ref)[-2000:]
                raise psa.ServiceFailure(
                    f"Spark {role} ({state}) does not listen on {host}:{port}: {log}"
                ) from None


def _write_settings(path: Path, secret: str) -> None:
    """The daemon's ``spark-defaults.conf`` (mode 0600: it holds the secret). Any process of the host
    reaches the ports, so every connection must know the secret, the web UIs kill nothing and decommission
    no worker, and there is no REST submission server (it would listen on port 6066 whatever the instance
    reserved)."""
    settings = {
        "spark.authenticate": "true",
        "spark.authenticate.secret": secret,
        "spark.ui.killEnabled": "false",
        "spark.master.ui.decommission.allow.mode": "DENY",
        "spark.master.rest.enabled": "false",
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("".join(f"{key} {value}\n" for key, value in settings.items()))


def _endpoint(identifier: str, url: str) -> dict[str, Any]:
    return {"id": identifier, "url": url}


def _deployment(variables: Variables, index: int, endpoint: dict[str, Any], port: int) -> None:
    """The sub-deployment ``index`` as JSON in the job variable ``SPARK_DEPLOYMENT<index>`` (the seed's
    JSON file per sub-deployment): this node and the endpoint (the process is recorded at its start)."""
    deployment = {"node": _node(variables), "endpoint": endpoint, "port": port}
    variables[f"{DEPLOYMENT_PREFIX}{index}"] = json.dumps(deployment)


def _node(variables: Variables) -> dict[str, Any]:
    return {
        "name": variables.get("PA_NODE_NAME"),
        "host": variables.get("PA_NODE_HOST"),
        "url": variables.get("PA_NODE_URL"),
        "node_source_name": variables.get("PA_NODE_SOURCE"),
    }


# -- finishing ------------------------------------------------------------------------------------


def stop_node(variables: Variables) -> None:
    """A replica of the finish's cleaning task, on one node of the instance: stop the Spark processes
    recorded on this node. Sets ``SPARK_CLEAN<i>`` to ``ok``, or ``ko`` when one does not stop."""
    index = int(variables.get("PA_TASK_REPLICATION") or 0)
    node = variables.get("PA_NODE_NAME")
    outcome = "ok"
    with psa.helper_client() as api:
        identifier = psa.instance_id(variables)
        instance = api.get_service_instance(identifier)
        for deployment in instance["deployments"]:
            if (deployment.get("node") or {}).get("name") != node or not deployment.get("ref"):
                continue
            engine = task_engine(str(deployment["engine"]), api, identifier)
            try:
                engine.stop(str(deployment["ref"]))
                print(f"stopped {deployment['ref']} on {node}")
            except Exception as error:  # any failure is reported as ko, the finish then sets ERROR
                print(f"could not stop {deployment['ref']} on {node}: {error}")
                outcome = "ko"
    variables[f"SPARK_CLEAN{index}"] = outcome


def clean_status(variables: Variables, path: str = "clean_status") -> str:
    """Gather every replica's ``SPARK_CLEAN<i>`` into ``path`` (``ok|ok|ko``) for
    :func:`runyard.services.psa.set_service_finished_if_all_clean_ok`; a node no replica cleaned is ``ko``."""
    count = len([node for node in str(variables.get("SPARK_NODES") or "").split(",") if node])
    results = [str(variables.get(f"SPARK_CLEAN{i}") or "ko") for i in range(count)]
    Path(path).write_text("|".join(results), encoding="utf-8")
    return path


def main() -> None:
    """``python -m runyard.services.spark [DIR]``: build the venv in DIR (default /opt/runyard/spark)."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_VENV
    print(install(folder) / "bin" / "python")


if __name__ == "__main__":
    main()

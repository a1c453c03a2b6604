"""Tasks on nodes hosted by Dask workers on two hosts, through the platform: each runs where it was
sent and sees that host's address, data-space files travel both ways, a lost worker's task runs again
on the other host."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dask_nodes.conftest import Cluster
from engine.helpers import python_task, tasks_by_name
from runyard.model import FileSelector, JobStatus, Script, SelectionScript, Workflow
from runyard.platform import Platform
from runyard.reports import JobReport
from runyard.settings import NodeSourceConfig, Settings


def on_host(address: str) -> list[SelectionScript]:
    return [SelectionScript(Script("cpython", code=f"selected = nodehost == {address!r}"))]


@pytest.fixture(scope="module")
def platform(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data = tmp_path_factory.mktemp("data")
    source = NodeSourceConfig("dask", "dask", {"scheduler": cluster.address})
    with Platform(Settings(data_dir=data, node_sources=(source,))) as started:
        deadline = time.monotonic() + 60
        while len([n for n in started.node_views() if n.state != "down"]) < 2:
            assert time.monotonic() < deadline, f"nodes not up: {started.node_views()}"
            time.sleep(0.1)
        yield started


def run(platform: Platform, workflow: Workflow, timeout: float = 60) -> JobReport:
    job_id = platform.submit(workflow)
    assert platform.wait(job_id, timeout) is JobStatus.FINISHED, platform.report(job_id)
    return platform.report(job_id)


def test_tasks_run_on_both_hosts_and_see_each_other(platform: Platform, cluster: Cluster) -> None:
    remote, main = cluster.host.address, cluster.host.host_address
    where = "import socket\nresult = [variables['PA_NODE_HOST'], sorted(n for _, n in socket.if_nameindex())]"
    first = python_task(
        "first", where + "\nvariables['FIRST_HOST'] = variables['PA_NODE_HOST']", selection=on_host(remote)
    )
    second = python_task(
        "second",
        where + "\nresult.append(variables['FIRST_HOST'])\nprint('on', result[0])",
        "first",
        selection=on_host(main),
    )
    tasks = tasks_by_name(run(platform, Workflow(name="two-hosts", tasks=[first, second])))
    host, interfaces = tasks["first"]["result"]
    assert host == remote and tasks["first"]["node"] == "dask-remote-1"
    assert interfaces == ["lo", f"{cluster.host.name}b"]  # the namespace's own network only
    host, interfaces, seen = tasks["second"]["result"]
    assert (host, seen) == (main, remote) and f"{cluster.host.name}a" in interfaces
    assert tasks["second"]["output"].strip() == f"on {main}"


def test_data_space_files_travel_both_ways_and_stay_in_their_space(
    platform: Platform, cluster: Cluster
) -> None:
    userspace = platform.scheduler.spaces.userspace("local")
    (userspace / "in").mkdir(parents=True, exist_ok=True)
    (userspace / "in" / "data.txt").write_text("hello")
    remote = python_task(
        "remote",
        "import os\n"
        "os.makedirs('out')\n"
        "open('out/result.txt', 'w').write(open('in/data.txt').read().upper())\n"
        "open(os.path.join(userspace, 'direct.txt'), 'w').write('direct')\n"
        "os.symlink('/etc', os.path.join(userspace, 'etc-link'))\n"
        "open(os.path.join(userspace, '..', 'escape.txt'), 'w').write('out')\n",
        selection=on_host(cluster.host.address),
        input_files=[FileSelector(["in/*.txt"], access_mode="transferFromUserSpace")],
        output_files=[FileSelector(["out/**"], access_mode="transferToUserSpace")],
    )
    main = python_task(
        "main",
        "result = open('out/result.txt').read()",
        "remote",
        selection=on_host(cluster.host.host_address),
        input_files=[FileSelector(["out/*.txt"], access_mode="transferFromUserSpace")],
    )
    tasks = tasks_by_name(run(platform, Workflow(name="spaces", tasks=[remote, main])))
    assert tasks["main"]["result"] == "HELLO"
    assert (userspace / "out" / "result.txt").read_text() == "HELLO"
    assert (userspace / "direct.txt").read_text() == "direct"
    assert not (userspace / "etc-link").exists() and not (userspace.parent / "escape.txt").exists()


def test_a_task_on_a_killed_worker_runs_again_on_the_other_host(
    platform: Platform, cluster: Cluster, tmp_path: Path
) -> None:
    marker = tmp_path / "first-run"  # the hosts share the file system, not the network
    code = (
        f"import os, time\nif not os.path.exists({str(marker)!r}):\n"
        f"    open({str(marker)!r}, 'w').close()\n    time.sleep(60)\n"
        "result = variables['PA_NODE_HOST']"
    )
    job_id = platform.submit(Workflow(name="lost", tasks=[python_task("T", code, max_number_of_execution=2)]))
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, platform.report(job_id)
        time.sleep(0.05)
    first = tasks_by_name(platform.report(job_id))["T"]["node"]
    killed = "main" if first == "dask-main-1" else "remote"
    cluster.kill(killed)
    try:
        assert platform.wait(job_id, 60) is JobStatus.FINISHED, platform.report(job_id)
        task = tasks_by_name(platform.report(job_id))["T"]
        assert task["executions"] == 2 and task["node"] != first
        assert task["result"] == cluster.host_of("remote" if killed == "main" else "main")
    finally:
        cluster.start_worker(killed)
    deadline = time.monotonic() + 60
    while first not in [n.name for n in platform.node_views() if n.state != "down"]:
        assert time.monotonic() < deadline, f"{first} not back: {platform.node_views()}"
        time.sleep(0.1)

"""``NATIVE_SCHEDULER_PARAMS`` a task may not give: the task fails to start with the reason, on any platform
(the parameters are checked before any node is asked for), and the job goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.model import JobStatus, Script, ScriptExecutable, Task, Workflow
from runyard.platform import Platform
from runyard.settings import Settings

HOSTILE = {
    "--uid=0": "option '--uid=0' is not allowed",
    "--chdir=/etc": "option '--chdir=/etc' is not allowed",
    "-o /root/out": "option '-o' is not allowed",
    "--export=ALL,LD_PRELOAD=/tmp/x.so": "option '--export=ALL,LD_PRELOAD=/tmp/x.so' is not allowed",
    "--job-name=$(id)": "value '$(id)' of --job-name is refused",
    "--time=5;touch /tmp/pwned": "value '5;touch' of --time is refused",
    "--job-name=a\n#SBATCH --uid=0": "control character",
    "--account=other-team": "option '--account=other-team' is not allowed",
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(Settings(data_dir=tmp_path_factory.mktemp("data"), nodes=1)) as started:
        yield started


def native_task(name: str, params: str) -> Task:
    return Task(
        name=name,
        executable=ScriptExecutable(Script("bash", code="echo ran")),
        generic_information={"NATIVE_SCHEDULER": "SLURM", "NATIVE_SCHEDULER_PARAMS": params},
    )


def test_hostile_params_are_refused_with_the_reason(platform: Platform) -> None:
    tasks = [native_task(f"T{number}", params) for number, params in enumerate(HOSTILE)]
    job = platform.submit(Workflow(name="hostile-native", tasks=tasks, on_task_error="continueJobExecution"))
    assert platform.wait(job, timeout=30) is JobStatus.FINISHED
    report = platform.report(job)
    for number, reason in enumerate(HOSTILE.values()):
        (task,) = [task for task in report["tasks"] if task["name"] == f"T{number}"]
        assert task["status"] == "FAULTY", task
        assert "cannot start: NATIVE_SCHEDULER_PARAMS" in str(task["error"]) and reason in str(task["error"])


def test_native_and_node_access_token_together_are_refused(platform: Platform) -> None:
    task = native_task("T", "--time=1")
    task.generic_information["NODE_ACCESS_TOKEN"] = "gpu"
    job = platform.submit(Workflow(name="both", tasks=[task]))
    platform.wait(job, timeout=30)
    (reported,) = platform.report(job)["tasks"]
    assert "NODE_ACCESS_TOKEN and NATIVE_SCHEDULER together" in str(reported["error"])


def test_a_native_scheduler_no_source_offers_fails_to_start(platform: Platform) -> None:
    job = platform.submit(Workflow(name="no-native", tasks=[native_task("T", "--time=1")]))
    assert not platform.wait(job, timeout=30).is_alive  # failed, not waiting for a node that never comes
    (reported,) = platform.report(job)["tasks"]
    assert reported["status"] == "FAULTY"
    assert "NATIVE_SCHEDULER 'slurm': no node source takes its tasks (native schedulers here: none)" in str(
        reported["error"]
    )

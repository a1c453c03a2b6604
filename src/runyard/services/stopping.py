"""Stopping an instance's processes on the node that runs them: what a kill does for the process engine.

A kill (:meth:`runyard.services.automation.ServiceAutomation.kill`) records KILLED, then runs on each
node holding process deployments of the instance a one-task job of the instance's owner, pinned there by
a node token of the platform's (``RUNYARD_STOP_<id>``, added for the job and removed after). Its task
(:func:`stop_recorded`) stops what the platform recorded when it checked the deployment: the supervisor
and the group, by pid *and* start time, never what the run folder says now (the owner's tasks may
rewrite it). The server process signals nothing itself: a node may be on another host, and the task
runs as the account the service runs as. A finish action stops its service the same way, from its own
task on the service's node (:func:`runyard.services.launch.finish_action`).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping, MutableMapping
from contextlib import suppress
from typing import Any

from runyard.model import Script, ScriptExecutable, Task, Variable, Workflow
from runyard.services.engines import ServiceError
from runyard.services.engines.supervisor import KILL_WAIT, end_group, is_alive, wait_for_exit

RECORDED = "RECORDED_PROCESSES"
"""The stop job's variable: the recorded process deployments, ``[{"ref", "process"}]`` as JSON."""
_STOP = "from runyard.services import stopping\nstopping.stop_recorded(variables)\n"


def stop_token(instance_id: int) -> str:
    """The platform's node token pinning the stop job of instance ``instance_id`` to its node."""
    return f"RUNYARD_STOP_{instance_id}"


def stop_workflow(instance_id: int, deployments: list[Mapping[str, Any]], token: str | None) -> Workflow:
    """The job stopping ``deployments`` (recorded process deployments of one node); ``token``: the node
    token it needs there (``None``: any node holding none)."""
    recorded = [{"ref": str(d["ref"]), "process": dict(d["process"])} for d in deployments]
    task = Task(
        "Stop_Processes",
        ScriptExecutable(Script("cpython", _STOP)),
        generic_information={"NODE_ACCESS_TOKEN": token} if token else {},
    )
    return Workflow(
        f"Kill_Service_Instance_{instance_id}",
        tasks=[task],
        variables=[Variable(RECORDED, json.dumps(recorded))],
        description=f"Stops the processes of killed service instance {instance_id} on their node.",
        max_number_of_execution=1,
    )


def stop_recorded(variables: MutableMapping[str, Any]) -> None:
    """The stop job's task: stop every recorded deployment given; ``ServiceError`` naming those that
    survive."""
    failures = []
    for deployment in json.loads(str(variables[RECORDED])):
        try:
            stop_process(deployment["process"], str(deployment["ref"]))
        except ServiceError as error:
            failures.append(str(error))
    if failures:
        raise ServiceError("; ".join(failures))


def stop_process(process: Mapping[str, Any], ref: str) -> None:
    """Stop the recorded supervisor (it stops the service with the service's stop signal), then end
    what is left of the recorded group."""
    supervisor, ticks = int(process["supervisor_pid"]), int(process["supervisor_ticks"])
    grace = float(process["stop_timeout"])
    if is_alive(supervisor, ticks):
        with suppress(ProcessLookupError):
            os.kill(supervisor, signal.SIGTERM)
        wait_for_exit(supervisor, ticks, grace + KILL_WAIT + 1)
    if not end_group(int(process["pgid"]), int(process["sid"]), grace):
        raise ServiceError(f"{ref}: processes of the service survive SIGKILL")

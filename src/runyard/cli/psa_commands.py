"""``runyard psa NAME [ARGS]``: the service helper API (:mod:`runyard.services.psa`) for bash tasks.

Variables come from the task's environment (``variables_K``); those the helper sets or changes are
appended to ``$localspace/.variables``, which the task applies when the command returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from runyard.cli.remote import fail
from runyard.client import ClientError
from runyard.errors import RunyardError
from runyard.services import launch, psa

HELPERS: dict[str, Callable[..., Any]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        psa.pre_start_service,
        psa.post_start_service,
        psa.clean_start_service,
        psa.check_instance_status,
        psa.fetch_logs,
        psa.pre_trigger_action,
        psa.post_trigger_action,
        psa.clean_trigger_action,
        psa.retrieve_variables_from_service_instance_id,
        psa.propagate_variables_to_current_service,
        psa.add_deployments_and_update_service,
        psa.set_service_finished_if_all_clean_ok,
        psa.update_service_and_remove_tokens,
        launch.service_port,
        launch.finish_action,
        launch.pause_action,
        launch.resume_action,
    )
}
PREFIX = "variables_"


def psa_command(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(HELPERS)} (underscores work too).")],
    args: Annotated[list[str] | None, typer.Argument(help="The helper's arguments.")] = None,
) -> None:
    """Run a service helper from a bash task of a service workflow (see docs/services.md)."""
    helper = HELPERS.get(name.replace("_", "-"))
    if helper is None:
        fail(f"unknown helper {name!r} (helpers: {', '.join(HELPERS)})")
    variables = {k[len(PREFIX) :]: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    before = dict(variables)
    try:
        answer = helper(variables, *(args or []))
    except (RunyardError, ClientError, psa.ServiceFailure, ValueError, OSError) as error:
        fail(f"{name}: {error}", 1)
    changed = {k: v for k, v in variables.items() if before.get(k) != v}
    if changed:
        folder = Path(os.environ.get("localspace") or ".")  # noqa: SIM112 - the binding's name
        with (folder / ".variables").open("a", encoding="utf-8") as file:
            file.writelines(f"{k}={v}\n" for k, v in changed.items())
    if answer is not None:
        print(str(answer).lower() if isinstance(answer, bool) else answer)


def register(app: typer.Typer) -> None:
    app.command("psa")(psa_command)

"""Letting a service's own process notify its owner (a model server reporting a drift).

A service outlives its start task and holds no job token. Its start task asks the platform for a
notification token of the instance and hands the process two environment variables::

    from runyard.services import launch, notifications
    env = {k: v for k, v in os.environ.items() if k != "RUNYARD_TOKEN"}  # never the job token
    env |= notifications.notification_environment(variables)
    launch.start_process(variables, argv, env=env)

The process then posts ``{"kind", "title", "message", "details"}`` to ``$RUNYARD_NOTIFY_URL`` with
``Authorization: Bearer $RUNYARD_NOTIFY_TOKEN``; the token does nothing else, and dies with the instance.
"""

from __future__ import annotations

from runyard.services import psa

URL_VARIABLE = "RUNYARD_NOTIFY_URL"
TOKEN_VARIABLE = "RUNYARD_NOTIFY_TOKEN"


def notification_environment(variables: psa.Variables) -> dict[str, str]:
    """``RUNYARD_NOTIFY_URL`` (the server's ``/api/v1/notifications``) and ``RUNYARD_NOTIFY_TOKEN`` (the
    instance's notification token), for the service's environment; only in a task of the instance."""
    with psa.client() as api:
        token = api.create_notification_token(psa.instance_id(variables))
    return {URL_VARIABLE: f"{psa.server_url()}/api/v1/notifications", TOKEN_VARIABLE: token}

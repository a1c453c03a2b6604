"""ProActive's node states beside runyard's own (``NodeView.state``), for REST documents and the portal.

ProActive also has ``CONFIGURING``, ``DEPLOYING``, ``LOST`` and ``TO_BE_REMOVED``: runyard lists a node
only once its source announced it up, and forgets it when its source removes it, so none applies."""

from __future__ import annotations

NODE_STATES = {"free": "FREE", "busy": "BUSY", "down": "DOWN", "locked": "LOCKED"}


def node_state(state: str) -> str:
    """ProActive's name of a runyard node state (``free`` -> ``FREE``...)."""
    return NODE_STATES.get(state, state.upper())

"""ProActive's event WebSocket, ``/rest/scheduler/events``: where ProActive's Java client (and so the
``proactive`` Python package) subscribes when it connects.

The session is checked (header ``sessionid``) and the subscription read (``EventSubscription``:
``{"myEventsOnly": …, "events": [...]}``); the socket then stays open until the client closes it.
No ``EventNotification`` is sent yet: ProActive's notification data are Java-typed JSON documents
runyard does not produce, and the clients read job states by polling the REST routes, which serve
them. A client waiting only on events waits in vain (see docs/proactive-rest.md).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from runyard.api.errors import ApiError
from runyard.api.security import token_of, user_of

router = APIRouter(prefix="/rest/scheduler")

#: Bytes of the subscription message read at most.
MAX_SUBSCRIPTION = 64 * 1024


@router.websocket("/events")
async def events(websocket: WebSocket) -> None:
    engine = websocket.app.state.platform.engine
    try:
        await user_of(websocket, engine, token_of(websocket))
    except ApiError as error:
        await websocket.close(code=1008, reason=error.message[:120])  # policy violation: not connected
        return
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive_text()
            if len(message) > MAX_SUBSCRIPTION or not _subscription(message):
                await websocket.close(code=1003, reason="expected an EventSubscription JSON object")
                return
    except WebSocketDisconnect:
        return


def _subscription(message: str) -> bool:
    try:
        value = json.loads(message)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and isinstance(value.get("events", []), list)

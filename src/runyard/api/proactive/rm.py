"""ProActive's resource manager REST, ``/rest/rm``: its state, the ``PA:LIST`` models of hosts, node
sources and tokens (the lists a workflow variable's model offers), node tokens.

Over the native node views (:mod:`runyard.api.routers.nodes`): any user reads the state, only admins
give or take a node's tokens. The three models need no session, as in ProActive (its clients, the
``proactive`` Python package among them, call them without one): they tell anyone who reaches the
server its host names, node source names and node token names, nothing else. Their ``name`` filter is
a shell-style pattern (``*``, ``?``), not a Java regular expression (a caller's regular expression could
keep the server busy).
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import PlainTextResponse

from runyard.api.deps import PlatformDep
from runyard.api.proactive.common import PERMISSION_EXCEPTION, ProActiveError, ProActiveUser, proactive_router
from runyard.api.routers import nodes as native
from runyard.auth import User
from runyard.platform import Platform
from runyard.scheduler.loop import NodeView

router = proactive_router(prefix="/rest/rm")

#: The node source ProActive's models always offer (``RMConstants.DEFAULT_STATIC_SOURCE_NAME``).
DEFAULT_SOURCE = "Default"

Pattern = Annotated[str | None, Query(max_length=255, description="Shell-style pattern (*, ?)")]
Flag = Annotated[str | None, Query(max_length=8, description="true or false")]


def pa_list(values: Iterable[str], *, empty_first: bool) -> str:
    """ProActive's model string: ``PA:LIST(,a,b)`` (an empty choice first) or ``PA:LIST(a,b)``."""
    unique = list(dict.fromkeys(values))
    if not unique:
        return "PA:LIST()"
    return f"PA:LIST({',' if empty_first else ''}{','.join(unique)})"


def _kept(values: Iterable[str], name: str | None) -> list[str]:
    return [v for v in values if v and (name is None or fnmatchcase(v, name))]


def _true(flag: str | None) -> bool:
    return (flag or "").lower() == "true"


@router.get("/state")
def state(_user: ProActiveUser, platform: PlatformDep) -> dict[str, Any]:
    """``RMState``: how many nodes, alive (not down) and free."""
    views = platform.node_views()
    alive = [v for v in views if v.state != "down"]
    free = [v for v in views if v.state == "free"]
    return {
        "freeNodesNumber": len(free),
        "totalAliveNodesNumber": len(alive),
        "totalNodesNumber": len(views),
        "freeNodes": [v.url for v in free],
        "aliveNodes": [v.url for v in alive],
        "allNodes": [v.url for v in views],
        "maxNumberOfNodes": None,
    }


@router.get("/model/hosts", response_class=PlainTextResponse)
def model_hosts(platform: PlatformDep, name: Pattern = None, noEmpty: Flag = None) -> str:
    hosts = _kept((v.host for v in platform.node_views()), name)
    return pa_list(hosts, empty_first=not _true(noEmpty))


@router.get("/model/nodesources", response_class=PlainTextResponse)
def model_node_sources(
    platform: PlatformDep,
    name: Pattern = None,
    noDefault: Flag = None,
    noEmpty: Flag = None,
) -> str:
    sources = [DEFAULT_SOURCE, *(v.source for v in platform.node_views())]
    if _true(noDefault):
        sources = [s for s in sources if s != DEFAULT_SOURCE]
    return pa_list(_kept(sources, name), empty_first=not _true(noEmpty))


@router.get("/model/tokens", response_class=PlainTextResponse)
def model_tokens(
    platform: PlatformDep,
    name: Pattern = None,
    nodeSource: Annotated[str | None, Query(max_length=255)] = None,
    noEmpty: Flag = None,
) -> str:
    views = [v for v in platform.node_views() if not nodeSource or v.source == nodeSource]
    tokens = _kept((token for v in views for token in v.tokens), name)
    return pa_list(tokens, empty_first=name is None and not _true(noEmpty))


def _node(platform: Platform, node_url: str) -> NodeView:
    """The node a ``nodeurl`` header names (its URL, or its name)."""
    for view in platform.node_views():
        if node_url in (view.url, view.name):
            return view
    raise ProActiveError(404, f"no node {node_url[:255]!r}")


NodeUrl = Annotated[str, Header(alias="nodeurl", min_length=1, max_length=1024)]
Token = Annotated[str, Header(alias="token", min_length=1, max_length=255, pattern=r"^[^\s/]+$")]


def _admin(user: User) -> User:
    if not user.is_admin:
        raise ProActiveError(403, "only an admin may change a node's tokens", PERMISSION_EXCEPTION)
    return user


@router.post("/node/token", status_code=204)
def add_node_token(user: ProActiveUser, platform: PlatformDep, node_url: NodeUrl, token: Token) -> None:
    """Admins: the node takes only tasks holding ``token`` (``NODE_ACCESS_TOKEN``)."""
    native.add_token(_node(platform, node_url).name, token, _admin(user), platform)


@router.delete("/node/token", status_code=204)
def remove_node_token(user: ProActiveUser, platform: PlatformDep, node_url: NodeUrl, token: Token) -> None:
    native.remove_token(_node(platform, node_url).name, token, _admin(user), platform)

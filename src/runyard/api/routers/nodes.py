"""Nodes and node sources: anyone lists them; admins lock, unlock and give or take access tokens."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from runyard.api.deps import PlatformDep
from runyard.api.security import AdminUser, CurrentUser
from runyard.platform import NodeView

router = APIRouter(tags=["nodes"])

Token = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\s/]+$")]


class NodeOut(BaseModel):
    name: str
    source: str
    host: str
    url: str
    state: str
    """``free``, ``busy``, ``down`` or ``locked``."""
    locked: bool
    locked_by: str | None
    locked_at: float | None
    tokens: list[str]
    job_id: int | None
    task: str | None


class NodeSourceOut(BaseModel):
    name: str
    nodes: int
    states: dict[str, int]


@router.get("/nodes", response_model=list[NodeOut])
def list_nodes(_user: CurrentUser, platform: PlatformDep) -> list[NodeOut]:
    return [_out(view) for view in platform.node_views()]


@router.get("/node-sources", response_model=list[NodeSourceOut])
def list_node_sources(_user: CurrentUser, platform: PlatformDep) -> list[NodeSourceOut]:
    views = platform.node_views()
    sources = sorted({v.source for v in views})
    return [
        NodeSourceOut(
            name=source,
            nodes=sum(v.source == source for v in views),
            states=dict(Counter(v.state for v in views if v.source == source)),
        )
        for source in sources
    ]


@router.post("/nodes/{node}/lock", response_model=NodeOut)
def lock(node: str, admin: AdminUser, platform: PlatformDep) -> NodeOut:
    """The node finishes its current task and takes no other until unlocked."""
    platform.lock_node(node, admin.name)
    return _find(platform, node)


@router.post("/nodes/{node}/unlock", response_model=NodeOut)
def unlock(node: str, _admin: AdminUser, platform: PlatformDep) -> NodeOut:
    platform.unlock_node(node)
    return _find(platform, node)


@router.put("/nodes/{node}/tokens/{token}", response_model=NodeOut)
def add_token(node: str, token: Token, _admin: AdminUser, platform: PlatformDep) -> NodeOut:
    """From now on the node only takes tasks whose ``NODE_ACCESS_TOKEN`` it holds."""
    platform.add_node_token(node, token)
    return _find(platform, node)


@router.delete("/nodes/{node}/tokens/{token}", status_code=204)
def remove_token(node: str, token: Token, _admin: AdminUser, platform: PlatformDep) -> Response:
    platform.remove_node_token(node, token)
    return Response(status_code=204)


def _find(platform: PlatformDep, node: str) -> NodeOut:
    return next(_out(v) for v in platform.node_views() if v.name == node)


def _out(view: NodeView) -> NodeOut:
    return NodeOut(
        name=view.name,
        source=view.source,
        host=view.host,
        url=view.url,
        state=view.state,
        locked=view.locked,
        locked_by=view.locked_by,
        locked_at=view.locked_at,
        tokens=list(view.tokens),
        job_id=view.job_id,
        task=view.task,
    )

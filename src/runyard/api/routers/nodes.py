"""Nodes and node sources: anyone lists them (the job a node runs only its owner and admins see); admins
lock, unlock and give or take access tokens."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from runyard.api.deps import PlatformDep
from runyard.api.events import node_document
from runyard.api.security import AdminUser, CurrentUser
from runyard.auth import User

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
def list_nodes(user: CurrentUser, platform: PlatformDep) -> list[NodeOut]:
    """``job_id`` and ``task`` are ``null`` for a job of another user (unless you are an admin)."""
    return [NodeOut.model_validate(node_document(view, user)) for view in platform.node_views()]


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
    return _find(platform, node, admin)


@router.post("/nodes/{node}/unlock", response_model=NodeOut)
def unlock(node: str, admin: AdminUser, platform: PlatformDep) -> NodeOut:
    platform.unlock_node(node)
    return _find(platform, node, admin)


@router.put("/nodes/{node}/tokens/{token}", response_model=NodeOut)
def add_token(node: str, token: Token, admin: AdminUser, platform: PlatformDep) -> NodeOut:
    """From now on the node only takes tasks whose ``NODE_ACCESS_TOKEN`` it holds."""
    platform.add_node_token(node, token)
    return _find(platform, node, admin)


@router.delete("/nodes/{node}/tokens/{token}", status_code=204)
def remove_token(node: str, token: Token, _admin: AdminUser, platform: PlatformDep) -> Response:
    platform.remove_node_token(node, token)
    return Response(status_code=204)


def _find(platform: PlatformDep, node: str, admin: User) -> NodeOut:
    view = next(v for v in platform.node_views() if v.name == node)
    return NodeOut.model_validate(node_document(view, admin))

"""Nodes and node sources: anyone lists them (the job a node runs only its owner and admins see); admins
lock, unlock and give or take access tokens, and add or remove node sources of a built-in type."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from runyard.api.deps import PlatformDep
from runyard.api.events import node_document
from runyard.api.security import AdminUser, CurrentUser
from runyard.auth import User
from runyard.nodes.sources import SourceEntry
from runyard.platform import Platform

router = APIRouter(tags=["nodes"])

Token = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\s/]+$")]
Scalar = Annotated[str, Field(max_length=4096)] | int | float | bool | None
OptionValue = (
    Scalar
    | Annotated[list[Scalar], Field(max_length=64)]
    | Annotated[dict[str, Scalar], Field(max_length=64)]
)
SourceName = Annotated[str, Path(min_length=1, max_length=64)]


class NodeOut(BaseModel):
    name: str
    source: str
    host: str
    url: str
    state: str
    """``free``, ``busy``, ``down`` or ``locked``."""
    node_state: str
    """ProActive's name of ``state``: ``FREE``, ``BUSY``, ``DOWN`` or ``LOCKED``."""
    locked: bool
    locked_by: str | None
    locked_at: float | None
    tokens: list[str]
    job_id: int | None
    task: str | None


class NodeSourceOut(BaseModel):
    name: str
    type: str
    origin: str
    """``config`` (the server's config file: not removable at run time) or ``runtime`` (added by an admin)."""
    state: str
    """``DEPLOYING``, ``DEPLOYED``, ``UNDEPLOYED`` (did not start: ``error`` says why), ``SHUTTING_DOWN``."""
    error: str | None
    nodes: int
    states: dict[str, int]
    """How many of its nodes are in each ``state`` (``free``...)."""
    added_by: str | None
    added_at: float | None
    options: dict[str, Any] | None
    """The type's options (admins only)."""


class NodeSourceIn(BaseModel):
    """A node source of a built-in type (``local``, ``dask``, ``slurm``); ``module:callable`` types, which
    run code with the server's rights, only in the server's config file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=64, description="Letters, digits, ``_.-``; starts its nodes' names"
    )
    type: str = Field(min_length=1, max_length=32)
    options: dict[Annotated[str, Field(max_length=64)], OptionValue] = Field(
        default_factory=dict, max_length=64
    )


@router.get("/nodes", response_model=list[NodeOut])
def list_nodes(user: CurrentUser, platform: PlatformDep) -> list[NodeOut]:
    """``job_id`` and ``task`` are ``null`` for a job of another user (unless you are an admin)."""
    return [NodeOut.model_validate(node_document(view, user)) for view in platform.node_views()]


@router.get("/node-sources", response_model=list[NodeSourceOut])
def list_node_sources(user: CurrentUser, platform: PlatformDep) -> list[NodeSourceOut]:
    """The config file's node sources, then those added at run time."""
    return [_source_document(platform, entry, user) for entry in platform.node_sources()]


@router.post("/node-sources", response_model=NodeSourceOut, status_code=201)
def add_node_source(body: NodeSourceIn, admin: AdminUser, platform: PlatformDep) -> NodeSourceOut:
    """Start a node source now and keep it (started again after a restart). 400 if its options are wrong
    or it does not start (nothing kept), 409 if the name is taken."""
    entry = platform.add_node_source(body.name, body.type, body.options, admin.name)
    return _source_document(platform, entry, admin)


@router.delete("/node-sources/{name}", status_code=204)
def remove_node_source(name: SourceName, _admin: AdminUser, platform: PlatformDep) -> Response:
    """Its nodes leave, what they ran runs again elsewhere; 409 for a source of the config file."""
    platform.remove_node_source(name)
    return Response(status_code=204)


def _source_document(platform: Platform, entry: SourceEntry, user: User) -> NodeSourceOut:
    views = [v for v in platform.node_views() if v.source == entry.name]
    return NodeSourceOut(
        name=entry.name,
        type=entry.type,
        origin=entry.origin,
        state=entry.state,
        error=entry.error,
        nodes=len(views),
        states=dict(Counter(v.state for v in views)),
        added_by=entry.added_by,
        added_at=entry.added_at,
        options=entry.options if user.is_admin else None,
    )


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

"""Making users, catalog workflows and planners on an injected clock, for the planner tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from runyard.auth import User, add_user
from runyard.catalog import create_bucket, put_object
from runyard.credentials import Vault
from runyard.planner import Planner
from runyard.platform import Platform

#: A one-task workflow with a variable of a model: what plans submit.
WORKFLOW = b"""name: Planned
variables:
  COUNT:
    value: "1"
    model: PA:Integer
tasks:
  Count:
    script:
      bash: echo "$variables_COUNT"
"""
_names = itertools.count(1)


@dataclass
class Clock:
    """The planner's clock, moved by the test."""

    now: float

    def __call__(self) -> float:
        return self.now


def planner(platform: Platform, vault: Vault, clock: Clock) -> Planner:
    """A planner as a server starts one (its thread not started: the test drives its turns)."""
    return Planner(platform, vault, clock=clock)


def new_user(platform: Platform, *, admin: bool = False) -> User:
    with platform.engine.begin() as connection:
        return add_user(connection, f"planner{next(_names)}", "correct horse battery", admin=admin)


def new_workflow(platform: Platform, owner: User, *, public: bool = False, content: bytes = WORKFLOW) -> str:
    """A bucket of ``owner`` holding the workflow ``Planned``; returns the bucket's name."""
    bucket = f"{owner.name}-plans-{next(_names)}"
    with platform.engine.begin() as connection:
        create_bucket(connection, owner, bucket, public=public)
        put_object(connection, owner, bucket, "Planned", content, kind="Workflow/standard")
    return bucket

"""Workflow and task variables (values are strings until a script changes them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Variable:
    """A declared variable.

    ``model`` is a ProActive model string (``PA:Integer[1,10]``, ``PA:List(a,b)``...) checked at
    submission. ``inherited`` (task variables only) means the value is a default that a job
    variable or a parent's propagated variable of the same name overrides.
    """

    name: str
    value: str = ""
    model: str | None = None
    description: str | None = None
    group: str | None = None
    advanced: bool = False
    hidden: bool = False
    inherited: bool = False

"""Where a task runs: ProActive's ``forkEnvironment`` and multi-node ``parallel`` settings.

Both are kept in the model so that workflows round-trip; executing a fork environment (its
environment script, container settings) belongs to a later capability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runyard.model.scripts import Script


@dataclass
class EnvironmentVariable:
    name: str
    value: str
    append: bool = False
    append_char: str | None = None


@dataclass
class ForkEnvironment:
    working_dir: str | None = None
    java_home: str | None = None
    system_environment: list[EnvironmentVariable] = field(default_factory=list)
    jvm_args: list[str] = field(default_factory=list)
    additional_classpath: list[str] = field(default_factory=list)
    env_script: Script | None = None


TOPOLOGIES = (
    "arbitrary",
    "bestProximity",
    "thresholdProximity",
    "singleHost",
    "singleHostExclusive",
    "multipleHostsExclusive",
    "differentHostsExclusive",
)
"""Topology names of ``<parallel>`` (multi-node tasks)."""


@dataclass
class Parallel:
    """``<parallel numberOfNodes=N>`` with an optional topology name and threshold; ``N`` may be a
    ``${VAR}`` reference, resolved at submission."""

    number_of_nodes: int | str
    topology: str | None = None
    threshold: int | None = None

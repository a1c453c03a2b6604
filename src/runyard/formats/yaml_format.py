"""runyard YAML: the mapping form (``runyard.formats.mapping``) written as YAML.

Loading is safe (PyYAML's safe loader: no Python objects) and keeps the composed node tree
so that every problem, and every entry of ``Workflow.locations``, gets its source line. The tree
is composed in Python over libyaml's events, counting depth and nodes as it goes: libyaml's own
composer recurses in C (30,000 levels crash the process) and aliases multiply what later passes
walk (see ``runyard.formats.limits``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, Event, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats import limits
from runyard.formats.mapping import dotted, read_mapping, to_mapping
from runyard.formats.mapping_reader import Path
from runyard.model import Workflow


def write_yaml(workflow: Workflow) -> str:
    """The workflow as runyard YAML, multi-line text (code) as literal blocks."""
    return yaml.dump(to_mapping(workflow), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)


def read_yaml(text: str, source: str = "<string>") -> tuple[Workflow, list[Problem]]:
    """Parse runyard YAML; raises ``WorkflowFormatError`` if it is not YAML at all, returns
    the workflow and every problem found in its content otherwise."""
    reason = limits.too_large(len(text.encode("utf-8")))
    if reason is not None:
        raise WorkflowFormatError([Problem(reason, source)])
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _LimitError as error:
        raise WorkflowFormatError([Problem(error.reason, source, error.line)]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(part for part in (error.context, error.problem) if part)
        raise WorkflowFormatError([Problem(f"malformed YAML: {reason}", source, line)]) from None
    except yaml.YAMLError as error:
        raise WorkflowFormatError([Problem(f"malformed YAML: {error}", source)]) from None
    finally:
        loader.dispose()
    if node is None:
        raise WorkflowFormatError([Problem("the document is empty", source, 1)])
    problems = _duplicate_keys(node, source)
    workflow, found, paths = read_mapping(data)
    problems += [Problem(f"{dotted(path)}: {message}", source, _line(node, path)) for path, message in found]
    workflow.locations = {key: _line(node, path) for key, path in paths.items()}
    workflow.source = source
    return workflow, problems


def _line(node: Node, path: Path) -> int:
    """Source line of the deepest node of ``path`` found (a mapping entry: its key's line)."""
    line = int(node.start_mark.line) + 1
    for part in path:
        if isinstance(node, MappingNode):
            entry = next(
                ((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part), None
            )
            if entry is None:
                break
            line, node = int(entry[0].start_mark.line) + 1, entry[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = int(node.start_mark.line) + 1
        else:
            break
    return line


def _duplicate_keys(node: Node, source: str) -> list[Problem]:
    """Keys written twice in one mapping (PyYAML would silently keep the last one)."""
    problems: list[Problem] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, ScalarNode):
                    if key.value in seen:
                        line = int(key.start_mark.line) + 1
                        problems.append(Problem(f"key {key.value!r} is written twice", source, line))
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, SequenceNode):
            stack += current.value
    return problems


class _LimitError(Exception):
    def __init__(self, reason: str, line: int) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


class _Loader(Composer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """PyYAML's safe loader, composing in Python over libyaml's events (which never recurse), and
    refusing documents deeper than ``MAX_DEPTH`` or larger than ``MAX_NODES`` once every alias is
    replaced by what it stands for."""

    def __init__(self, text: str) -> None:
        Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._events: Iterator[Event] = yaml.parse(text, Loader=_EventLoader)
        self._next: Event | None = None
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[str, int] = {}  # anchor → nodes its tree stands for

    # -- the event source Composer reads ------------------------------------------------------

    def peek_event(self) -> Event:
        if self._next is None:
            self._next = next(self._events)
        return self._next

    def check_event(self, *choices: type[Event]) -> bool:
        if self._next is None:
            self._next = next(self._events, None)
        return self._next is not None and (not choices or isinstance(self._next, choices))

    def get_event(self) -> Event:
        event = self.peek_event()
        self._next = None
        return event

    def dispose(self) -> None:
        self._events = iter(())  # the parser is released with its generator

    # -- bounds -------------------------------------------------------------------------------

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        line = int(event.start_mark.line) + 1 if event.start_mark is not None else 0
        if isinstance(event, AliasEvent):
            self._count(self._sizes.get(str(event.anchor), 1), line)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > limits.MAX_DEPTH:
            raise _LimitError(limits.too_deep(), line)
        before = self._nodes
        self._count(1, line)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if isinstance(event, NodeEvent) and event.anchor is not None:
            self._sizes[str(event.anchor)] = self._nodes - before
        return node

    def _count(self, nodes: int, line: int) -> None:
        self._nodes += nodes
        if self._nodes > limits.MAX_NODES:
            raise _LimitError(limits.too_many("nodes (aliases expanded)"), line)


# libyaml's parser when PyYAML has it (about 20 times faster).
_EventLoader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)

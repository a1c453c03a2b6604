"""runyard YAML: the mapping form (``runyard.formats.mapping``) written as YAML.

Loading is safe (PyYAML's safe loader: no Python objects) and keeps the composed node tree
so that every problem, and every entry of ``Workflow.locations``, gets its source line.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats.mapping import dotted, read_mapping, to_mapping
from runyard.formats.mapping_reader import Path
from runyard.model import Workflow


def write_yaml(workflow: Workflow) -> str:
    """The workflow as runyard YAML, multi-line text (code) as literal blocks."""
    return yaml.dump(to_mapping(workflow), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)


def read_yaml(text: str, source: str = "<string>") -> tuple[Workflow, list[Problem]]:
    """Parse runyard YAML; raises ``WorkflowFormatError`` if it is not YAML at all, returns
    the workflow and every problem found in its content otherwise."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
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


# libyaml's loader when PyYAML has it (about 20 times faster), with the same safe constructor.
_Loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)

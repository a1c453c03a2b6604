"""Reading the nodes and arrows of a Graphviz file, for ``#%import_dot``.

The DOT language's statements are read (``digraph NAME { ... }``, node and edge statements with chains
``a -> b -> c``, attribute lists, ``graph``/``node``/``edge`` defaults, ``key=value``, subgraphs as plain
groups); what a node or arrow is drawn with is skipped. Arrows labelled ``if``, ``else``,
``continuation`` or ``loop`` (control flow, as ``runyard convert`` and ``#%write_dot`` draw it) are not
dependencies and are left out.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from runyard.kernel.pragmas import PragmaError

MAX_DOT_BYTES = 1_000_000
_TOKEN = re.compile(
    r"""\s*(?:(?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<html><[^<>]*(?:<[^<>]*>[^<>]*)*>)"""
    r"""|(?P<arrow>->|--)|(?P<mark>[{}\[\];,=:])|(?P<id>[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*|-?(?:\.\d+|\d+(?:\.\d*)?)))""",
    re.DOTALL,
)
_CONTROL_LABELS = frozenset({"if", "else", "continuation", "loop"})


@dataclass
class Graph:
    nodes: list[str] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


def read_dot(text: str) -> Graph:
    """The nodes (in order of appearance) and dependency arrows of a DOT graph."""
    if len(text.encode()) > MAX_DOT_BYTES:
        raise PragmaError(f"the graph file is larger than {MAX_DOT_BYTES} bytes", "Parameter error")
    tokens = _tokens(text)
    graph = Graph()
    index = 0
    while index < len(tokens) and tokens[index] != ("mark", "{"):
        index += 1
    if index == len(tokens):
        raise PragmaError("not a Graphviz graph: no '{' after 'digraph NAME'", "Parameter error")
    statement: list[tuple[str, str]] = []
    for token in tokens[index + 1 :]:
        if token in (("mark", ";"), ("mark", "{"), ("mark", "}")):
            _statement(statement, graph)
            statement = []
        else:
            statement.append(token)
    _statement(statement, graph)
    return graph


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if not text[position:].strip():
                break
            line = text.count("\n", 0, position) + 1
            raise PragmaError(
                f"line {line}: cannot read {text[position : position + 20]!r}", "Parameter error"
            )
        position = match.end()
        kind = match.lastgroup or ""
        if kind == "comment":
            continue
        word = match[kind]
        if kind == "quoted":
            word = word[1:-1].replace('\\"', '"').replace("\\\n", "")
        tokens.append(("id" if kind in ("quoted", "html") else kind, word))
    return tokens


def _statement(statement: list[tuple[str, str]], graph: Graph) -> None:
    """One statement: a node, a chain of arrows, or something drawing-related (skipped)."""
    ids: list[str] = []
    attributes: dict[str, str] = {}
    index = 0
    while index < len(statement):
        kind, word = statement[index]
        if (kind, word) == ("mark", "["):
            index = _attributes(statement, index + 1, attributes)
            continue
        if kind == "id" and index + 1 < len(statement) and statement[index + 1] == ("mark", "=") and not ids:
            return  # a graph attribute: key = value
        if kind == "id":
            ids.append(word)
        if kind == "mark" and word == ":":
            index += 2  # a port (node:port): the node is what counts
            continue
        index += 1
    if not ids or statement[0][1] in ("graph", "node", "edge", "subgraph"):
        return
    for node in ids:
        if node not in graph.nodes:
            graph.nodes.append(node)
    if ("arrow", "->") not in statement and ("arrow", "--") not in statement:
        return
    if attributes.get("label", "").lower() in _CONTROL_LABELS:
        return
    graph.edges += [(source, target) for source, target in itertools.pairwise(ids)]


def _attributes(statement: list[tuple[str, str]], index: int, attributes: dict[str, str]) -> int:
    """Read ``key=value`` pairs up to ``]``; the index after it."""
    while index < len(statement) and statement[index] != ("mark", "]"):
        if index + 2 < len(statement) and statement[index + 1] == ("mark", "="):
            attributes[statement[index][1].lower()] = statement[index + 2][1]
            index += 3
        else:
            index += 1
    return index + 1

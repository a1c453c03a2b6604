"""``${NAME}`` and ``$NAME`` substitution with ProActive's VariableSubstitutor rules.

A reference is either braced, ``${NAME}``, or bare, ``$NAME`` where NAME is the longest run of name
characters (letters, digits, ``-``, ``.``, ``_``) after the ``$``. So ``$PA_JOB_ID-x`` refers to the
name ``PA_JOB_ID-x``, exactly as in ProActive: write ``${PA_JOB_ID}-x`` to stop a name early.

- A reference to a known name is replaced by its value, itself substituted (recursively).
- A braced name may hold references of its own: ``${foo.${SUFFIX}}``.
- An unknown reference, a reference that would loop back on itself (``A=$B``, ``B=$A``), an empty or
  unclosed ``${`` and a ``$`` not followed by a name character are left exactly as written.
- Every key is also reachable as ``KEY.upper().replace(".", "_")``; an exact key wins over such an alias.
- Values are rendered as text: booleans as ``true`` / ``false`` (as a Java map would show them),
  anything else with ``str()``; a ``None`` value counts as unknown.

So shell text is mostly left alone: ``$$``, ``$?``, ``$#``, ``$(cmd)`` and ``${#arr[@]}`` never match a
name, and ``$1`` or ``$HOME`` change only if a variable named ``1`` or ``HOME`` exists. The callers
apply substitution to variable values, generic information, script arguments and command lines,
never to script code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.errors import VariableValueError

#: A substituted text longer than this is refused: it can only come from references that multiply
#: each other (``A=$B$B``, ``B=$C$C``...), and would exhaust memory.
MAX_LENGTH = 1_000_000

_NAME_PUNCTUATION = frozenset("-._")


def is_name_char(char: str) -> bool:
    """Whether ``char`` may be part of a bare ``$NAME`` reference."""
    return char.isalnum() or char in _NAME_PUNCTUATION


def render(value: Any) -> str:
    """The text a variable value stands for in a substituted string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def substitute(text: str, variables: Mapping[str, Any]) -> str:
    """Replace the ``${NAME}`` and ``$NAME`` references of ``text`` by their values in ``variables``.

    Raises ``VariableValueError`` if the result would exceed ``MAX_LENGTH`` characters.
    """
    if "$" not in text:
        return text
    return _Substitution(variables).expand(text, frozenset())


def resolve(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Every string value of ``variables`` substituted against ``variables`` itself.

    Non-string values are kept as they are. A value referring to its own name keeps that reference
    (``PATH=$PATH:/x`` stays so), as does any reference cycle.
    """
    if not any(isinstance(value, str) and "$" in value for value in variables.values()):
        return dict(variables)  # the common case (every task start): nothing to look up
    substitution = _Substitution(variables)
    return {
        name: substitution.expand(value, frozenset({str(name)})) if isinstance(value, str) else value
        for name, value in variables.items()
    }


class _Substitution:
    """One lookup table and a cache of the names already expanded against it."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        table: dict[str, str] = {}
        for key, value in variables.items():
            if value is not None:
                table.setdefault(str(key).upper().replace(".", "_"), render(value))
        for key, value in variables.items():
            if value is not None:
                table[str(key)] = render(value)
        self._table = table
        # Expansions that met no cycle do not depend on the names being expanded: cache them.
        self._expanded: dict[str, str] = {}

    def expand(self, text: str, active: frozenset[str]) -> str:
        return self._expand(text, active)[0]

    def _expand(self, text: str, active: frozenset[str]) -> tuple[str, bool]:
        """``text`` substituted, and whether a cycle was met (then the result depends on ``active``)."""
        out: list[str] = []
        size = 0
        cyclic = False
        pos = 0
        while True:
            dollar = text.find("$", pos)
            if dollar < 0:
                out.append(text[pos:])
                break
            out.append(text[pos:dollar])
            size += dollar - pos
            name, end, name_cyclic = self._reference_at(text, dollar, active)
            cyclic |= name_cyclic
            replacement = text[dollar:end]
            if name is not None and name in self._table:
                if name in active:
                    cyclic = True
                else:
                    replacement, value_cyclic = self._value(name, active)
                    cyclic |= value_cyclic
            out.append(replacement)
            size += len(replacement)
            if size > MAX_LENGTH:
                raise VariableValueError(
                    f"substituting variables in {_preview(text)} gives more than {MAX_LENGTH} characters"
                )
            pos = end
        return "".join(out), cyclic

    def _reference_at(self, text: str, dollar: int, active: frozenset[str]) -> tuple[str | None, int, bool]:
        """The name referred to at ``text[dollar]`` (``None`` if none), the end of the reference, and
        whether expanding a nested reference in a braced name met a cycle."""
        start = dollar + 1
        if start < len(text) and text[start] == "{":
            close = _closing_brace(text, start + 1)
            if close is None or close == start + 1:
                return None, start + 1, False
            name, cyclic = self._expand(text[start + 1 : close], active)
            return name, close + 1, cyclic
        end = start
        while end < len(text) and is_name_char(text[end]):
            end += 1
        return (text[start:end] if end > start else None), end, False

    def _value(self, name: str, active: frozenset[str]) -> tuple[str, bool]:
        cached = self._expanded.get(name)
        if cached is not None:
            return cached, False
        value, cyclic = self._expand(self._table[name], active | {name})
        if not cyclic:
            self._expanded[name] = value
        return value, cyclic


def _closing_brace(text: str, pos: int) -> int | None:
    """Index of the ``}`` closing a ``${`` whose name starts at ``pos``, skipping nested ``${...}``."""
    depth = 0
    while pos < len(text):
        if text.startswith("${", pos):
            depth += 1
            pos += 2
            continue
        if text[pos] == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos += 1
    return None


def _preview(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")

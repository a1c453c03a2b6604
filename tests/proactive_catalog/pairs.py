"""Recorded request/response pairs: requests with the status and JSON shape ProActive answers them with.

A file of ``recorded/`` holds ``steps``, run in order against a live server. Each step has a ``request``
(``method``, ``path``, optional ``params``, ``form``, ``file`` ``{name, content}``, ``json``, and ``as``:
``user`` (default), ``other``, ``forged`` or ``anonymous``), the expected ``status``, and optionally
a ``shape`` to match (or the exact ``body`` text) and values to ``save`` from the answer
(``{"name": "dotted.path"}``).

In a shape, objects must have exactly the keys shown; ``"<int>"``, ``"<str>"``, ``"<bool>"``,
``"<millis>"`` (epoch milliseconds, as a number or a string of digits), ``"<datetime>"`` (ISO local
date-time), ``"<any>"`` and ``"<str|null>"`` stand for any such value; ``["<each>", S]`` for a non-empty
list whose every item matches ``S``. ``{name}`` in a string is replaced by a value of the context (the
user's name, the bucket, the server's URL, what earlier steps saved) before matching or sending.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

RECORDED = Path(__file__).parent / "recorded"
_VARIABLE = re.compile(r"\{(\w+)\}")


def load(name: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads((RECORDED / name).read_text(encoding="utf-8"))["steps"]
    return steps


def run(steps: list[dict[str, Any]], clients: Callable[[str], httpx.Client], context: dict[str, str]) -> None:
    """Send every step's request with the client ``clients(as)`` and check its answer."""
    for number, step in enumerate(steps, start=1):
        request = _fill(step["request"], context)
        answer = clients(request.get("as", "user")).request(
            request["method"],
            request["path"],
            params=request.get("params"),
            data=request.get("form"),
            files={"file": (request["file"]["name"], request["file"]["content"])}
            if "file" in request
            else None,
            json=request.get("json"),
        )
        where = f"step {number} ({request['method']} {request['path']})"
        assert answer.status_code == step["status"], f"{where}: {answer.status_code} {answer.text}"
        if "body" in step:
            assert answer.text == _fill(step["body"], context), f"{where}: {answer.text!r}"
        if "shape" in step:
            problems = list(mismatches(_fill(step["shape"], context), answer.json(), where))
            assert not problems, "\n".join(problems) + f"\nanswer: {answer.text}"
        for name, path in step.get("save", {}).items():
            context[name] = str(_at(answer.json(), path))


def mismatches(shape: Any, value: Any, where: str) -> Iterator[str]:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            yield f"{where}: expected an object, got {value!r}"
            return
        if set(shape) != set(value):
            yield f"{where}: keys {sorted(value)} instead of {sorted(shape)}"
        for key in set(shape) & set(value):
            yield from mismatches(shape[key], value[key], f"{where}.{key}")
    elif isinstance(shape, list) and shape[:1] == ["<each>"]:
        if not isinstance(value, list) or not value:
            yield f"{where}: expected a non-empty list, got {value!r}"
            return
        for index, item in enumerate(value):
            yield from mismatches(shape[1], item, f"{where}[{index}]")
    elif isinstance(shape, list):
        if not isinstance(value, list) or len(value) != len(shape):
            yield f"{where}: expected a list of {len(shape)}, got {value!r}"
            return
        for index, (item_shape, item) in enumerate(zip(shape, value, strict=True)):
            yield from mismatches(item_shape, item, f"{where}[{index}]")
    elif isinstance(shape, str) and shape in _PLACEHOLDERS:
        if not _PLACEHOLDERS[shape](value):
            yield f"{where}: {value!r} is not {shape}"
    elif shape != value:
        yield f"{where}: {value!r} instead of {shape!r}"


def _millis(value: Any) -> bool:
    digits = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return digits.isdigit() and 10**12 <= int(digits) < 10**14


def _datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


_PLACEHOLDERS: dict[str, Callable[[Any], bool]] = {
    "<int>": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "<str>": lambda v: isinstance(v, str),
    "<bool>": lambda v: isinstance(v, bool),
    "<str|null>": lambda v: v is None or isinstance(v, str),
    "<any>": lambda v: True,
    "<millis>": _millis,
    "<datetime>": _datetime,
}


def _fill(template: Any, context: dict[str, str]) -> Any:
    if isinstance(template, str):
        return _VARIABLE.sub(lambda m: context.get(m[1], m[0]), template)
    if isinstance(template, list):
        return [_fill(item, context) for item in template]
    if isinstance(template, dict):
        return {key: _fill(value, context) for key, value in template.items()}
    return template


def _at(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document

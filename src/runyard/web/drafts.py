"""A workflow being edited, held in its mapping form (what ``POST /workflows/validate`` reads and writes):
the edits the studio's forms make, as plain functions on that data.

The mapping form writes a variable holding only a value as ``NAME: value`` and a script as
``{LANGUAGE: code}``; these functions read both the short and the long forms and write the short one
where it says it all. Nothing here checks a workflow: the API does.
"""

from __future__ import annotations

from typing import Any

Draft = dict[str, Any]
#: The script languages offered (the API tells when one is not runnable).
LANGUAGES = ("cpython", "python", "bash", "shell", "groovy", "javascript", "R")
FLOW_ACTIONS = ("none", "if", "loop", "replicate")
#: The script a new control-flow action starts with (what each action's script must set).
_FLOW_SCRIPTS = {"if": "branch = 'if'", "loop": "loop = False", "replicate": "runs = 1"}
#: Keys of a long-form script: any other single key is a language.
_SCRIPT_KEYS = ("language", "code", "file", "url", "arguments", "type")


def blocker(draft: Draft) -> str | None:
    """Why forms cannot edit ``draft`` (names written twice are kept as lists), else ``None``."""
    if not isinstance(draft.get("tasks", {}), dict):
        return "two tasks have the same name: rename one in the text to edit tasks in forms"
    holders = [draft, *draft.get("tasks", {}).values()]
    if any(not isinstance(holder.get("variables", {}), dict) for holder in holders):
        return "a variable is declared twice: fix it in the text to edit in forms"
    return None


def tasks(draft: Draft) -> dict[str, Draft]:
    found: dict[str, Draft] = draft.setdefault("tasks", {})
    return found


def add_task(draft: Draft, name: str, body: Draft) -> str:
    """Add a task named ``name`` (numbered if taken); returns the name given."""
    taken = tasks(draft)
    given, number = name, 2
    while given in taken:
        given, number = f"{name}_{number}", number + 1
    taken[given] = body
    return given


def rename_task(draft: Draft, old: str, new: str) -> None:
    """Rename a task, in the dependencies and control flow pointing to it too (order kept)."""
    draft["tasks"] = {(new if name == old else name): body for name, body in tasks(draft).items()}
    for body in tasks(draft).values():
        if old in body.get("depends", []):
            body["depends"] = [new if d == old else d for d in body["depends"]]
        for action in body.get("flow", {}).values():
            if isinstance(action, dict):
                for key in ("target", "else", "continuation"):
                    if action.get(key) == old:
                        action[key] = new


def remove_task(draft: Draft, name: str) -> None:
    """Remove a task and the dependencies on it (control flow naming it is left for the check to report)."""
    tasks(draft).pop(name, None)
    for body in tasks(draft).values():
        if name in body.get("depends", []):
            set_depends(body, [d for d in body["depends"] if d != name])


def set_depends(task: Draft, depends: list[str]) -> None:
    _put(task, "depends", list(depends))


def script(holder: Draft, key: str = "script") -> tuple[str, str] | None:
    """(language, code) of the inline script at ``key``; ``None`` if there is none or it is a file."""
    found = holder.get(key)
    if not isinstance(found, dict):
        return None
    if "code" in found:
        return str(found.get("language") or ""), str(found["code"] or "")
    inline = [k for k in found if k not in _SCRIPT_KEYS]
    if len(inline) == 1 and "file" not in found and "url" not in found:
        return inline[0], str(found[inline[0]] or "")
    return None


def set_script(holder: Draft, language: str, code: str, key: str = "script") -> None:
    """Set the inline script at ``key`` (its arguments kept)."""
    arguments = (holder.get(key) or {}).get("arguments") if isinstance(holder.get(key), dict) else None
    if language in _SCRIPT_KEYS or not language:
        body: Draft = {"language": language, "code": code}
    else:
        body = {language: code}
    if arguments:
        body["arguments"] = arguments
    holder[key] = body


def variables(holder: Draft) -> list[tuple[str, str]]:
    """(name, value) of the variables of a workflow or a task."""
    return [
        (name, _text(body.get("value") if isinstance(body, dict) else body))
        for name, body in holder.get("variables", {}).items()
    ]


def set_variables(holder: Draft, pairs: list[tuple[str, str]]) -> None:
    """Replace the variables by ``pairs``, each keeping the model, description... it had under its name."""
    before = holder.get("variables", {})
    written: Draft = {}
    for name, value in pairs:
        old = before.get(name)
        written[name] = {**old, "value": value} if isinstance(old, dict) else value
    _put(holder, "variables", written)


def generic_information(holder: Draft) -> list[tuple[str, str]]:
    return [(key, _text(value)) for key, value in holder.get("generic_information", {}).items()]


def set_generic_information(holder: Draft, pairs: list[tuple[str, str]]) -> None:
    _put(holder, "generic_information", dict(pairs))


def flow(task: Draft) -> tuple[str, str, Draft]:
    """(block, action, the action's body): block ``none``/``start``/``end``, action one of FLOW_ACTIONS."""
    found = task.get("flow", {})
    action = next((a for a in FLOW_ACTIONS[1:] if a in found), "none")
    return str(found.get("block", "none")), action, dict(found.get(action, {}))


def set_flow(task: Draft, block: str, action: str, body: Draft) -> None:
    """Set the task's control flow; an action without a script gets one setting what it must."""
    written: Draft = {}
    if block != "none":
        written["block"] = block
    if action != "none":
        kept = {k: v for k, v in body.items() if v not in (None, "")}
        written[action] = {**kept, "script": body.get("script") or {"cpython": _FLOW_SCRIPTS[action]}}
    _put(task, "flow", written)


def _put(holder: Draft, key: str, value: Any) -> None:
    """Set ``key``, or drop it when ``value`` is empty (the mapping form leaves empty parts out)."""
    if value:
        holder[key] = value
    else:
        holder.pop(key, None)


def _text(value: Any) -> str:
    return "" if value is None else str(value)

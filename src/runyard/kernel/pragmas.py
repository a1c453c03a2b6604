"""The pragmas of a cell (``#%task(name=T, dep=[A,B])``): what each accepts and how its line is read.

A cell's first line may be a pragma; the rest of the cell is its code. Parameters are read with a
small grammar, never evaluated::

    params := [param ("," param)*]
    param  := NAME "=" value
    value  := "[" [value ("," value)*] "]"  |  "(" value ("," value)* ")"  |  word
    word   := a quoted string (Python quoting)  |  bare text without , ( ) [ ] = or quotes

so ``dep=[A, B]``, ``generic_info=[(K1,V1),(K2,"a, b")]`` and ``name="my task"`` all read as ProActive's
kernel reads them. Each parameter is then checked against the pragma's :class:`Spec`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from runyard.errors import InvalidRequestError

MAX_PRAGMA_CHARACTERS = 10_000
"""Longest pragma line read."""
MAX_VALUES = 1_000
"""Most words in one pragma line."""
_TOKEN = re.compile(
    r"""\s*(?:(?P<quoted>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(?P<mark>[,()\[\]=])|(?P<bare>[^,()\[\]="'\s][^,()\[\]="']*))"""
)
_PRAGMA = re.compile(r"^#%\s*(?P<name>[A-Za-z_]\w*)\s*(?:\((?P<params>.*)\))?\s*$")

Value = str | list["Value"] | tuple["Value", ...]


class PragmaError(InvalidRequestError):
    """A pragma that cannot be run as written; ``title`` says what kind of problem (a cell's error name)."""

    def __init__(self, message: str, title: str = "Pragma error") -> None:
        super().__init__(message)
        self.title = title


class Kind(Enum):
    """What a parameter holds, and how it is shown in a usage line."""

    TEXT = "TEXT"
    NAMES = "[NAME1,NAME2,...]"
    PAIRS = "[(KEY1,VALUE1),(KEY2,VALUE2),...]"
    SWITCH = "on/off"
    COUNT = "N"


@dataclass(frozen=True)
class Spec:
    """One pragma: its parameters (in usage order), those required, and what it does."""

    summary: str
    params: Mapping[str, Kind] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    placeholders: Mapping[str, str] = field(default_factory=dict)
    """How a TEXT parameter is shown in the usage line (``TASK_NAME``)."""

    def usage(self, name: str) -> str:
        shown = []
        for param, kind in self.params.items():
            value = self.placeholders.get(param, param.upper()) if kind is Kind.TEXT else kind.value
            shown.append(f"{param}={value}" if param in self.required else f"[{param}={value}]")
        return f"#%{name}({', '.join(shown)})"


_TASK_NAME = {"name": "TASK_NAME", "language": "LANGUAGE", "path": "FILE_PATH"}
_TASK = {
    "name": Kind.TEXT,
    "language": Kind.TEXT,
    "dep": Kind.NAMES,
    "generic_info": Kind.PAIRS,
    "variables": Kind.PAIRS,
    "export": Kind.NAMES,
    "import": Kind.NAMES,
    "path": Kind.TEXT,
}
_CONTROL_TASK = dict(_TASK)
_FOLLOWING_TASK = {key: kind for key, kind in _TASK.items() if key != "dep"}
_SCRIPT = {"name": Kind.TEXT, "language": Kind.TEXT, "path": Kind.TEXT}
_JOB_SCRIPT = {"language": Kind.TEXT, "path": Kind.TEXT, "force": Kind.SWITCH}
_FLOW_SCRIPT = {"language": Kind.TEXT, "path": Kind.TEXT}
_JOB_REF = {"job_id": Kind.TEXT, "job_name": Kind.TEXT, "timeout": Kind.COUNT}
_TASK_REF = {**_JOB_REF, "task_name": Kind.TEXT}
_REF_NAMES = {"job_id": "JOB_ID", "job_name": "JOB_NAME", "task_name": "TASK_NAME"}
_NAMED = frozenset({"name"})

PRAGMAS: dict[str, Spec] = {
    "help": Spec(
        "describes the pragmas, or one of them", {"pragma": Kind.TEXT}, placeholders={"pragma": "PRAGMA"}
    ),
    "connect": Spec(
        "connects to a runyard server (no parameter: proactive_config.ini, RUNYARD_URL/RUNYARD_TOKEN or"
        " the session saved by `runyard login`)",
        {
            "url": Kind.TEXT,
            "host": Kind.TEXT,
            "port": Kind.TEXT,
            "login": Kind.TEXT,
            "password": Kind.TEXT,
            "path": Kind.TEXT,
        },
        placeholders={
            "url": "SERVER_URL",
            "path": "CONFIG_FILE.ini",
            "login": "LOGIN",
            "password": "PASSWORD",
        },
    ),
    "import": Spec(
        "code put before the code of every task in that language (default Python) created afterwards",
        {"language": Kind.TEXT},
        placeholders={"language": "LANGUAGE"},
    ),
    "task": Spec(
        "creates or replaces a task; the cell's code is its script (default language Python)",
        {**_TASK, "runs": Kind.COUNT},
        _NAMED,
        _TASK_NAME,
    ),
    "delete_task": Spec(
        "removes a task (and the dependencies on it)", {"name": Kind.TEXT}, _NAMED, _TASK_NAME
    ),
    "pre_script": Spec("sets the pre-script of a task", _SCRIPT, _NAMED, _TASK_NAME),
    "post_script": Spec("sets the post-script of a task", _SCRIPT, _NAMED, _TASK_NAME),
    "selection_script": Spec("sets the selection script of a task", _SCRIPT, _NAMED, _TASK_NAME),
    "fork_env": Spec("sets the fork environment script of a task", _SCRIPT, _NAMED, _TASK_NAME),
    "job_selection_script": Spec(
        "the selection script of the tasks created afterwards (force=on: of every task now)",
        _JOB_SCRIPT,
        placeholders=_TASK_NAME,
    ),
    "job_fork_env": Spec(
        "the fork environment script of the tasks created afterwards (force=on: of every task now)",
        _JOB_SCRIPT,
        placeholders=_TASK_NAME,
    ),
    "split": Spec(
        "replicate control, 1/4: the task whose child is replicated", _CONTROL_TASK, placeholders=_TASK_NAME
    ),
    "runs": Spec("replicate control, 2/4: the script setting `runs`", _FLOW_SCRIPT, placeholders=_TASK_NAME),
    "process": Spec("replicate control, 3/4: the replicated task", _FOLLOWING_TASK, placeholders=_TASK_NAME),
    "merge": Spec(
        "replicate control, 4/4: the task after the replicas", _FOLLOWING_TASK, placeholders=_TASK_NAME
    ),
    "start": Spec("loop control, 1/3: the first task of the loop", _CONTROL_TASK, placeholders=_TASK_NAME),
    "condition": Spec(
        "loop control 2/3 (sets `loop`) or branch control 2/5 (sets `branch`): the flow script",
        _FLOW_SCRIPT,
        placeholders=_TASK_NAME,
    ),
    "loop": Spec("loop control, 3/3: the last task of the loop", _FOLLOWING_TASK, placeholders=_TASK_NAME),
    "branch": Spec(
        "branch control, 1/5: the task whose condition picks a branch", _CONTROL_TASK, placeholders=_TASK_NAME
    ),
    "if": Spec(
        'branch control, 3/5: the task run when `branch` is "if"', _FOLLOWING_TASK, placeholders=_TASK_NAME
    ),
    "else": Spec(
        'branch control, 4/5: the task run when `branch` is "else"', _FOLLOWING_TASK, placeholders=_TASK_NAME
    ),
    "continuation": Spec(
        "branch control, 5/5: the task run after either branch", _FOLLOWING_TASK, placeholders=_TASK_NAME
    ),
    "job": Spec(
        "names the job and sets its generic information and variables",
        {"name": Kind.TEXT, "generic_info": Kind.PAIRS, "variables": Kind.PAIRS},
        placeholders={"name": "JOB_NAME"},
    ),
    "draw_job": Spec(
        "draws the job's task graph (save=on: also into NAME.svg)",
        {"name": Kind.TEXT, "inline": Kind.SWITCH, "save": Kind.SWITCH},
        placeholders={"name": "JOB_NAME"},
    ),
    "write_dot": Spec(
        "writes the task graph into NAME.dot (Graphviz)",
        {"name": Kind.TEXT},
        placeholders={"name": "FILE_NAME"},
    ),
    "import_dot": Spec(
        "adds a task per node of a Graphviz file, depending on the nodes with an arrow to it",
        {"path": Kind.TEXT},
        frozenset({"path"}),
        {"path": "FILE.dot"},
    ),
    "submit_job": Spec(
        "submits the job to the server", {"name": Kind.TEXT}, placeholders={"name": "JOB_NAME"}
    ),
    "list_submitted_jobs": Spec("lists the jobs this notebook submitted"),
    "export_xml": Spec(
        "writes the job into NAME.xml (ProActive XML)",
        {"name": Kind.TEXT},
        placeholders={"name": "FILE_NAME"},
    ),
    "get_job_result": Spec(
        "waits for a job (default: the last submitted) and prints its results",
        _JOB_REF,
        placeholders=_REF_NAMES,
    ),
    "get_task_result": Spec(
        "waits for a job and prints the result of one of its tasks",
        _TASK_REF,
        frozenset({"task_name"}),
        _REF_NAMES,
    ),
    "print_job_output": Spec(
        "waits for a job and prints what its tasks printed", _JOB_REF, placeholders=_REF_NAMES
    ),
    "print_task_output": Spec(
        "waits for a job and prints what one of its tasks printed",
        _TASK_REF,
        frozenset({"task_name"}),
        _REF_NAMES,
    ),
}


@dataclass(frozen=True)
class Cell:
    """A cell read: its pragma (``task`` when it has none), the parameters given, and its code."""

    pragma: str
    params: dict[str, Any]
    code: str
    explicit: bool = True
    """Whether the cell started with a pragma."""


def read_cell(text: str) -> Cell:
    """The pragma, parameters and code of a cell; :class:`PragmaError` if its pragma line is wrong."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.startswith("#%"):
        return Cell("task", {}, text, explicit=False)
    if len(first) > MAX_PRAGMA_CHARACTERS:
        raise PragmaError(
            f"the pragma line is longer than {MAX_PRAGMA_CHARACTERS} characters", "Parsing error"
        )
    match = _PRAGMA.match(first.strip())
    if match is None:
        raise PragmaError(f"cannot read {_shown(first)}: write #%NAME(PARAM=VALUE, ...)", "Parsing error")
    name = match["name"]
    spec = PRAGMAS.get(name)
    if spec is None:
        raise PragmaError(f"unknown pragma #%{name}; #%help() lists them")
    try:
        values = _Parser(match["params"] or "").params()
    except PragmaError as error:
        raise PragmaError(f"{error}\nusage: {spec.usage(name)}", "Parsing error") from None
    return Cell(name, _checked(name, spec, values), rest)


def help_text(pragma: str | None = None) -> str:
    """Every pragma with its summary, or the usage of one."""
    if pragma is None:
        lines = [f"#%{name}(): {spec.summary}" for name, spec in PRAGMAS.items()]
        return "\n".join([*lines, "", "The usage of one: #%help(pragma=NAME)"]) + "\n"
    spec = PRAGMAS.get(pragma)
    if spec is None:
        raise PragmaError(f"unknown pragma {pragma!r}; #%help() lists them", "Parameter error")
    return f"#%{pragma}(): {spec.summary}\nusage: {spec.usage(pragma)}\n"


def completions(before_cursor: str) -> tuple[int, list[str]]:
    """What may follow the text of a cell's first line up to the cursor: pragma names after ``#%``,
    parameter names in its parentheses; and how many characters before the cursor they replace."""
    name = re.match(r"^#%\s*(\w*)$", before_cursor)
    if name is not None:
        prefix = name[1]
        return len(prefix), [f"{pragma}(" for pragma in PRAGMAS if pragma.startswith(prefix)]
    param = re.match(r"^#%\s*(\w+)\s*\((?:.*[(,\s])?(\w*)$", before_cursor)
    spec = PRAGMAS.get(param[1]) if param is not None else None
    if param is None or spec is None:
        return 0, []
    prefix = param[2]
    return len(prefix), [f"{key}=" for key in spec.params if key.startswith(prefix)]


def _checked(name: str, spec: Spec, values: dict[str, Value]) -> dict[str, Any]:
    problems = [f"unknown parameter {key!r}" for key in values if key not in spec.params]
    problems += [f"missing parameter {key!r}" for key in spec.required if key not in values]
    params: dict[str, Any] = {}
    for key, value in values.items():
        kind = spec.params.get(key)
        if kind is None:
            continue
        try:
            params[key] = _typed(value, kind)
        except ValueError as error:
            problems.append(f"{key}: {error}")
    if problems:
        raise PragmaError("; ".join(problems) + f"\nusage: {spec.usage(name)}", "Parameter error")
    return params


def _typed(value: Value, kind: Kind) -> Any:
    if kind is Kind.TEXT:
        return _word(value)
    if kind is Kind.SWITCH:
        word = _word(value).lower()
        if word not in ("on", "off"):
            raise ValueError(f"expected on or off, got {word!r}")
        return word == "on"
    if kind is Kind.COUNT:
        word = _word(value)
        if not word.isdigit() or len(word) > 9:
            raise ValueError(f"expected a whole number, got {word!r}")
        return int(word)
    if kind is Kind.NAMES:  # one name may stand alone, as ProActive's kernel reads ``dep=t2``
        return [_word(item) for item in value] if isinstance(value, list) else [_word(value)]
    if not isinstance(value, list):
        raise ValueError(f"expected a list {kind.value}")
    pairs = []
    for item in value:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValueError(f"expected pairs {kind.value}, got {_shown(str(item))}")
        pairs.append((_word(item[0]), _word(item[1])))
    return pairs


def _word(value: Value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected one value, got a {'list' if isinstance(value, list) else 'pair'}")
    return value


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


class _Parser:
    """The grammar of the module docstring, over the tokens of one pragma's parameters."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if not text[position:].strip():
                    break
                raise PragmaError(f"unexpected text at {_shown(text[position:])}")
            kind = match.lastgroup or ""
            word = match[kind]
            self.tokens.append((kind, ast.literal_eval(word) if kind == "quoted" else word.strip()))
            position = match.end()
        if sum(1 for kind, _ in self.tokens if kind != "mark") > MAX_VALUES:
            raise PragmaError(f"more than {MAX_VALUES} values")
        self.index = 0

    def params(self) -> dict[str, Value]:
        values: dict[str, Value] = {}
        while self._peek() is not None:
            kind, key = self._next()
            if kind != "bare" or not key.isidentifier():
                raise PragmaError(f"expected a parameter name, got {_shown(key)}")
            self._expect("=")
            if key in values:
                raise PragmaError(f"parameter {key!r} given twice")
            values[key] = self._value(0)
            if self._peek() is not None:
                self._expect(",")
        return values

    def _value(self, depth: int) -> Value:
        if depth > 2:
            raise PragmaError("values nested too deeply")
        kind, word = self._next()
        if kind != "mark":
            return word
        if word not in ("[", "("):
            raise PragmaError(f"expected a value, got {word!r}")
        closing = "]" if word == "[" else ")"
        items: list[Value] = []
        while self._peek() != ("mark", closing):
            items.append(self._value(depth + 1))
            if self._peek() != ("mark", closing):
                self._expect(",")
        self.index += 1
        return items if closing == "]" else tuple(items)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise PragmaError("the parameters end too early")
        self.index += 1
        return token

    def _expect(self, mark: str) -> None:
        kind, word = self._next()
        if (kind, word) != ("mark", mark):
            raise PragmaError(f"expected {mark!r}, got {_shown(word)}")

"""Signals of a job: a task says it is ready for a signal (optionally with the variables the signal takes,
each with a model and a default); someone with rights on the job sends it, with values checked against
those models; the task, waiting for any of a set, gets it with its values.

ProActive keeps a set of names per job: ``ready_NAME`` while a task waits for ``NAME``, ``NAME`` once it was
sent. runyard keeps one row per name that is either *ready* or *received* (sending turns the first into
the second); :func:`proactive_names` gives ProActive's set back, and :func:`remove_signals` accepts both
spellings. Sending needs a ready signal, as ProActive's ``sendSignal``; declaring a received signal ready
again makes it ready anew (a task waiting in a loop). The rows go with their job (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runyard.errors import ConflictError, InvalidRequestError, Problem, VariableValueError
from runyard.model import Variable
from runyard.model.variable_models import check_variables, parse_model
from runyard.store.schema import job_signals

READY_PREFIX = "ready_"
"""ProActive's name of a signal a task is ready for: ``ready_NAME``."""
MAX_NAME = 255
"""Characters of a signal's name (and of a variable's)."""
MAX_SIGNALS = 1000
"""Signals of one job."""
MAX_VARIABLES = 100
"""Variables one signal takes."""
MAX_VALUE = 10_000
"""Characters of a variable's value, model or description."""
READY, RECEIVED = "ready", "received"


@dataclass(frozen=True)
class Signal:
    """A signal of a job: ``ready`` (a task waits for it) or ``received`` (sent, with ``values``)."""

    name: str
    status: str
    task_name: str | None = None
    variables: list[dict[str, Any]] = field(default_factory=list)
    """What the signal takes, as ProActive's ``JobVariable``: ``name``, ``value`` (the default),
    ``model``, ``description``, ``group``, ``advanced``, ``hidden``."""
    ready_at: float | None = None
    sent_at: float | None = None
    sent_by: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    """Once received: the value of each variable (the default where the sender gave none)."""

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "task": self.task_name,
            "variables": self.variables,
            "ready_at": self.ready_at,
            "sent_at": self.sent_at,
            "sent_by": self.sent_by,
            "values": self.values,
        }


def list_signals(connection: sa.Connection, job_id: int) -> list[Signal]:
    """The job's signals, by name."""
    rows = connection.execute(
        sa.select(job_signals).where(job_signals.c.job_id == job_id).order_by(job_signals.c.name)
    )
    return [_signal(row) for row in rows]


def received_among(connection: sa.Connection, job_id: int, names: Iterable[str]) -> list[Signal]:
    """The received signals among ``names``, first received first."""
    wanted = sorted(set(names))
    c = job_signals.c
    rows = connection.execute(
        sa.select(job_signals)
        .where(c.job_id == job_id, c.name.in_(wanted), c.sent_at.is_not(None))
        .order_by(c.sent_at, c.name)
    )
    return [_signal(row) for row in rows]


def proactive_names(signals: Iterable[Signal]) -> list[str]:
    """ProActive's set of job signals: ``ready_NAME`` for those ready, ``NAME`` for those received."""
    return [s.name if s.status == RECEIVED else READY_PREFIX + s.name for s in signals]


def ready_for_signal(
    connection: sa.Connection,
    job_id: int,
    name: str,
    variables: Sequence[Mapping[str, Any]] = (),
    *,
    task_name: str | None = None,
    now: float,
) -> Signal:
    """Declare the job ready for ``name`` (again, if it was received), taking ``variables``."""
    check_name(name)
    declared = [_declaration(item) for item in variables]
    if len(declared) > MAX_VARIABLES:
        raise InvalidRequestError(f"a signal takes at most {MAX_VARIABLES} variables, got {len(declared)}")
    names = [item["name"] for item in declared]
    if len(set(names)) != len(names):
        raise InvalidRequestError(f"signal {name!r} declares a variable twice")
    c = job_signals.c
    values = {"task_name": task_name, "variables": declared, "ready_at": now}
    cleared = {"sent_at": None, "sent_by": None, "sent_values": None}
    updated = connection.execute(
        sa.update(job_signals).where(c.job_id == job_id, c.name == name).values(**values, **cleared)
    ).rowcount
    if not updated:
        count = connection.execute(sa.select(sa.func.count()).where(c.job_id == job_id)).scalar() or 0
        if count >= MAX_SIGNALS:
            raise InvalidRequestError(f"job {job_id} has {MAX_SIGNALS} signals already: remove some first")
        connection.execute(sa.insert(job_signals).values(job_id=job_id, name=name, **values, **cleared))
    return Signal(name, READY, task_name, declared, now)


def send_signal(
    connection: sa.Connection,
    job_id: int,
    name: str,
    values: Mapping[str, str] | None = None,
    *,
    sender: str,
    now: float,
) -> Signal:
    """Send ``name``, which a task must be ready for, with ``values`` for its variables (checked against
    their models; a variable not given keeps its default). ``ConflictError`` if the job is not ready for it
    (never declared, or received already); ``VariableValueError`` for values that do not fit."""
    check_name(name)
    c = job_signals.c
    row = connection.execute(sa.select(job_signals).where(c.job_id == job_id, c.name == name)).first()
    if row is None:
        raise ConflictError(f"job {job_id} is not ready for the signal {name!r}")
    signal = _signal(row)
    if signal.status == RECEIVED:
        raise ConflictError(
            f"the signal {name!r} of job {job_id} was sent already: its task is not ready again"
        )
    effective = _checked_values(signal, values or {})
    sent = connection.execute(
        sa.update(job_signals)
        .where(c.job_id == job_id, c.name == name, c.sent_at.is_(None))  # one sender wins a race
        .values(sent_at=now, sent_by=sender, sent_values=effective)
    ).rowcount
    if not sent:
        raise ConflictError(f"the signal {name!r} of job {job_id} was sent already")
    return Signal(name, RECEIVED, signal.task_name, signal.variables, signal.ready_at, now, sender, effective)


def remove_signals(connection: sa.Connection, job_id: int, names: Iterable[str]) -> int:
    """Remove signals named as ProActive does: ``ready_NAME`` removes ``NAME`` if it is still only ready,
    ``NAME`` removes it whatever its state. Returns how many were removed."""
    ready: set[str] = set()
    any_state: set[str] = set()
    for name in names:
        if name.startswith(READY_PREFIX):
            ready.add(name[len(READY_PREFIX) :])
        else:
            any_state.add(name)
    c = job_signals.c
    removed = 0
    if ready:
        removed += connection.execute(
            sa.delete(job_signals).where(c.job_id == job_id, c.name.in_(sorted(ready)), c.sent_at.is_(None))
        ).rowcount
    if any_state:
        removed += connection.execute(
            sa.delete(job_signals).where(c.job_id == job_id, c.name.in_(sorted(any_state)))
        ).rowcount
    return removed


def check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidRequestError(f"a signal's name is 1 to {MAX_NAME} printable characters: {name[:80]!r}")


def _declaration(item: Mapping[str, Any]) -> dict[str, Any]:
    """A variable a signal takes, checked and in ProActive's ``JobVariable`` fields."""
    name = str(item.get("name") or "")
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidRequestError(f"a signal variable's name is 1 to {MAX_NAME} printable characters")
    declared: dict[str, Any] = {
        "name": name,
        "value": _text(item.get("value"), name, "value"),
        "model": _text(item.get("model"), name, "model") or None,
        "description": _text(item.get("description"), name, "description") or None,
        "group": _text(item.get("group"), name, "group") or None,
        "advanced": bool(item.get("advanced", False)),
        "hidden": bool(item.get("hidden", False)),
    }
    if declared["model"]:
        try:
            parse_model(declared["model"])
        except VariableValueError as error:
            raise InvalidRequestError(f"signal variable {name!r}: {error}") from None
    return declared


def _text(value: Any, name: str, what: str) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_VALUE:
        raise InvalidRequestError(f"the {what} of signal variable {name!r} is over {MAX_VALUE} characters")
    return text


def _checked_values(signal: Signal, values: Mapping[str, str]) -> dict[str, str]:
    known = {item["name"] for item in signal.variables}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidRequestError(
            f"the signal {signal.name!r} takes no variable {', '.join(map(repr, unknown))}"
        )
    for name, value in values.items():
        _text(value, name, "value")
    declared = [
        Variable(v["name"], v["value"], v["model"], v["description"], v["group"], v["advanced"], v["hidden"])
        for v in signal.variables
    ]
    texts = {name: str(value) for name, value in values.items()}
    problems: list[Problem] = check_variables(declared, texts)
    if problems:
        raise VariableValueError(problems)
    return {variable.name: texts.get(variable.name, variable.value) for variable in declared}


def _signal(row: sa.Row[Any]) -> Signal:
    return Signal(
        name=row.name,
        status=RECEIVED if row.sent_at is not None else READY,
        task_name=row.task_name,
        variables=list(row.variables or []),
        ready_at=row.ready_at,
        sent_at=row.sent_at,
        sent_by=row.sent_by,
        values=dict(row.sent_values or {}),
    )

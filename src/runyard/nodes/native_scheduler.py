"""ProActive's ``NATIVE_SCHEDULER`` generic information: a task (or a service's action task) runs on a node
that a cluster's own scheduler (SLURM) starts for it alone, requested with ``NATIVE_SCHEDULER_PARAMS``.

The value names a node source (``slurm-a``) or its type (``SLURM``, any case). The scheduler routes such a
task by a token (:func:`token`) that only nodes of a matching source hold; the source reads the parameters
from the task's generic information and asks its cluster for a node with them.

The parameters are written into a batch script's ``#SBATCH`` lines, so they are refused unless each is an
allowed option with a plain value: no option that picks the account, user, folder or files a job runs with
(``--uid``, ``--chdir``, ``--output``, ``--export``…), nothing a shell or a script line would read as code.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping

from runyard.errors import SchedulerError

NAME = "NATIVE_SCHEDULER"
PARAMS = "NATIVE_SCHEDULER_PARAMS"
TOKEN_PREFIX = "NATIVE_SCHEDULER:"

#: Longest ``NATIVE_SCHEDULER_PARAMS`` accepted, in characters.
MAX_PARAMS_LENGTH = 1000

#: sbatch options a task may give, long name -> short name (``None``: none). Each sets what the job
#: is given (time, resources, placement, a name), never who it runs as, where, or what it reads or writes;
#: nor what SLURM grants by the submitter's rights, which are the server's (``--account``, ``--qos``,
#: ``--reservation``, ``--nice``).
ALLOWED_OPTIONS: Mapping[str, str | None] = {
    "--comment": None,
    "--constraint": "-C",
    "--cores-per-socket": None,
    "--cpus-per-gpu": None,
    "--cpus-per-task": "-c",
    "--exclude": "-x",
    "--exclusive": None,
    "--gpus": "-G",
    "--gpus-per-node": None,
    "--gpus-per-task": None,
    "--gres": None,
    "--hint": None,
    "--job-name": "-J",
    "--licenses": "-L",
    "--mem": None,
    "--mem-per-cpu": None,
    "--mem-per-gpu": None,
    "--mincpus": None,
    "--nodelist": "-w",
    "--nodes": "-N",
    "--ntasks": "-n",
    "--partition": "-p",
    "--time": "-t",
    "--time-min": None,
    "--tmp": None,
}
_SHORT = {short: long for long, short in ALLOWED_OPTIONS.items() if short is not None}
_FLAGS = {"--exclusive"}  # options that take no value
#: A value: what SLURM's times, sizes, names and node lists are made of; no blank, quote or shell character.
_VALUE = re.compile(r"[A-Za-z0-9_.,:=+@%/\[\]-]{1,200}")


def requested(generic_information: Mapping[str, str]) -> str | None:
    """The native scheduler a task's (substituted) generic information names, if any (blank: none)."""
    value = generic_information.get(NAME, "").strip()
    return value or None


def token(name: str) -> str:
    """The token a node must hold to take a task whose ``NATIVE_SCHEDULER`` is ``name``."""
    return TOKEN_PREFIX + name.strip().lower()


def source_tokens(source: str, kind: str) -> tuple[str, ...]:
    """The tokens the native nodes of a source hold: its name and its type, as a task may name either."""
    return tuple(sorted({token(source), token(kind)}))


def parse_params(text: str) -> list[str]:
    """``NATIVE_SCHEDULER_PARAMS`` as sbatch options (``--opt=value`` each), or ``SchedulerError`` saying
    which one is refused and why."""
    if len(text) > MAX_PARAMS_LENGTH:
        raise SchedulerError(f"{PARAMS} is longer than {MAX_PARAMS_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise SchedulerError(f"{PARAMS} holds a control character (a line break?): refused")
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise SchedulerError(f"{PARAMS} {text!r} cannot be read: {error}") from None
    options: list[str] = []
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        name, equals, value = word.partition("=")
        has_value = bool(equals)
        if name in _SHORT:
            name = _SHORT[name]
        elif word[:2] in _SHORT and not name.startswith("--"):  # -t10, -Jname
            name, value, has_value = _SHORT[word[:2]], word[2:], True
        if name not in ALLOWED_OPTIONS:
            allowed = ", ".join(ALLOWED_OPTIONS)
            raise SchedulerError(f"{PARAMS}: option {word!r} is not allowed (allowed: {allowed})")
        if name in _FLAGS:
            if has_value:
                raise SchedulerError(f"{PARAMS}: {name} takes no value")
            options.append(name)
            continue
        if not has_value:
            if position >= len(words):
                raise SchedulerError(f"{PARAMS}: {name} needs a value")
            value = words[position]
            position += 1
        if not _VALUE.fullmatch(value):
            raise SchedulerError(
                f"{PARAMS}: value {value!r} of {name} is refused: letters, digits and _.,:=+@%/[]- only"
            )
        options.append(f"{name}={value}")
    return options


def required_token(generic_information: Mapping[str, str]) -> str | None:
    """The token a task needs for its ``NATIVE_SCHEDULER``, its parameters checked (``SchedulerError``)."""
    name = requested(generic_information)
    if name is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise SchedulerError(f"{NAME} {name[:100]!r} is not a node source name or type")
    parse_params(generic_information.get(PARAMS, ""))
    return token(name)


def check_held(required: str | None, held: Iterable[frozenset[str]]) -> None:
    """``SchedulerError`` if ``required`` is a native scheduler's token that no node holds (``held``: every
    node's tokens): no node source here takes such tasks, so the task would wait for ever."""
    if required is None or not required.startswith(TOKEN_PREFIX):
        return
    tokens = frozenset().union(*held)
    if required not in tokens:
        known = sorted(
            {token.removeprefix(TOKEN_PREFIX) for token in tokens if token.startswith(TOKEN_PREFIX)}
        )
        here = ", ".join(known) if known else "none"
        raise SchedulerError(
            f"{NAME} {required.removeprefix(TOKEN_PREFIX)!r}: no node source takes its tasks "
            f"(native schedulers here: {here})"
        )

"""``SEARCH_SPACE``: a JSON object mapping each parameter to the distribution its values are drawn from.

::

    {"x": "uniform(-5, 5)", "n": "quantized_uniform(1, 10, 1)", "lr": "log(1e-4, 1e-1)",
     "batch": "quantized_log(16, 512, 16)", "kernel": "choice(['linear', 'rbf'])"}

Each right-hand side is read as data: a call of one of :data:`KINDS` with literal arguments (Python's
``ast`` parser and ``literal_eval``; nothing is evaluated). A malformed space raises
:class:`SearchSpaceError` naming the parameter, before any sample runs.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from runyard.ml.errors import TaskInputError

KINDS = ("uniform", "quantized_uniform", "log", "quantized_log", "choice")
MAX_PARAMETERS = 100
MAX_CHOICES = 1_000
MAX_GRID_VALUES = 10_000
"""Values of one parameter on a grid (Grid tuner): more means the space is not the few values Grid is for."""


class SearchSpaceError(TaskInputError):
    """``SEARCH_SPACE`` cannot be used: the message names the parameter."""

    def __init__(self, message: str) -> None:
        super().__init__("SEARCH_SPACE", message)


@dataclass(frozen=True)
class Parameter:
    """One parameter: its optuna distribution and how a sampled value becomes the value the objective gets."""

    name: str
    kind: str
    distribution: BaseDistribution
    quantum: float | None = None
    """``quantized_log`` over floats: the value is the sample rounded to a multiple of it."""

    def value(self, sampled: Any) -> Any:
        """The value given to the objective for ``sampled`` (a value of the distribution)."""
        if self.quantum is None:
            return sampled
        low, high = _bounds(self.distribution)
        multiples = round(sampled / self.quantum)
        lowest, highest = math.ceil(low / self.quantum - 1e-9), math.floor(high / self.quantum + 1e-9)
        return _multiple(min(max(multiples, lowest), highest), self.quantum)

    def grid(self) -> list[Any]:
        """Every value the parameter can take (the Grid tuner); ``SearchSpaceError`` for a continuous one."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return list(d.choices)
        if self.quantum is not None:
            low, high = _bounds(d)
            first, last = math.ceil(low / self.quantum - 1e-9), math.floor(high / self.quantum + 1e-9)
            return self._bounded(
                [_multiple(k, self.quantum) for k in range(first, min(last, first + MAX_GRID_VALUES) + 1)]
            )
        if isinstance(d, IntDistribution) and not d.log:
            return self._bounded(
                list(range(d.low, min(d.high, d.low + MAX_GRID_VALUES * d.step) + 1, d.step))
            )
        if isinstance(d, FloatDistribution) and d.step is not None:
            count = round((d.high - d.low) / d.step)
            step = Decimal(str(d.step))
            return self._bounded(
                [float(Decimal(str(d.low)) + k * step) for k in range(min(count, MAX_GRID_VALUES) + 1)]
            )
        raise SearchSpaceError(
            f"parameter {self.name!r}: {self.kind} is continuous, and Grid tries every value of each "
            "parameter: use choice or a quantized distribution"
        )

    def from_unit(self, unit: float) -> Any:
        """The distribution's value at ``unit`` in [0, 1] (clipped), for tuners searching the unit cube."""
        u = min(max(unit, 0.0), 1.0)
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return d.choices[min(int(u * len(d.choices)), len(d.choices) - 1)]
        low, high = _bounds(d)
        if getattr(d, "log", False):
            raw = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            raw = low + u * (high - low)
        if isinstance(d, IntDistribution):
            return min(max(d.low + round((raw - d.low) / d.step) * d.step, d.low), d.high)
        if isinstance(d, FloatDistribution) and d.step is not None:
            return float(Decimal(str(d.low)) + round((raw - d.low) / d.step) * Decimal(str(d.step)))
        return self.value(min(max(raw, low), high))

    def _bounded(self, values: list[Any]) -> list[Any]:
        if len(values) > MAX_GRID_VALUES:
            raise SearchSpaceError(f"parameter {self.name!r}: more than {MAX_GRID_VALUES} values on a grid")
        return values


@dataclass(frozen=True)
class SearchSpace:
    parameters: tuple[Parameter, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def distributions(self) -> dict[str, BaseDistribution]:
        return {p.name: p.distribution for p in self.parameters}

    def values(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        """The objective's values for a trial's sampled parameters."""
        return {p.name: p.value(sampled[p.name]) for p in self.parameters}

    def grid(self) -> dict[str, list[Any]]:
        return {p.name: p.grid() for p in self.parameters}

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())

    def from_unit(self, point: Sequence[float]) -> dict[str, Any]:
        return {p.name: p.from_unit(u) for p, u in zip(self.parameters, point, strict=True)}


def parse_search_space(text: str) -> SearchSpace:
    """Read ``SEARCH_SPACE`` (JSON text)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SearchSpaceError(f"not a JSON object: {error}") from None
    if not isinstance(document, dict) or not document:
        raise SearchSpaceError("expected a JSON object mapping each parameter name to its distribution")
    if len(document) > MAX_PARAMETERS:
        raise SearchSpaceError(f"at most {MAX_PARAMETERS} parameters, got {len(document)}")
    return SearchSpace(tuple(_parameter(name, spec) for name, spec in document.items()))


def _parameter(name: str, spec: Any) -> Parameter:
    if not name.strip():
        raise SearchSpaceError("a parameter has an empty name")
    if not isinstance(spec, str):
        raise SearchSpaceError(f'parameter {name!r}: expected text such as "uniform(0, 1)", got {spec!r}')
    kind, args = _call(name, spec)
    try:
        return _BUILDERS[kind](name, args)
    except SearchSpaceError:
        raise
    except (ValueError, TypeError) as error:  # what optuna's distributions refuse
        raise SearchSpaceError(f"parameter {name!r}: {spec}: {error}") from None


def _call(name: str, spec: str) -> tuple[str, list[Any]]:
    """The kind and the literal arguments of ``kind(arg, ...)``."""
    usage = f"parameter {name!r}: {spec!r} is not one of {', '.join(k + '(...)' for k in KINDS)}"
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise SearchSpaceError(usage) from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id not in KINDS:
        raise SearchSpaceError(usage)
    if call.keywords:
        raise SearchSpaceError(f"parameter {name!r}: {call.func.id} takes no named arguments")
    return call.func.id, [_literal(name, call.func.id, spec.strip(), arg) for arg in call.args]


def _literal(name: str, kind: str, spec: str, arg: ast.expr) -> Any:
    """A Python literal, or a JSON one (``null``, ``true``, ``false`` in a choice)."""
    try:
        return ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        return json.loads(ast.get_source_segment(spec, arg) or "")
    except (json.JSONDecodeError, RecursionError):
        raise SearchSpaceError(f"parameter {name!r}: the arguments of {kind} must be literals") from None


def _numbers(name: str, kind: str, args: list[Any], count: int) -> list[int | float]:
    signature = {2: "(low, high)", 3: "(low, high, q)"}[count]
    if len(args) != count:
        raise SearchSpaceError(
            f"parameter {name!r}: {kind}{signature} takes {count} numbers, got {len(args)}"
        )
    for arg in args:
        if isinstance(arg, bool) or not isinstance(arg, int | float) or not math.isfinite(arg):
            raise SearchSpaceError(f"parameter {name!r}: {kind}{signature} takes numbers, got {arg!r}")
    low, high = args[0], args[1]
    if not low < high:
        raise SearchSpaceError(f"parameter {name!r}: {kind} needs low < high, got {low} and {high}")
    if kind.endswith("log") and low <= 0:
        raise SearchSpaceError(f"parameter {name!r}: {kind} needs 0 < low, got {low}")
    if count == 3 and not args[2] > 0:
        raise SearchSpaceError(f"parameter {name!r}: {kind} needs a step q > 0, got {args[2]}")
    return list(args)


def _uniform(name: str, args: list[Any]) -> Parameter:
    low, high = _numbers(name, "uniform", args, 2)
    return Parameter(name, "uniform", FloatDistribution(low, high))


def _log(name: str, args: list[Any]) -> Parameter:
    low, high = _numbers(name, "log", args, 2)
    return Parameter(name, "log", FloatDistribution(low, high, log=True))


def _quantized_uniform(name: str, args: list[Any]) -> Parameter:
    low, high, q = _numbers(name, "quantized_uniform", args, 3)
    steps = int((Decimal(str(high)) - Decimal(str(low))) / Decimal(str(q)))  # the last step within high
    if isinstance(low, int) and isinstance(high, int) and isinstance(q, int):
        return Parameter(name, "quantized_uniform", IntDistribution(low, low + steps * q, step=q))
    top = float(Decimal(str(low)) + steps * Decimal(str(q)))
    return Parameter(name, "quantized_uniform", FloatDistribution(low, top, step=q))


def _quantized_log(name: str, args: list[Any]) -> Parameter:
    low, high, q = _numbers(name, "quantized_log", args, 3)
    if math.floor(high / q + 1e-9) < math.ceil(low / q - 1e-9):
        raise SearchSpaceError(f"parameter {name!r}: no multiple of {q} lies between {low} and {high}")
    if isinstance(low, int) and isinstance(high, int) and q == 1:
        return Parameter(name, "quantized_log", IntDistribution(low, high, log=True))
    return Parameter(name, "quantized_log", FloatDistribution(low, high, log=True), quantum=q)


def _choice(name: str, args: list[Any]) -> Parameter:
    if len(args) != 1 or not isinstance(args[0], list | tuple) or not args[0]:
        raise SearchSpaceError(f"parameter {name!r}: choice takes one non-empty list, as choice(['a', 'b'])")
    choices = list(args[0])
    if len(choices) > MAX_CHOICES:
        raise SearchSpaceError(f"parameter {name!r}: at most {MAX_CHOICES} choices, got {len(choices)}")
    for choice in choices:
        if choice is not None and not isinstance(choice, str | int | float | bool):
            raise SearchSpaceError(f"parameter {name!r}: a choice must be text, a number, a boolean or None")
    if len({json.dumps(c) for c in choices}) != len(choices):
        raise SearchSpaceError(f"parameter {name!r}: a choice is listed twice")
    typed: list[CategoricalChoiceType] = choices
    return Parameter(name, "choice", CategoricalDistribution(typed))


_BUILDERS: dict[str, Callable[[str, list[Any]], Parameter]] = {
    "uniform": _uniform,
    "quantized_uniform": _quantized_uniform,
    "log": _log,
    "quantized_log": _quantized_log,
    "choice": _choice,
}


def _bounds(distribution: BaseDistribution) -> tuple[float, float]:
    assert isinstance(distribution, FloatDistribution | IntDistribution)
    return distribution.low, distribution.high


def _multiple(k: int, quantum: float) -> float:
    return float(Decimal(k) * Decimal(str(quantum)))

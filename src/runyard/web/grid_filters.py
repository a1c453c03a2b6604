"""AG Grid column filters as the API's column filters (``where=COLUMN~TEXT``, ``COLUMN>N``, ``COLUMN<N``).

The execution table of Job Analytics filters with AG Grid's own filter widgets, but the rows, the CSV and
the charts come from the API: each filter the grid holds is turned into ``where`` filters the API applies
(:func:`to_where`), and back into the grid's filter model when a bookmarked page opens (:func:`to_model`).
Only what the API can do is offered: *contains* on text, *greater/less than* (and a range) on numbers and
times, either on variables and results (their types are not guessed, as in ProActive).
"""

from __future__ import annotations

import math
from typing import Any

#: The job's columns (every other column is a value: ``variables.K``, ``results.T``, ``result_map.K``).
TEXT_COLUMNS = ("name", "owner", "project", "status")
NUMBER_COLUMNS = ("id", "duration")
TIME_COLUMNS = ("submitted_at", "started_at", "finished_at")
UNFILTERED_COLUMNS = ("issue",)

_COMPARISONS = {"greaterThan": ">", "lessThan": "<"}
_BY_SIGN = {sign: kind for kind, sign in _COMPARISONS.items()}
_IS_NUMBER = "v !== null && v !== '' && typeof v !== 'object' && isFinite(Number(v))"
#: Client-side checks of the value filters, the same as the API's: a value counts when it is a number.
_VALUE_OPTIONS: list[Any] = [
    "contains",
    *(
        {
            "displayKey": kind,
            "displayName": "Greater than" if sign == ">" else "Less than",
            ":predicate": f"([f], v) => {_IS_NUMBER} && Number(v) {sign} Number(f)",
        }
        for kind, sign in _COMPARISONS.items()
    ),
]
#: Epoch seconds against the day the date filter picked (local midnight), as AG Grid's comparator wants.
_TIME_COMPARATOR = "(day, seconds) => seconds == null ? -1 : Math.sign(seconds * 1000 - day.getTime())"


def column_filter(column: str) -> dict[str, Any]:
    """The AG Grid column definition keys giving ``column`` the filter the API can apply."""
    if column in UNFILTERED_COLUMNS:
        return {"filter": False}
    if column in TEXT_COLUMNS:
        return {"filter": "agTextColumnFilter", "filterParams": _params(["contains"])}
    if column in NUMBER_COLUMNS:
        options = ["greaterThan", "lessThan", "inRange"] + (["equals"] if column == "id" else [])
        return {"filter": "agNumberColumnFilter", "filterParams": _params(options)}
    if column in TIME_COLUMNS:
        params = _params(["greaterThan", "lessThan", "inRange"])
        return {"filter": "agDateColumnFilter", "filterParams": {**params, ":comparator": _TIME_COMPARATOR}}
    return {"filter": "agTextColumnFilter", "filterParams": _params(_VALUE_OPTIONS)}


def _params(options: list[Any]) -> dict[str, Any]:
    return {"filterOptions": options, "maxNumConditions": 1, "buttons": ["reset"]}


def to_where(model: dict[str, Any]) -> list[str]:
    """The API's ``where`` filters of AG Grid's filter model (what ``getFilterModel`` answers)."""
    where: list[str] = []
    for column, condition in model.items():
        where += _condition(column, condition)
    return where


def _condition(column: str, condition: dict[str, Any]) -> list[str]:
    kind = condition.get("type")
    if condition.get("filterType") == "date":
        low, high = _day(condition.get("dateFrom")), _day(condition.get("dateTo"))
    else:
        low, high = _text(condition.get("filter")), _text(condition.get("filterTo"))
    if not low:
        return []
    if kind == "contains":
        return [f"{column}~{low}"]
    if kind in _COMPARISONS:
        return [f"{column}{_COMPARISONS[kind]}{low}"]
    if kind == "inRange" and high:
        return [f"{column}>{low}", f"{column}<{high}"]
    if kind == "equals" and column == "id":
        number = float(low)
        return [f"id>{number - 0.5:g}", f"id<{number + 0.5:g}"] if math.isfinite(number) else []
    return []


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _day(value: Any) -> str:
    """AG Grid's ``"2026-12-01 00:00:00"`` as the API's ISO 8601 ``"2026-12-01T00:00:00"``."""
    return _text(value).replace(" ", "T")


def to_model(where: list[str]) -> dict[str, Any]:
    """The grid's filter model showing ``where`` (what :func:`to_where` made; anything else is left out)."""
    parsed: dict[str, list[tuple[str, str]]] = {}
    for text in where:
        at = min((i for i in (text.find(sign) for sign in "~<>") if i > 0), default=-1)
        if at > 0:
            parsed.setdefault(text[:at], []).append((text[at], text[at + 1 :]))
    return {column: model for column, found in parsed.items() if (model := _model(column, found))}


def _model(column: str, found: list[tuple[str, str]]) -> dict[str, Any] | None:
    signs = dict(found)
    if column in TIME_COLUMNS:
        filter_type, key, key_to = "date", "dateFrom", "dateTo"
        signs = {sign: value.replace("T", " ") for sign, value in signs.items()}
    elif column in NUMBER_COLUMNS:
        filter_type, key, key_to = "number", "filter", "filterTo"
    else:
        filter_type, key, key_to = "text", "filter", "filterTo"
    if "~" in signs:
        return {"filterType": filter_type, "type": "contains", key: signs["~"]}
    if ">" in signs and "<" in signs:
        if column == "id" and _is_one_id(signs[">"], signs["<"]):
            return {"filterType": "number", "type": "equals", "filter": _number(signs[">"]) + 0.5}
        low, high = _typed(filter_type, signs[">"]), _typed(filter_type, signs["<"])
        return {"filterType": filter_type, "type": "inRange", key: low, key_to: high}
    for sign, value in signs.items():
        return {"filterType": filter_type, "type": _BY_SIGN[sign], key: _typed(filter_type, value)}
    return None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _typed(filter_type: str, text: str) -> float | str:
    number = _number(text) if filter_type == "number" else math.nan
    return number if math.isfinite(number) else text


def _is_one_id(low: str, high: str) -> bool:
    return _number(high) - _number(low) == 1 and (_number(low) + 0.5).is_integer()

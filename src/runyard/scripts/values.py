"""How values produced by scripts leave the task process: JSON where possible, pickled results."""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: ``result_repr`` is cut to this many characters: it is for display only.
MAX_REPR = 2_000


def to_json_value(value: Any) -> Any:
    """``value`` if it is JSON (no NaN/Infinity), else ``str(value)``: variables are JSON values."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


def json_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key): to_json_value(value) for key, value in mapping.items()}


@dataclass(frozen=True)
class EncodedResult:
    """A task result as it travels: pickled for descendants, JSON and repr for everyone else."""

    pickled: bytes
    json_value: Any
    repr: str


def encode_result(value: Any) -> EncodedResult:
    """Encode a result; raises whatever ``pickle`` raises for a value that cannot be pickled."""
    pickled = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        json.dumps(value, allow_nan=False)
        json_value = value
    except (TypeError, ValueError):
        json_value = None
    text = repr(value)
    if len(text) > MAX_REPR:
        text = text[: MAX_REPR - 3] + "..."
    return EncodedResult(pickled, json_value, text)

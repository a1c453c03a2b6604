"""The ten parameter types of an App Engine task: their constraints, values and wire form.

A descriptor's ``type`` (short form ``integer``, or long form ``{id: integer, gt: 0}``) becomes a
:class:`ParameterType` with :func:`parse_type`. Each type

* validates a provisioned JSON value (:meth:`ParameterType.validate`): the errors are Cytomine's, code
  and message exactly as its ``provision.feature`` expects them; the value returned is normalized and
  JSON-storable (non-finite numbers are the strings ``nan``, ``inf``, ``-inf``);
* writes a value as the text of its input file (:meth:`ParameterType.text_of`: Jackson's ``asText()``,
  what Cytomine writes) and reads an output file's text back (:meth:`ParameterType.parse_text`: trimmed,
  parsed as the Java server does — ``Integer.parseInt``, ``Boolean.parseBoolean`` — then validated);
* describes itself as the ``type`` object of ``TaskInput``/``TaskOutput`` (:meth:`ParameterType.wire`).

Where runyard differs from Cytomine on purpose: ``datetime`` bounds mean what the descriptor reference
says (a value must be before ``before`` and after ``after``; upstream's comparison is inverted); a
``string`` must be a JSON string (upstream takes any node's text); array sizes are checked against each
bound that is set (upstream only when both are); geometry values may be WKT as well as GeoJSON (turned
into GeoJSON text).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from runyard.appengine.errors import REQUEST_VALIDATION, AppEngineError, parameter_error

# Cytomine's messages (ErrorDefinitions), all under APPE-internal-request-validation-error.
LT = "value must be less than defined constraint"
LEQ = "value must be less than or equal to defined constraint"
GT = "value must be greater than defined constraint"
GEQ = "value must be greater than or equal to define constraint"  # sic
NAN = "value cannot be nan"
INFINITY = "value cannot be infinity"
BEFORE = "date must be before the defined constraint"
AFTER = "date must be after the defined constraint"
INVALID_TYPE = "invalid parameter type"
NOT_MATCHING = "value does not match defined constraint."
GEOJSON_PARSE = "failed to parse the given GeoJSON object"
GEOJSON_INVALID = "invalid GeoJSON object"
GEOMETRY_TYPE = "unsupported geometry type"
GEOMETRY_SUBTYPE = "unsupported geometry subtype"
MISSING_RADIUS = "missing radius parameter"
INVALID_STRUCTURE = "invalid provision structure"
INVALID_STRUCTURE_CODE = "APPE-internal-invalid-structure"

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
#: Bounds on one value: text (strings, GeoJSON), array items in all, array nesting.
MAX_TEXT = 16 * 1024 * 1024
MAX_ITEMS = 100_000
MAX_DEPTH = 8
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
IMAGE_FORMATS = ("dicom", "jpeg", "png", "tiff", "wsidicom")
FILE_FORMATS = ("binary", "text")

_DECIMAL = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[dDfF]?")
_NON_FINITE = {"nan": "nan", "inf": "inf", "+inf": "inf", "-inf": "-inf", "infinity": "inf"}
_NON_FINITE |= {"+infinity": "inf", "-infinity": "-inf"}
_INSTANT = re.compile(
    r"[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def _error(parameter: str, message: str) -> AppEngineError:
    return parameter_error(parameter, message, REQUEST_VALIDATION)


def _json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(value: float, parameter: str, gt: Any, geq: Any, lt: Any, leq: Any) -> None:
    if gt is not None and not value > gt:
        raise _error(parameter, GT)
    if geq is not None and not value >= geq:
        raise _error(parameter, GEQ)
    if lt is not None and not value < lt:
        raise _error(parameter, LT)
    if leq is not None and not value <= leq:
        raise _error(parameter, LEQ)


def _bounds(**bounds: Any) -> dict[str, Any]:
    """The wire form of constraints: camelCase already given, nulls left out."""
    return {k: v for k, v in bounds.items() if v is not None}


class ParameterType:
    """One type of parameter, with its constraints (frozen)."""

    id: ClassVar[str]
    wire_type: ClassVar[str]

    def validate(self, value: Any, parameter: str) -> Any:
        """``value`` (a provisioned JSON value) normalized, or an :class:`AppEngineError` (400)."""
        raise NotImplementedError

    def wire(self) -> dict[str, Any]:
        """The ``type`` object of ``TaskInput``/``TaskOutput``: ``id`` and the constraints, camelCase."""
        return {"id": self.id}

    def text_of(self, value: Any) -> str:
        """A validated value as the text of its input file (Jackson's ``asText()``, no newline)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def parse_text(self, text: str, parameter: str) -> Any:
        """The validated value of an output file's text (trimmed first)."""
        return self.validate(text.strip(), parameter)

    @property
    def binary(self) -> bool:
        """Whether values are files (``file``, ``image``) rather than JSON values."""
        return False


@dataclass(frozen=True)
class BooleanType(ParameterType):
    id: ClassVar[str] = "boolean"
    wire_type: ClassVar[str] = "BOOLEAN"

    def validate(self, value: Any, parameter: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _error(parameter, INVALID_TYPE)

    def parse_text(self, text: str, parameter: str) -> bool:
        return text.strip().lower() == "true"  # Boolean.parseBoolean: anything else is false


@dataclass(frozen=True)
class IntegerType(ParameterType):
    """A 32-bit integer; JSON numbers with no fraction and decimal strings (``"5"``) are taken."""

    id: ClassVar[str] = "integer"
    wire_type: ClassVar[str] = "INTEGER"
    gt: int | float | None = None
    geq: int | float | None = None
    lt: int | float | None = None
    leq: int | float | None = None

    def validate(self, value: Any, parameter: str) -> int:
        if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            value = int(value.strip())
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not INT_MIN <= value <= INT_MAX:
            raise _error(parameter, INVALID_TYPE)
        _compare(value, parameter, self.gt, self.geq, self.lt, self.leq)
        return value

    def parse_text(self, text: str, parameter: str) -> int:
        text = text.strip()
        if not _DECIMAL.fullmatch(text):  # Integer.parseInt: decimal only
            raise _error(parameter, INVALID_TYPE)
        return self.validate(int(text), parameter)

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, **_bounds(gt=self.gt, lt=self.lt, geq=self.geq, leq=self.leq)}


def _number(value: Any) -> float | int | str | None:
    """A JSON number, or a number's text (Java's forms, ``nan``/``inf``/``-inf``), as a value; None if
    it is neither."""
    if _json_number(value):
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        return None
    text = value.strip()
    special = _NON_FINITE.get(text.lower())
    if special is not None:
        return special
    if _DECIMAL.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text.rstrip("dDfF"))
    return None


@dataclass(frozen=True)
class NumberType(ParameterType):
    """A double; ``nan`` and infinities only when allowed (kept as the strings ``nan``, ``inf``,
    ``-inf``)."""

    id: ClassVar[str] = "number"
    wire_type: ClassVar[str] = "NUMBER"
    gt: float | None = None
    geq: float | None = None
    lt: float | None = None
    leq: float | None = None
    infinity_allowed: bool = False
    nan_allowed: bool = False

    def validate(self, value: Any, parameter: str) -> float | int | str:
        number = _number(value)
        if number is None:
            raise _error(parameter, INVALID_TYPE)
        as_float = float(number)
        if math.isnan(as_float):
            if not self.nan_allowed:
                raise _error(parameter, NAN)
            return "nan"
        if math.isinf(as_float):
            if not self.infinity_allowed:
                raise _error(parameter, INFINITY)
            return "inf" if as_float > 0 else "-inf"
        _compare(as_float, parameter, self.gt, self.geq, self.lt, self.leq)
        return number

    def text_of(self, value: Any) -> str:
        return repr(value) if isinstance(value, float) else str(value)

    def wire(self) -> dict[str, Any]:
        bounds = _bounds(gt=self.gt, geq=self.geq, lt=self.lt, leq=self.leq)
        return {
            "id": self.id,
            **bounds,
            "infinityAllowed": self.infinity_allowed,
            "nanAllowed": self.nan_allowed,
        }


def _java_length(text: str) -> int:
    """A string's length as Java counts it (UTF-16 code units)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


@dataclass(frozen=True)
class StringType(ParameterType):
    """A string; upstream answers a too-short one with the GT message and a too-long one with GEQ's."""

    id: ClassVar[str] = "string"
    wire_type: ClassVar[str] = "STRING"
    min_length: int = 0
    max_length: int | None = None

    def validate(self, value: Any, parameter: str) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _error(parameter, INVALID_TYPE)
        length = _java_length(value)
        if length < self.min_length:
            raise _error(parameter, GT)
        if self.max_length is not None and length > self.max_length:
            raise _error(parameter, GEQ)
        return value

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, **_bounds(minLength=self.min_length, maxLength=self.max_length)}


@dataclass(frozen=True)
class EnumerationType(ParameterType):
    id: ClassVar[str] = "enumeration"
    wire_type: ClassVar[str] = "ENUMERATION"
    values: tuple[str, ...] = ()

    def validate(self, value: Any, parameter: str) -> str:
        if not isinstance(value, str):
            raise _error(parameter, INVALID_TYPE)
        if value not in self.values:
            raise _error(parameter, NOT_MATCHING)
        return value

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "values": list(self.values)}


def parse_instant(text: str) -> datetime | None:
    """An ISO-8601 instant with its zone (``Z`` or an offset), as ``Instant.parse`` reads it; None if not."""
    if not _INSTANT.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class DatetimeType(ParameterType):
    """An instant, kept as the text given; ``before``/``after`` are exclusive bounds."""

    id: ClassVar[str] = "datetime"
    wire_type: ClassVar[str] = "DATETIME"
    before: str | None = None
    after: str | None = None

    def validate(self, value: Any, parameter: str) -> str:
        instant = parse_instant(value) if isinstance(value, str) else None
        if instant is None:
            raise _error(parameter, INVALID_TYPE)
        before = parse_instant(self.before) if self.before else None
        after = parse_instant(self.after) if self.after else None
        if before is not None and not instant < before:
            raise _error(parameter, BEFORE)
        if after is not None and not instant > after:
            raise _error(parameter, AFTER)
        return value  # type: ignore[no-any-return]

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, **_bounds(before=self.before, after=self.after)}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _geojson_object(value: Any, parameter: str) -> tuple[dict[str, Any], str]:
    """The GeoJSON object of a value (object, GeoJSON text or WKT) and its text form."""
    if isinstance(value, Mapping):
        try:
            return dict(value), json.dumps(value, allow_nan=False)
        except (ValueError, TypeError, RecursionError):
            raise _error(parameter, GEOJSON_PARSE) from None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _error(parameter, GEOJSON_PARSE)
    try:
        parsed = json.loads(value, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        parsed = None
        try:
            from shapely import wkt
            from shapely.geometry import mapping

            parsed = dict(mapping(wkt.loads(value)))
            value = json.dumps(parsed)
        except Exception:  # shapely raises its own errors, and others on odd input
            raise _error(parameter, GEOJSON_PARSE) from None
    if not isinstance(parsed, dict):
        raise _error(parameter, GEOJSON_PARSE)
    return parsed, value


def check_geometry(geometry: Mapping[str, Any], parameter: str) -> None:
    """One GeoJSON geometry of an allowed kind, valid as JTS says (shapely's ``is_valid``)."""
    from shapely.geometry import shape

    kind = geometry.get("type")
    if kind not in GEOMETRIES:
        raise _error(parameter, GEOMETRY_TYPE)
    try:
        valid = shape(dict(geometry)).is_valid
    except Exception:  # malformed coordinates: shapely raises several kinds
        raise _error(parameter, GEOJSON_INVALID) from None
    if not valid:
        raise _error(parameter, GEOJSON_INVALID)


@dataclass(frozen=True)
class GeometryType(ParameterType):
    """One GeoJSON geometry or Feature (``subType`` Circle with a ``radius``, or Rectangle); the value
    kept is GeoJSON text (a string given is kept as given)."""

    id: ClassVar[str] = "geometry"
    wire_type: ClassVar[str] = "GEOMETRY"

    def validate(self, value: Any, parameter: str) -> str:
        geojson, text = _geojson_object(value, parameter)
        if geojson.get("type") == "Feature":
            geometry, properties = geojson.get("geometry"), geojson.get("properties") or {}
            if not isinstance(geometry, Mapping) or not isinstance(properties, Mapping):
                raise _error(parameter, GEOJSON_INVALID)
            subtype = properties.get("subType")
            if subtype is not None:
                if subtype not in ("Circle", "Rectangle"):
                    raise _error(parameter, GEOMETRY_SUBTYPE)
                if subtype == "Circle" and geometry.get("type") != "Point":
                    raise _error(parameter, GEOMETRY_SUBTYPE)
                if subtype == "Rectangle" and geometry.get("type") != "Polygon":
                    raise _error(parameter, GEOMETRY_SUBTYPE)
                radius = properties.get("radius")
                if subtype == "Circle" and not (_json_number(radius) and radius > 0):  # type: ignore[operator]
                    raise _error(parameter, MISSING_RADIUS)
            check_geometry(geometry, parameter)
        else:
            check_geometry(geojson, parameter)
        return text

    def items_of(self, value: Any, parameter: str) -> list[Any] | None:
        """The geometries of a FeatureCollection or GeometryCollection (an array of geometries may be
        provisioned as one); None for anything else."""
        try:
            geojson, _ = _geojson_object(value, parameter)
        except AppEngineError:
            return None
        if geojson.get("type") == "FeatureCollection" and isinstance(geojson.get("features"), list):
            return list(geojson["features"])
        if geojson.get("type") == "GeometryCollection" and isinstance(geojson.get("geometries"), list):
            return list(geojson["geometries"])
        return None


@dataclass(frozen=True)
class FileType(ParameterType):
    """A file: provisioned as bytes (multipart), or in JSON as the absolute path of a dataset file."""

    id: ClassVar[str] = "file"
    wire_type: ClassVar[str] = "FILE"
    max_file_size: int | None = None
    formats: tuple[str, ...] | None = None

    @property
    def binary(self) -> bool:
        return True

    def validate(self, value: Any, parameter: str) -> str:
        if not isinstance(value, str) or not value.startswith("/") or "\0" in value or len(value) > 4096:
            raise _error(parameter, INVALID_TYPE)
        if ".." in value.split("/"):
            raise _error(parameter, INVALID_TYPE)
        return value

    def parse_text(self, text: str, parameter: str) -> Any:
        raise _error(parameter, INVALID_TYPE)  # files are read by files.read_output

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, **_bounds(formats=list(self.formats) if self.formats else None)}


@dataclass(frozen=True)
class ImageType(FileType):
    """An image file in one of ``formats`` (all five by default), within size and dimension bounds."""

    id: ClassVar[str] = "image"
    wire_type: ClassVar[str] = "IMAGE"
    max_width: int | None = None
    max_height: int | None = None

    @property
    def allowed_formats(self) -> tuple[str, ...]:
        return self.formats or IMAGE_FORMATS

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "formats": list(self.allowed_formats)}


@dataclass(frozen=True)
class ArrayType(ParameterType):
    """A list of items of ``subtype``; provisioned as ``[{index, value}, ...]`` (any order, each index
    once, 0..N-1) or as a plain JSON list; normalized to a plain list in index order."""

    id: ClassVar[str] = "array"
    wire_type: ClassVar[str] = "ARRAY"
    subtype: ParameterType = field(default_factory=IntegerType)
    min_size: int | None = None
    max_size: int | None = None

    def validate(self, value: Any, parameter: str) -> list[Any]:
        return self._validate(value, parameter, [0], 0)

    def _validate(self, value: Any, parameter: str, count: list[int], depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise parameter_error(parameter, INVALID_STRUCTURE, INVALID_STRUCTURE_CODE)
        if isinstance(self.subtype, GeometryType) and not isinstance(value, list):
            items = self.subtype.items_of(value, parameter)
            if items is not None:
                value = items
        if not isinstance(value, list):
            raise parameter_error(parameter, INVALID_STRUCTURE, INVALID_STRUCTURE_CODE)
        count[0] += len(value)
        if count[0] > MAX_ITEMS:
            raise parameter_error(parameter, INVALID_STRUCTURE, INVALID_STRUCTURE_CODE)
        items = self.ordered(value, parameter)
        self.check_size(len(items), parameter)
        if isinstance(self.subtype, ArrayType):
            return [self.subtype._validate(item, parameter, count, depth + 1) for item in items]
        return [self.subtype.validate(item, parameter) for item in items]

    def ordered(self, value: Sequence[Any], parameter: str) -> list[Any]:
        """The items of a provisioned list in index order (``{index, value}`` items or plain values)."""
        indexed = [isinstance(v, Mapping) and "index" in v and "value" in v for v in value]
        if not any(indexed):
            return list(value)
        if not all(indexed):
            raise parameter_error(parameter, INVALID_STRUCTURE, INVALID_STRUCTURE_CODE)
        slots: list[Any] = [None] * len(value)
        seen: set[int] = set()
        for item in value:
            index = item["index"]
            if isinstance(index, str) and index.isdigit():
                index = int(index)
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(value):
                raise parameter_error(parameter, INVALID_STRUCTURE, INVALID_STRUCTURE_CODE)
            if index in seen:
                raise parameter_error(parameter, INVALID_STRUCTURE, INVALID_STRUCTURE_CODE)
            seen.add(index)
            slots[index] = item["value"]
        return slots

    def check_size(self, size: int, parameter: str) -> None:
        if self.min_size is not None and size < self.min_size:
            raise _error(parameter, NOT_MATCHING)
        if self.max_size is not None and size > self.max_size:
            raise _error(parameter, NOT_MATCHING)

    def leaf(self) -> ParameterType:
        """The type of the innermost items."""
        return self.subtype.leaf() if isinstance(self.subtype, ArrayType) else self.subtype

    def text_of(self, value: Any) -> str:
        raise TypeError("an array is a folder: see files.write_input")

    def parse_text(self, text: str, parameter: str) -> Any:
        raise _error(parameter, INVALID_TYPE)

    def wire(self) -> dict[str, Any]:
        bounds = _bounds(minSize=self.min_size, maxSize=self.max_size)
        return {"id": self.id, **bounds, "subType": self.subtype.wire()}


SHORT_FORMS: dict[str, type[ParameterType]] = {
    t.id: t
    for t in (
        BooleanType,
        IntegerType,
        NumberType,
        StringType,
        DatetimeType,
        GeometryType,
        FileType,
        ImageType,
    )
}


def _bound(raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if not _json_number(value):
        raise ValueError(f"{key} must be a number")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def parse_type(raw: str | Mapping[str, Any]) -> ParameterType:
    """The type of a descriptor's ``type`` (short or long form). Raises ``ValueError`` on a type the
    schema would refuse (the descriptor is validated before; this guards direct callers)."""
    from runyard.appengine.descriptor import parse_memory

    if isinstance(raw, str):
        if raw not in SHORT_FORMS:
            raise ValueError(f"unknown type {raw!r} (enumeration and array need the long form)")
        return SHORT_FORMS[raw]()
    if not isinstance(raw, Mapping):
        raise ValueError("a type is a string or a mapping")
    kind = raw.get("id")
    bounds = {k: _bound(raw, k) for k in ("gt", "geq", "lt", "leq")}
    if kind == "boolean":
        return BooleanType()
    if kind == "integer":
        return IntegerType(**bounds)
    if kind == "number":
        infinity, nan = raw.get("infinity_allowed", False), raw.get("nan_allowed", False)
        return NumberType(**bounds, infinity_allowed=bool(infinity), nan_allowed=bool(nan))
    if kind == "string":
        return StringType(int(raw.get("min_length") or 0), _int_or_none(raw.get("max_length")))
    if kind == "enumeration":
        values = raw.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ValueError("an enumeration needs values, a list of strings")
        return EnumerationType(tuple(values))
    if kind == "datetime":
        return DatetimeType(raw.get("before"), raw.get("after"))
    if kind == "geometry":
        return GeometryType()
    if kind in ("file", "image"):
        size = raw.get("max_file_size")
        max_size = parse_memory(size) if isinstance(size, str) else None
        formats = raw.get("formats")
        formats = tuple(formats) if isinstance(formats, list) and formats else None
        if kind == "file":
            return FileType(max_size, formats)
        width, height = _int_or_none(raw.get("max_width")), _int_or_none(raw.get("max_height"))
        return ImageType(max_size, formats, width, height)
    if kind == "array":
        subtype = raw.get("subtype")
        if not isinstance(subtype, str | Mapping):
            raise ValueError("an array needs a subtype")
        return ArrayType(
            parse_type(subtype), _int_or_none(raw.get("min_size")), _int_or_none(raw.get("max_size"))
        )
    raise ValueError(f"unknown type {kind!r}")


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if not _json_number(value) or not float(value).is_integer():
        raise ValueError(f"{value!r} is not an integer")
    return int(value)

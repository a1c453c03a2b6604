"""Variable models (``PA:Integer[1,10]``, ``PA:List(a,b)``...): parsing, and checking values against them.

A model is ``PA:KIND``, optionally followed by ``(arguments)``, a range ``[min,max]`` and a trailing ``?``
(an empty value is then accepted). ``PA:`` and the kind are case-insensitive. Text that does not start
with ``PA:`` is not a model ProActive knows and is accepted without check (real workflows hold
``model="String"``); text starting with ``$`` is a dynamic model, the value of another variable, which
``check_variables`` substitutes before checking. See docs/variables.md.

Problems name the variable in ``Problem.field`` as ``variable 'NAME'`` (see ``variable_field``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from croniter import croniter

from runyard.errors import Problem, VariableValueError
from runyard.model.substitution import substitute
from runyard.model.variables import Variable

PREFIX = "PA:"


class ModelKind(StrEnum):
    """The kinds of model; ``UNCHECKED`` and ``DYNAMIC`` are not ``PA:`` kinds (see module doc)."""

    BOOLEAN = "BOOLEAN"
    SHORT = "SHORT"
    INTEGER = "INTEGER"
    LONG = "LONG"
    FLOAT = "FLOAT"
    DOUBLE = "DOUBLE"
    STRING = "STRING"
    NOT_EMPTY_STRING = "NOT_EMPTY_STRING"
    LIST = "LIST"
    REGEXP = "REGEXP"
    URL = "URL"
    URI = "URI"
    DATETIME = "DATETIME"
    HIDDEN = "HIDDEN"
    CREDENTIAL = "CREDENTIAL"
    JSON = "JSON"
    CATALOG_OBJECT = "CATALOG_OBJECT"
    CRON = "CRON"
    MODEL_FROM_URL = "MODEL_FROM_URL"
    SPEL = "SPEL"
    SPEL2 = "SPEL2"
    USER_FILE = "USER_FILE"
    GLOBAL_FILE = "GLOBAL_FILE"
    USER_FOLDER = "USER_FOLDER"
    GLOBAL_FOLDER = "GLOBAL_FOLDER"
    UNCHECKED = "UNCHECKED"
    DYNAMIC = "DYNAMIC"


#: Java's bounds for the integral kinds.
INTEGRAL_RANGES: dict[ModelKind, tuple[int, int]] = {
    ModelKind.SHORT: (-(2**15), 2**15 - 1),
    ModelKind.INTEGER: (-(2**31), 2**31 - 1),
    ModelKind.LONG: (-(2**63), 2**63 - 1),
}
_DECIMAL_KINDS = frozenset({ModelKind.FLOAT, ModelKind.DOUBLE})
_RANGED_KINDS = frozenset(INTEGRAL_RANGES) | _DECIMAL_KINDS | {ModelKind.DATETIME}
#: Kinds whose value runyard cannot check (server-side expressions, remote models, data-space files):
#: their arguments are kept as written and any value is accepted.
UNCHECKED_KINDS = frozenset(
    {
        ModelKind.MODEL_FROM_URL,
        ModelKind.SPEL,
        ModelKind.SPEL2,
        ModelKind.USER_FILE,
        ModelKind.GLOBAL_FILE,
        ModelKind.USER_FOLDER,
        ModelKind.GLOBAL_FOLDER,
        ModelKind.UNCHECKED,
        ModelKind.DYNAMIC,
    }
)
_ARGUMENT_REQUIRED = frozenset(
    {
        ModelKind.LIST,
        ModelKind.REGEXP,
        ModelKind.DATETIME,
        ModelKind.MODEL_FROM_URL,
        ModelKind.SPEL,
        ModelKind.SPEL2,
    }
)
_CATALOG_OBJECT_ARGUMENTS = ("kind", "contentType", "bucketName", "objectName")

Bound = int | float | datetime


@dataclass(frozen=True)
class VariableModel:
    """A parsed model.

    ``arguments`` are what stands between the parentheses: the choices of a LIST, the pattern of a
    REGEXP, the Java date format of a DATETIME, the (up to four) filters of a CATALOG_OBJECT, the
    expression or URL of SPEL / SPEL2 / MODEL_FROM_URL. ``minimum`` and ``maximum`` are the range bounds,
    already converted (``int``, ``float`` or ``datetime``); ``None`` when absent.
    """

    kind: ModelKind
    arguments: tuple[str, ...] = ()
    minimum: Bound | None = None
    maximum: Bound | None = None
    optional: bool = False
    raw: str = ""

    @property
    def checked(self) -> bool:
        """Whether values are checked at all (``False`` for the kinds accepted without check)."""
        return self.kind not in UNCHECKED_KINDS

    @property
    def choices(self) -> tuple[str, ...]:
        """The accepted values of a LIST model (empty for other kinds)."""
        return self.arguments if self.kind is ModelKind.LIST else ()


def variable_field(name: str) -> str:
    """The ``Problem.field`` naming variable ``name``."""
    return f"variable '{name}'"


def field_variable(field: str | None) -> str | None:
    """The variable a ``Problem.field`` made by :func:`variable_field` names, else ``None``."""
    if field is not None and field.startswith("variable '") and field.endswith("'"):
        return field[len("variable '") : -1]
    return None


_PA_KINDS = frozenset(kind.value for kind in ModelKind) - {ModelKind.UNCHECKED, ModelKind.DYNAMIC}
_MODEL = re.compile(r"(?P<kind>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>.*)", re.DOTALL)


def parse_model(text: str) -> VariableModel:
    """Parse a model string; raises ``VariableValueError`` if it is a malformed ``PA:`` model."""
    raw = text
    text = text.strip()
    if text.startswith("$"):
        return VariableModel(ModelKind.DYNAMIC, raw=raw)
    if not text.upper().startswith(PREFIX):
        return VariableModel(ModelKind.UNCHECKED, raw=raw)
    match = _MODEL.fullmatch(text[len(PREFIX) :])
    if match is None:
        raise _malformed(raw, "no kind after 'PA:'")
    if match["kind"].upper() not in _PA_KINDS:
        raise _malformed(raw, f"unknown kind '{match['kind']}'")
    kind = ModelKind(match["kind"].upper())
    rest = match["rest"]
    optional = rest.endswith("?")
    if optional:
        if kind is ModelKind.NOT_EMPTY_STRING:
            raise _malformed(raw, "NOT_EMPTY_STRING cannot be optional")
        rest = rest[:-1]
    minimum: Bound | None = None
    maximum: Bound | None = None
    range_text: str | None = None
    if kind in _RANGED_KINDS and rest.endswith("]"):
        opening = rest.rfind("[")
        if opening < 0:
            raise _malformed(raw, "']' without '['")
        rest, range_text = rest[:opening], rest[opening + 1 : -1]
    content: str | None = None
    if rest:
        if not (rest.startswith("(") and rest.endswith(")")):
            raise _malformed(raw, f"unexpected '{rest}' after the kind {kind}")
        content = rest[1:-1]
    arguments = _arguments(kind, content, raw)
    if range_text is not None:
        minimum, maximum = _range(kind, arguments, range_text, raw)
    return VariableModel(kind, arguments, minimum, maximum, optional, raw)


def check_value(
    name: str, model: str, value: str, *, credentials: Collection[str] | None = None, hidden: bool = False
) -> Problem | None:
    """The problem with ``value`` for variable ``name`` of model ``model``, or ``None`` if it fits.

    ``credentials`` are the names of the user's third-party credentials, which a CREDENTIAL value must be
    one of (not checked when ``None``). A ``hidden`` value is not shown in the message. A malformed model
    is a problem too.
    """
    try:
        parsed = parse_model(model)
    except VariableValueError as error:
        return Problem(str(error), field=variable_field(name))
    expected = mismatch(parsed, value, credentials=credentials)
    if expected is None:
        return None
    shown = "the hidden value" if hidden else f"'{value}'"
    return Problem(f"{shown} {expected} (model {model.strip()})", field=variable_field(name))


def check_variables(
    declared: Sequence[Variable],
    values: Mapping[str, str],
    *,
    credentials: Collection[str] | None = None,
    task: str | None = None,
) -> list[Problem]:
    """Every problem of the declared variables, each with its value in ``values`` (else its own).

    Models are substituted against the effective values first, as ProActive does, which is what makes
    a dynamic model (``model="$OTHER_VAR"``) work. ``task`` goes into each problem for task variables.
    """
    effective = {variable.name: values.get(variable.name, variable.value) for variable in declared}
    lookup = {**values, **effective}
    problems = []
    for variable in declared:
        if not variable.model or not variable.model.strip():
            continue
        model = substitute(variable.model, lookup)
        problem = check_value(
            variable.name, model, effective[variable.name], credentials=credentials, hidden=variable.hidden
        )
        if problem is not None:
            problems.append(Problem(problem.message, task=task, field=problem.field))
    return problems


def mismatch(model: VariableModel, value: str, *, credentials: Collection[str] | None = None) -> str | None:
    """What ``value`` should have been to fit ``model`` (e.g. ``is not an integer``), or ``None``."""
    if model.optional and value == "":
        return None
    kind = model.kind
    if kind in INTEGRAL_RANGES or kind in _DECIMAL_KINDS or kind is ModelKind.DATETIME:
        try:
            converted = _convert(kind, model.arguments, value)
        except ValueError as error:
            return str(error)
        return _out_of_range(model, converted)
    if kind is ModelKind.CREDENTIAL and credentials is not None and value not in credentials:
        return "is not the name of one of your third-party credentials"
    check = _CHECKS.get(kind)
    return None if check is None else check(model, value)


# --- conversions -------------------------------------------------------------------------------------

_INTEGRAL = re.compile(r"[+-]?[0-9]+")
# Java's Double.parseDouble: optional sign, NaN, Infinity, decimal with exponent, f/d suffix, spaces around.
_DECIMAL = re.compile(r"\s*[+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)\s*")
_NUMBER_NAMES = {
    ModelKind.SHORT: "a short integer",
    ModelKind.INTEGER: "an integer",
    ModelKind.LONG: "a long integer",
    ModelKind.FLOAT: "a float",
    ModelKind.DOUBLE: "a double",
}


def _convert(kind: ModelKind, arguments: tuple[str, ...], text: str) -> Bound:
    """``text`` as a value of ``kind``; raises ``ValueError`` saying what was expected."""
    if kind is ModelKind.DATETIME:
        java_format = arguments[0]
        try:
            return datetime.strptime(text, _strptime_format(java_format))
        except ValueError:
            lenient = _lenient_date(java_format, text)
            if lenient is None:
                raise ValueError(f"is not a date matching '{java_format}'") from None
            return lenient
    if kind in INTEGRAL_RANGES:
        if not _INTEGRAL.fullmatch(text):
            raise ValueError(f"is not {_NUMBER_NAMES[kind]}")
        number = int(text)
        low, high = INTEGRAL_RANGES[kind]
        if not low <= number <= high:
            raise ValueError(f"is not {_NUMBER_NAMES[kind]} (outside [{low}, {high}])")
        return number
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"is not {_NUMBER_NAMES[kind]}")
    return float(text.strip().rstrip("fFdD").replace("Infinity", "inf"))


def _out_of_range(model: VariableModel, value: Bound) -> str | None:
    low, high = model.minimum, model.maximum
    too_low = low is not None and value < low  # type: ignore[operator]
    too_high = high is not None and value > high  # type: ignore[operator]
    if not (too_low or too_high):
        return None
    if low is not None and high is not None:
        return f"is not in [{_shown(model, low)}, {_shown(model, high)}]"
    if too_low:
        return f"is below the minimum {_shown(model, low)}"
    return f"is above the maximum {_shown(model, high)}"


def _shown(model: VariableModel, bound: Bound | None) -> str:
    if isinstance(bound, datetime):
        return bound.strftime(_strptime_format(model.arguments[0]))
    return str(bound)


# Java SimpleDateFormat letters runyard supports, by letter: (format for counts 1-3, format for 4+).
_DATE_LETTERS = {
    "y": ("%Y", "%Y"),
    "M": ("%m", "%B"),
    "d": ("%d", "%d"),
    "H": ("%H", "%H"),
    "h": ("%I", "%I"),
    "a": ("%p", "%p"),
    "m": ("%M", "%M"),
    "s": ("%S", "%S"),
    "S": ("%f", "%f"),
    "E": ("%a", "%A"),
    "D": ("%j", "%j"),
    "Z": ("%z", "%z"),
    "X": ("%z", "%z"),
    "z": ("%Z", "%Z"),
}


def _date_parts(java_format: str) -> Iterator[tuple[str, int]]:
    """The pattern letters of a Java date format as ``(letter, count)``, literal text as ``(text, 0)``."""
    pos = 0
    while pos < len(java_format):
        char = java_format[pos]
        if char == "'":
            if java_format.startswith("''", pos):
                yield "'", 0
                pos += 2
                continue
            pos += 1  # quoted text, where '' stands for one quote
            while True:
                if pos >= len(java_format):
                    raise ValueError(f"unclosed quote in date format '{java_format}'")
                if java_format.startswith("''", pos):
                    yield "'", 0
                    pos += 2
                elif java_format[pos] == "'":
                    pos += 1
                    break
                else:
                    yield java_format[pos], 0
                    pos += 1
            continue
        count = 1
        while pos + count < len(java_format) and java_format[pos + count] == char:
            count += 1
        pos += count
        if char in _DATE_LETTERS:
            yield char, count
        elif char.isascii() and char.isalpha():
            raise ValueError(f"date format letter '{char}' is not supported (in '{java_format}')")
        else:
            yield char * count, 0


def _strptime_format(java_format: str) -> str:
    """Translate a Java SimpleDateFormat pattern to a ``strptime`` format; ``ValueError`` if unsupported."""
    out: list[str] = []
    for part, count in _date_parts(java_format):
        if not count:
            out.append(part.replace("%", "%%"))
        elif part == "y" and count == 2:
            out.append("%y")
        elif part == "M" and count == 3:
            out.append("%b")
        else:
            short, long = _DATE_LETTERS[part]
            out.append(short if count < 4 else long)
    return "".join(out)


#: The numeric fields a lenient date may overflow, as ``timedelta`` keywords (days counted from 1).
_LENIENT_FIELDS = {"d": "days", "H": "hours", "m": "minutes", "s": "seconds", "S": "milliseconds"}


def _lenient_date(java_format: str, text: str) -> datetime | None:
    """``text`` read as Java's lenient ``SimpleDateFormat`` (ProActive's default) reads it: numeric
    fields may overflow and roll over (``0000-00-00 00:00`` is the last day of November, 2 BC).
    A date before year 1 or after 9999 is clamped to Python's ``datetime.min``/``max``; ``None``
    when the format has a non-numeric field or ``text`` does not have the format's shape."""
    pattern, letters = [], []
    for part, count in _date_parts(java_format):
        if not count:
            pattern.append(re.escape(part))
        elif part in _LENIENT_FIELDS or part == "y" or (part == "M" and count < 3):
            pattern.append(r"\s*([+-]?[0-9]+)")
            letters.append(part)
        else:
            return None
    match = re.fullmatch("".join(pattern), text)
    if match is None or "y" not in letters:
        return None
    fields = dict(zip(letters, (int(g) for g in match.groups()), strict=True))
    year, month = divmod(fields["y"] * 12 + fields.get("M", 1) - 1, 12)
    if not 1 <= year <= 9999:
        return datetime.min if year < 1 else datetime.max
    offsets = {_LENIENT_FIELDS[k]: v for k, v in fields.items() if k in _LENIENT_FIELDS}
    offsets["days"] = offsets.get("days", 1) - 1
    try:
        return datetime(year, month + 1, 1) + timedelta(**offsets)
    except OverflowError:
        return datetime.min if year < 5000 else datetime.max


# --- model parsing -----------------------------------------------------------------------------------


def _malformed(raw: str, reason: str) -> VariableValueError:
    return VariableValueError(f"malformed model '{raw.strip()}': {reason}")


def _arguments(kind: ModelKind, content: str | None, raw: str) -> tuple[str, ...]:
    if content is None:
        if kind in _ARGUMENT_REQUIRED:
            raise _malformed(raw, f"{kind} needs arguments between parentheses")
        return ()
    if kind in UNCHECKED_KINDS or kind is ModelKind.REGEXP:
        if kind is ModelKind.REGEXP:
            try:
                re.compile(content)
            except re.error as error:
                raise _malformed(raw, f"invalid regular expression: {error}") from None
        return (content,)
    if kind is ModelKind.DATETIME:
        try:
            _strptime_format(content)
        except ValueError as error:
            raise _malformed(raw, str(error)) from None
        return (content,)
    if kind is ModelKind.LIST:
        choices = tuple(choice.strip() for choice in content.split(","))
        duplicates = sorted({choice for choice in choices if choices.count(choice) > 1})
        if duplicates:
            raise _malformed(raw, f"duplicate choice {', '.join(duplicates)}")
        return choices
    if kind is ModelKind.CATALOG_OBJECT:
        filters = tuple(part.strip() for part in content.split(","))
        if len(filters) > len(_CATALOG_OBJECT_ARGUMENTS):
            raise _malformed(raw, f"CATALOG_OBJECT takes at most {', '.join(_CATALOG_OBJECT_ARGUMENTS)}")
        return filters
    raise _malformed(raw, f"{kind} takes no arguments")


def _range(
    kind: ModelKind, arguments: tuple[str, ...], text: str, raw: str
) -> tuple[Bound | None, Bound | None]:
    """Bounds of ``[min,max]``, ``[min]`` (at least), ``[min,]`` or ``[,max]``."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 2 or not any(parts):
        raise _malformed(raw, f"range '[{text}]' should be [min,max], [min], [min,] or [,max]")
    bounds: list[Bound | None] = []
    for part in parts:
        try:
            bounds.append(_convert(kind, arguments, part) if part else None)
        except ValueError as error:
            raise _malformed(raw, f"range bound '{part}' {error}") from None
    low, high = bounds[0], bounds[1] if len(bounds) == 2 else None
    if low is not None and high is not None and low > high:  # type: ignore[operator]
        raise _malformed(raw, f"range minimum {parts[0]} is above its maximum {parts[1]}")
    return low, high


# --- value checks for the kinds without a range ------------------------------------------------------

_BOOLEANS = frozenset({"true", "false", "0", "1"})
#: The protocols java.net.URL knows out of the box.
_URL_SCHEMES = frozenset({"http", "https", "ftp", "file", "jar", "mailto", "netdoc"})
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_URI_FORBIDDEN = re.compile(r"[\s\"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})")
# bucketName/objectName[/revision], revision being a 13-digit commit time, as ProActive checks it.
_CATALOG_OBJECT_VALUE = re.compile(r"[^/]+/[^/]+(/[0-9]{13})?")


def _check_boolean(model: VariableModel, value: str) -> str | None:
    return None if value.lower() in _BOOLEANS else "is not a boolean (true, false, 0 or 1)"


def _check_not_empty(model: VariableModel, value: str) -> str | None:
    return None if value.strip() else "is empty (a non-empty text is expected)"


def _check_list(model: VariableModel, value: str) -> str | None:
    return None if value in model.arguments else f"is not one of: {', '.join(model.arguments)}"


def _check_regexp(model: VariableModel, value: str) -> str | None:
    matches = re.fullmatch(model.arguments[0], value) is not None
    return None if matches else f"does not match the regular expression {model.arguments[0]}"


def _check_url(model: VariableModel, value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    valid = (
        parts is not None
        and parts.scheme.lower() in _URL_SCHEMES
        and (parts.scheme.lower() not in {"http", "https", "ftp"} or bool(parts.hostname))
    )
    return None if valid else f"is not a URL ({', '.join(sorted(_URL_SCHEMES))})"


def _check_uri(model: VariableModel, value: str) -> str | None:
    scheme, colon, _ = value.partition(":")
    bad_scheme = bool(colon) and "/" not in scheme and not _URI_SCHEME.fullmatch(scheme)
    valid = value != "" and not bad_scheme and not _URI_FORBIDDEN.search(value)
    return None if valid else "is not a URI"


def _check_json(model: VariableModel, value: str) -> str | None:
    """ProActive reads the value as a stream of JSON values (Jackson tokens to the end): an empty
    value, holding none, is accepted."""
    decoder, position = json.JSONDecoder(), 0
    try:
        while (position := len(value) - len(value[position:].lstrip())) < len(value):
            position = decoder.raw_decode(value, position)[1]
    except ValueError as error:
        return f"is not valid JSON ({error})"
    return None


def _check_catalog_object(model: VariableModel, value: str) -> str | None:
    if _CATALOG_OBJECT_VALUE.fullmatch(value):
        return None
    return "is not a catalog object reference bucketName/objectName[/revision]"


def _check_cron(model: VariableModel, value: str) -> str | None:
    # cron4j, which ProActive uses, accepts several expressions joined by '|'.
    valid = all(croniter.is_valid(part.strip()) for part in value.split("|"))
    return None if valid else "is not a valid cron expression"


_CHECKS = {
    ModelKind.BOOLEAN: _check_boolean,
    ModelKind.NOT_EMPTY_STRING: _check_not_empty,
    ModelKind.LIST: _check_list,
    ModelKind.REGEXP: _check_regexp,
    ModelKind.URL: _check_url,
    ModelKind.URI: _check_uri,
    ModelKind.JSON: _check_json,
    ModelKind.CATALOG_OBJECT: _check_catalog_object,
    ModelKind.CRON: _check_cron,
}

"""A task's descriptor (``descriptor.yml``): parsed, bounded, validated, as a typed object.

:func:`parse_descriptor` reads the YAML with a safe loader (at most 1 MiB, nesting at most 32 deep, no
anchors or aliases, no YAML timestamps: dates stay strings as Jackson reads them, mapping keys are their
text), validates it against ``descriptor.schema.json`` — runyard's own schema, written from the descriptor
reference, which accepts and refuses the same documents as Cytomine's ``task.v0.json`` (a test checks it
on the corpus and on mutations) — and then against the rules Cytomine's server applies beyond its schema:

* ``name_short`` is required (Cytomine reads it unconditionally and answers 500 without it);
* ``display_name`` of a parameter defaults to its identifier (Cytomine answers 500 without it);
* ``configuration.input_folder`` / ``output_folder`` default to ``/inputs`` / ``/outputs`` (the schema's
  documented defaults; Cytomine answers 500 without them); they must be normalized absolute paths, not
  ``/``, and neither inside the other;
* ``configuration.resources``: ``ram`` a memory quantity (default ``1Gi``, the schema's; Cytomine's
  server uses 4Gi), ``cpus`` ≥ 1 (default 1), ``gpus`` ≥ 0 (default 0);
* an input's ``default`` is a valid value of its type (an enumeration's among its ``values``, a number
  within its bounds); defaults of geometry, file, image and array inputs are ignored, as upstream;
* ``dependencies`` is a mapping of ``matching`` (inputs and outputs) and ``derived_from`` (outputs only);
  each ``matching`` entry is ``inputs/NAME`` or ``outputs/NAME`` naming another existing parameter, and
  both are arrays; ``derived_from`` is ``inputs/NAME`` naming an existing input;
* every value is a JSON one (finite numbers, no explicit YAML tags such as ``!!binary``); array
  ``min_size`` ≤ ``max_size``, both ≥ 0; size bounds parse.

Every problem is reported at once: 400 ``APPE-internal-bundle-schema-validation-error`` with
``details = {type: batch, errors: [{errorCode: APPE-internal-bundle-io-schema-validation-error,
message, details: {type: parameter, parameterName: <JSON path>}}]}``.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any

import yaml

from runyard.appengine.errors import AppEngineError
from runyard.appengine.types import ArrayType, ParameterType, parse_instant, parse_type

if TYPE_CHECKING:
    import jsonschema

SCHEMA_ERROR = "APPE-internal-bundle-schema-validation-error"
SCHEMA_ERROR_MESSAGE = "Schema validation failed for the descriptor file"
IO_SCHEMA_ERROR = "APPE-internal-bundle-io-schema-validation-error"
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_ERRORS = 100
DEFAULT_INPUT_FOLDER, DEFAULT_OUTPUT_FOLDER = "/inputs", "/outputs"
DEFAULT_RAM, DEFAULT_CPUS, DEFAULT_GPUS = "1Gi", 1, 0
MIN_RAM = 6 * 1024**2
"""Docker's least memory limit (a limit of 0 would be none)."""
NO_DEFAULT = frozenset({"geometry", "file", "image", "array"})

_MEMORY = re.compile(
    r"\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei|Zi|Yi|k|K|M|G|T|P|E|Z|Y|R|Q)?(B|Byte|byte|b|bit)?\s*"
)
_BINARY: dict[str, int] = {
    p: 1024 ** (i + 1) for i, p in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"))
}
_DECIMAL: dict[str, int] = {
    p: 1000 ** (i + 1) for i, p in enumerate(("k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q"))
}
_DECIMAL["K"] = 1000
_REFERENCE = re.compile(r"(inputs|outputs)/([a-zA-Z0-9_]+)")


def parse_memory(text: str) -> int:
    """Bytes of a memory quantity: ``{number}{optional space}{prefix}{suffix}``, decimal prefixes
    ``k M G T P E Z Y R Q``, binary ``Ki … Yi``, suffix ``B``/``Byte``/``byte`` (bytes, the default) or
    ``b``/``bit`` (bits); fractions rounded. ``ValueError`` if it is not one."""
    match = _MEMORY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a memory quantity: {text!r}")
    number, prefix, suffix = match.groups()
    factor = _BINARY.get(prefix or "", _DECIMAL.get(prefix or "", 1))
    bits = suffix in ("b", "bit")
    # exact arithmetic: the number's text as a fraction
    whole, _, fraction = number.partition(".")
    numerator = int(whole + fraction) * factor
    denominator: int = 10 ** len(fraction) * (8 if bits else 1)
    return (2 * numerator + denominator) // (2 * denominator)  # rounded half up


@dataclass(frozen=True)
class Parameter:
    """An input or output of a task."""

    name: str
    display_name: str
    description: str
    type: ParameterType
    default: Any = None
    optional: bool = False
    #: References (``inputs/x``, ``outputs/y``) of the arrays this one must match in size.
    matching: tuple[str, ...] = ()
    #: The input (its name) an output derives from.
    derived_from: str | None = None


@dataclass(frozen=True)
class Resources:
    ram: int
    cpus: int
    gpus: int


@dataclass(frozen=True)
class Descriptor:
    namespace: str
    version: str
    name: str
    name_short: str
    description: str
    authors: tuple[dict[str, Any], ...]
    input_folder: str
    output_folder: str
    resources: Resources
    inputs: dict[str, Parameter]
    outputs: dict[str, Parameter]
    #: The descriptor as parsed (a JSON-able mapping), to store and to rebuild this from.
    document: dict[str, Any]

    @property
    def image_name(self) -> str:
        """The image's name by the descriptor rule: ``{namespace . → /}:{version}``, lower-cased."""
        return f"{self.namespace.replace('.', '/')}:{self.version}".lower()


class _Loader(yaml.SafeLoader):
    """A safe loader with bounds: no aliases, bounded depth, keys as text, timestamps as text."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.YAMLError(f"aliases are not accepted (line {event.start_mark.line + 1})")
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None):
            raise yaml.YAMLError(f"anchors are not accepted (line {event.start_mark.line + 1})")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(None, None, "expected a mapping", node.start_mark)
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a scalar", key_node.start_mark
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: bytes) -> Any:
    """The YAML document of ``text`` (bounded as the module says); 400 if it is not one."""
    if len(text) > MAX_BYTES:
        raise _batch([(f"descriptor larger than {MAX_BYTES} bytes", "$")])
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as error:
        raise _batch([(f"not a YAML document: {error}", "$")]) from None


@cache
def schema() -> dict[str, Any]:
    """runyard's descriptor schema."""
    text = package_files.files("runyard.appengine").joinpath("descriptor.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]*", value))


@cache
def _import_jsonschema() -> None:
    """Import jsonschema on first use (0.1 s of CPU: not every start of the server pays it) and
    without ``rfc3987-syntax`` (Jupyter's dependencies install it): importing jsonschema with it builds
    a grammar for the ``iri`` formats, which the schema does not use: 1.7 s of CPU, and ~100,000 objects
    every full collection of the server's garbage collector walked again (a pause of ~50 ms)."""
    absent = "rfc3987_syntax" not in sys.modules
    if absent:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # an import of it fails
    try:
        import jsonschema  # noqa: F401
    finally:
        if absent:
            del sys.modules["rfc3987_syntax"]


@cache
def format_checker() -> jsonschema.FormatChecker:
    """The formats asserted: jsonschema's own (date-time, email) and a URI check (jsonschema needs a
    package for that one)."""
    _import_jsonschema()
    import jsonschema

    formats = jsonschema.FormatChecker()
    formats.checks("uri")(_uri)
    return formats


@cache
def validator() -> jsonschema.protocols.Validator:
    _import_jsonschema()
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema(), format_checker=format_checker())


def json_path(path: Any) -> str:
    """A JSON path (``$.inputs.a.type``, ``$.authors[0].email``) of a sequence of keys and indexes."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_errors(document: Any) -> list[tuple[str, str]]:
    """``(message, JSON path)`` of each schema error of ``document`` (none: valid)."""
    found = sorted(validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    from jsonschema.exceptions import best_match  # imported by validator() (_import_jsonschema)

    problems = []
    for error in found:
        detail = best_match(error.context) if error.context else error
        path = json_path(detail.absolute_path if len(detail.absolute_path) else error.absolute_path)
        problems.append((f"{path}: {detail.message}", path))
        if len(problems) >= MAX_ERRORS:
            break
    return problems


def _batch(problems: list[tuple[str, str]]) -> AppEngineError:
    errors = [
        {
            "errorCode": IO_SCHEMA_ERROR,
            "message": message,
            "details": {"type": "parameter", "parameterName": path},
        }
        for message, path in problems
    ]
    return AppEngineError(400, SCHEMA_ERROR, SCHEMA_ERROR_MESSAGE, {"type": "batch", "errors": errors})


def parse_descriptor(text: bytes) -> Descriptor:
    """The descriptor of ``descriptor.yml``'s bytes; 400 with every problem found (see the module)."""
    document = load_yaml(text)
    problems = schema_errors(document)
    if problems:
        raise _batch(problems)
    problems = _not_json(document, "$")
    if not problems:
        problems = server_rules(document)
    if problems:
        raise _batch(problems)
    return descriptor_of(document)


def _not_json(value: Any, path: str) -> list[tuple[str, str]]:
    """Where the document holds what JSON cannot: a non-finite number, or a value of an explicit YAML
    tag (``!!binary``, ``!!timestamp``, ``!!set``...)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(f"{path}: numbers must be finite", path)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _not_json(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _not_json(v, f"{path}[{i}]")]
    if value is None or isinstance(value, str | int | float):
        return []
    return [(f"{path}: not a JSON value ({type(value).__name__})", path)]


def _folder(value: str) -> bool:
    return value.startswith("/") and value != "/" and posixpath.normpath(value) == value and "\0" not in value


def server_rules(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The problems of a schema-valid document under the rules beyond the schema (see the module)."""
    problems: list[tuple[str, str]] = []

    def problem(path: str, message: str) -> None:
        problems.append((f"{path}: {message}", path))

    if not isinstance(document.get("name_short"), str) or not document["name_short"]:
        problem("$.name_short", "required, a non-empty string")
    configuration = document.get("configuration") or {}
    folders = {}
    for key, default in (("input_folder", DEFAULT_INPUT_FOLDER), ("output_folder", DEFAULT_OUTPUT_FOLDER)):
        folders[key] = configuration.get(key, default)
        if not _folder(folders[key]):
            problem(f"$.configuration.{key}", "must be a normalized absolute path other than /")
    a, b = folders["input_folder"], folders["output_folder"]
    if a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/"):
        problem("$.configuration.output_folder", "input and output folders must be apart")
    resources = configuration.get("resources") or {}
    if "ram" in resources:
        try:
            if parse_memory(resources["ram"]) < MIN_RAM:
                problem("$.configuration.resources.ram", "must be at least 6Mi (the engine's least limit)")
        except ValueError as error:
            problem("$.configuration.resources.ram", str(error))
    if resources.get("cpus", DEFAULT_CPUS) < 1:
        problem("$.configuration.resources.cpus", "must be at least 1")
    if resources.get("gpus", DEFAULT_GPUS) < 0:
        problem("$.configuration.resources.gpus", "must be at least 0")
    inputs, outputs = document.get("inputs") or {}, document.get("outputs") or {}
    types: dict[str, ParameterType] = {}
    for side, parameters in (("inputs", inputs), ("outputs", outputs)):
        for name, raw in parameters.items():
            path = f"$.{side}.{name}"
            try:
                types[f"{side}/{name}"] = kind = parse_type(raw["type"])
            except ValueError as error:
                problem(f"{path}.type", str(error))
                continue
            problems.extend(_type_rules(raw["type"], f"{path}.type"))
            if side == "inputs" and "default" in raw and _type_id(raw["type"]) not in NO_DEFAULT:
                try:
                    kind.validate(raw["default"], name)
                except Exception as error:  # AppEngineError: the value's own message
                    problem(f"{path}.default", f"not a valid default: {error}")
    for side, parameters in (("inputs", inputs), ("outputs", outputs)):
        for name, raw in parameters.items():
            problems.extend(_dependency_rules(side, name, raw.get("dependencies"), types))
    return problems


def _type_id(raw: Any) -> str:
    return raw if isinstance(raw, str) else str(raw.get("id"))


def _type_rules(raw: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(raw, str):
        return []
    problems = []
    if raw.get("id") == "array":
        low, high = raw.get("min_size"), raw.get("max_size")
        if (low is not None and low < 0) or (high is not None and high < 0):
            problems.append((f"{path}: array sizes must be at least 0", path))
        if low is not None and high is not None and low > high:
            problems.append((f"{path}: min_size is above max_size", path))
        problems.extend(_type_rules(raw["subtype"], f"{path}.subtype"))
    if raw.get("id") == "string":
        low, high = raw.get("min_length", 0), raw.get("max_length")
        if low < 0 or (high is not None and high < low):
            problems.append((f"{path}: lengths must be 0 <= min_length <= max_length", path))
    if raw.get("id") == "datetime":
        for key in ("before", "after"):
            if key in raw and parse_instant(raw[key]) is None:
                problems.append((f"{path}.{key}: not an instant (ISO-8601 with its zone)", f"{path}.{key}"))
    if raw.get("id") in ("file", "image") and "max_file_size" in raw:
        try:
            parse_memory(raw["max_file_size"])
        except ValueError as error:
            problems.append((f"{path}.max_file_size: {error}", f"{path}.max_file_size"))
    return problems


def _dependency_rules(
    side: str, name: str, dependencies: Any, types: Mapping[str, ParameterType]
) -> list[tuple[str, str]]:
    path = f"$.{side}.{name}.dependencies"
    if dependencies is None:
        return []
    if not isinstance(dependencies, Mapping):
        return [(f"{path}: must be a mapping", path)]
    problems = []
    allowed = {"matching", "derived_from"} if side == "outputs" else {"matching"}
    for key in dependencies:
        if key not in allowed:
            problems.append((f"{path}.{key}: unknown dependency for {side}", f"{path}.{key}"))
    if "derived_from" in dependencies and "derived_from" in allowed:
        source = dependencies["derived_from"]
        match = _REFERENCE.fullmatch(source) if isinstance(source, str) else None
        if match is None or match.group(1) != "inputs" or source not in types:
            problems.append(
                (f"{path}.derived_from: must name an input (inputs/NAME)", f"{path}.derived_from")
            )
    matching = dependencies.get("matching")
    if "matching" in dependencies:
        if not isinstance(matching, list) or not matching:
            return [*problems, (f"{path}.matching: must be a list of references", f"{path}.matching")]
        if not isinstance(types.get(f"{side}/{name}"), ArrayType):
            problems.append((f"{path}.matching: only arrays can match", f"{path}.matching"))
        for i, reference in enumerate(matching):
            here = f"{path}.matching[{i}]"
            if (
                not isinstance(reference, str)
                or not _REFERENCE.fullmatch(reference)
                or reference not in types
            ):
                problems.append((f"{here}: must name a parameter (inputs/NAME or outputs/NAME)", here))
            elif reference == f"{side}/{name}":
                problems.append((f"{here}: a parameter cannot match itself", here))
            elif not isinstance(types[reference], ArrayType):
                problems.append((f"{here}: only arrays can match ({reference} is not one)", here))
    return problems


def _parameter(side: str, name: str, raw: Mapping[str, Any]) -> Parameter:
    kind = parse_type(raw["type"])
    dependencies = raw.get("dependencies") or {}
    default = raw.get("default") if side == "inputs" and _type_id(raw["type"]) not in NO_DEFAULT else None
    if default is not None:
        default = kind.validate(default, name)
    derived = dependencies.get("derived_from") if side == "outputs" else None
    return Parameter(
        name=name,
        display_name=str(raw.get("display_name") or name),
        description=str(raw.get("description", "")),
        type=kind,
        default=default,
        optional=bool(raw.get("optional", False)) if side == "inputs" else False,
        matching=tuple(dependencies.get("matching") or ()),
        derived_from=derived.partition("/")[2] if isinstance(derived, str) else None,
    )


def descriptor_of(document: Mapping[str, Any]) -> Descriptor:
    """The descriptor of a validated document (as stored), not validated again."""
    configuration = document.get("configuration") or {}
    resources = configuration.get("resources") or {}
    return Descriptor(
        namespace=document["namespace"],
        version=document["version"],
        name=document["name"],
        name_short=document.get("name_short") or "",
        description=document.get("description") or "",
        authors=tuple(dict(a) for a in document.get("authors") or ()),
        input_folder=configuration.get("input_folder", DEFAULT_INPUT_FOLDER),
        output_folder=configuration.get("output_folder", DEFAULT_OUTPUT_FOLDER),
        resources=Resources(
            ram=parse_memory(resources.get("ram", DEFAULT_RAM)),
            cpus=int(resources.get("cpus", DEFAULT_CPUS)),
            gpus=int(resources.get("gpus", DEFAULT_GPUS)),
        ),
        inputs={n: _parameter("inputs", n, raw) for n, raw in (document.get("inputs") or {}).items()},
        outputs={n: _parameter("outputs", n, raw) for n, raw in (document.get("outputs") or {}).items()},
        document=dict(document),
    )

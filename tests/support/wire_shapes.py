"""Compare a Python type the SDK reads an answer as with the JSON schema the API documents for it.

:func:`mismatches` walks both at once: a ``TypedDict`` against an object schema (field names,
required-ness from ``NotRequired`` versus the schema's ``required``, then each field), ``list[X]``
against an array, ``dict[str, X]`` against an object of ``additionalProperties``, ``X | None``
against ``anyOf`` with ``null``, ``str``/``int``/``float``/``bool`` against the JSON types. ``Any``
on the SDK's side accepts any schema; a schema saying nothing (``{}``) only matches ``Any``. A union
matches when each of its members matches a branch of the schema's ``anyOf`` and each branch a member.
Each mismatch is one line naming the document, the field path and both sides.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, Required, Union, get_args, get_origin, get_type_hints, is_typeddict

Schema = Mapping[str, Any]
JSON_TYPES: dict[Any, set[str]] = {
    str: {"string"},
    int: {"integer"},
    float: {"number", "integer"},  # pydantic documents float as number; an int is a valid float
    bool: {"boolean"},
}


@dataclass
class ShapeCheck:
    """Comparisons against an OpenAPI document's components (each pair of document and schema once)."""

    components: Schema
    _seen: set[tuple[type, str]] = field(default_factory=set)

    def mismatches(self, annotation: Any, schema: Schema, where: str) -> Iterator[str]:
        schema, ref = self._resolve(schema)
        if annotation is Any:
            return
        sdk_nullable, sdk_types = _split_optional(annotation)
        api_nullable, api_branches = self._split_nullable(schema)
        if sdk_nullable != api_nullable:
            yield (
                f"{where}: the SDK says {_show(annotation)}, the API {ref or _show_schema(schema)} "
                f"({'null allowed' if api_nullable else 'never null'})"
            )
        if not api_branches:  # the API says only "null"
            return
        if len(sdk_types) == 1 and len(api_branches) == 1:
            yield from self._same(sdk_types[0], api_branches[0], ref, where)
            return
        for member in sdk_types:
            if not any(self._fits(member, branch) for branch in api_branches):
                yield f"{where}: the SDK's {_show(member)} is none of the API's {_show_schema(schema)}"
        for branch in api_branches:
            if not any(self._fits(member, branch) for member in sdk_types):
                yield f"{where}: the API's {_show_schema(branch)} is none of the SDK's {_show(annotation)}"

    def _fits(self, annotation: Any, schema: Schema) -> bool:
        return not any(True for _ in ShapeCheck(self.components).mismatches(annotation, schema, ""))

    def _same(self, annotation: Any, schema: Schema, ref: str | None, where: str) -> Iterator[str]:
        schema, ref = self._resolve(schema, ref)
        if annotation is Any:
            return
        kinds = _schema_types(schema)
        origin = get_origin(annotation)
        if is_typeddict(annotation):
            yield from self._document(annotation, schema, ref, where)
        elif origin is list:
            if kinds != {"array"}:
                yield f"{where}: the SDK says {_show(annotation)}, the API {_show_schema(schema)}"
            else:
                (item,) = get_args(annotation)
                yield from self.mismatches(item, schema.get("items", {}), f"{where}[]")
        elif origin is dict:
            yield from self._mapping(annotation, schema, where)
        elif annotation in JSON_TYPES:
            if not kinds or not kinds <= JSON_TYPES[annotation]:
                yield f"{where}: the SDK says {_show(annotation)}, the API {_show_schema(schema)}"
        else:
            yield f"{where}: the SDK's {_show(annotation)} has no JSON counterpart this check knows"

    def _document(self, document: type, schema: Schema, ref: str | None, where: str) -> Iterator[str]:
        if (document, ref or "") in self._seen:
            return
        self._seen.add((document, ref or ""))
        name = f"{where} ({document.__name__})" if where != document.__name__ else where
        properties: Schema = schema.get("properties", {})
        if _schema_types(schema) != {"object"} or not properties:
            yield f"{name}: the SDK has a document, the API {_show_schema(schema)} (no named fields)"
            return
        hints = get_type_hints(document, include_extras=True)
        required = set(schema.get("required", ()))
        for missing in sorted(properties.keys() - hints.keys()):
            yield f"{name}: the API sends {missing!r}, the SDK has no such field"
        for extra in sorted(hints.keys() - properties.keys()):
            yield f"{name}: the SDK has {extra!r}, the API sends no such field"
        for key in sorted(hints.keys() & properties.keys()):
            annotation, sdk_required = _field(hints[key], document)
            if sdk_required != (key in required):
                yield (
                    f"{name}.{key}: the SDK says it is {'always' if sdk_required else 'not always'} there, "
                    f"the API {'requires' if key in required else 'does not require'} it"
                )
            yield from self.mismatches(annotation, properties[key], f"{name}.{key}")

    def _mapping(self, annotation: Any, schema: Schema, where: str) -> Iterator[str]:
        key, value = get_args(annotation)
        extra = schema.get("additionalProperties", True)
        if _schema_types(schema) != {"object"} or key is not str:
            yield f"{where}: the SDK says {_show(annotation)}, the API {_show_schema(schema)}"
        elif schema.get("properties"):
            yield f"{where}: the SDK says {_show(annotation)}, the API has fields: {_show_schema(schema)}"
        elif extra is True:
            if value is not Any:
                yield f"{where}: the SDK says {_show(annotation)}, the API does not say what the values are"
        elif extra is False:
            yield f"{where}: the SDK says {_show(annotation)}, the API an empty object"
        else:
            yield from self.mismatches(value, extra, f"{where}{{}}")

    def _resolve(self, schema: Schema, ref: str | None = None) -> tuple[Schema, str | None]:
        while "$ref" in schema:
            ref = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self.components[ref]
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self._resolve(schema["allOf"][0], ref)
        return schema, ref

    def _split_nullable(self, schema: Schema) -> tuple[bool, list[Schema]]:
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches is None:
            return schema.get("type") == "null", [] if schema.get("type") == "null" else [schema]
        others = [branch for branch in branches if self._resolve(branch)[0].get("type") != "null"]
        return len(others) < len(branches), others


def _split_optional(annotation: Any) -> tuple[bool, list[Any]]:
    if get_origin(annotation) in (Union, types.UnionType):
        members = list(get_args(annotation))
        others = [member for member in members if member is not type(None)]
        return len(others) < len(members), others
    return annotation is None or annotation is type(None), [annotation]


def _field(hint: Any, document: type) -> tuple[Any, bool]:
    """A TypedDict field's type without ``NotRequired``/``Required``, and whether it is always there."""
    origin = get_origin(hint)
    if origin is NotRequired:
        return get_args(hint)[0], False
    if origin is Required:
        return get_args(hint)[0], True
    return hint, bool(getattr(document, "__total__", True))


def _schema_types(schema: Schema) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return {"object"} if "properties" in schema else set()
    return {kind} if isinstance(kind, str) else set(kind)


def _show(annotation: Any) -> str:
    """``Node | None``, ``list[Node]``: short names, as the SDK's source writes them."""
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    arguments = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return " | ".join(_show(argument) for argument in arguments)
    if arguments:
        return f"{get_origin(annotation).__name__}[{', '.join(_show(argument) for argument in arguments)}]"
    return str(getattr(annotation, "__name__", annotation))


def _show_schema(schema: Schema) -> str:
    if "anyOf" in schema or "oneOf" in schema:
        return " | ".join(_show_schema(branch) for branch in schema.get("anyOf") or schema["oneOf"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    kinds = _schema_types(schema)
    if not kinds:
        return "anything ({})"
    if "array" in kinds:
        return f"array of {_show_schema(schema.get('items', {}))}"
    if kinds == {"object"} and schema.get("title") and schema.get("properties"):
        return f"object {schema['title']}"
    if kinds == {"object"} and isinstance(schema.get("additionalProperties"), Mapping):
        return f"object of {_show_schema(schema['additionalProperties'])}"
    return " | ".join(sorted(kinds))

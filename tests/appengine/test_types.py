"""Parameter types: every value of provision.feature's Examples tables against its type (the exact
errors), the constraints one by one, the wire form, the output text as the Java server parses it."""

from __future__ import annotations

import json
import math
import zipfile
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.appengine.descriptor import parse_descriptor
from runyard.appengine.errors import AppEngineError
from runyard.appengine.types import (
    ArrayType,
    BooleanType,
    DatetimeType,
    EnumerationType,
    FileType,
    GeometryType,
    ImageType,
    IntegerType,
    NumberType,
    ParameterType,
    StringType,
    parse_type,
)

from .conftest import BUNDLES, FEATURES

# -- provision.feature, read by hand -----------------------------------------------------------------


def feature_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """The rows of every Examples table, by the title of their scenario; cells unescaped (``\\"``)."""
    tables: dict[str, list[dict[str, str]]] = {}
    title, header = "", None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Scenario"):
            title, header = stripped.partition(":")[2].strip(), None
        elif stripped.startswith("|") and title:
            cells = [c.strip().replace('\\"', '"') for c in stripped.strip("|").split("|")]
            if header is None:
                header = cells
            else:
                tables.setdefault(title, []).append(dict(zip(header, cells, strict=True)))
        elif stripped and not stripped.startswith("|"):
            header = None if stripped.startswith("Examples") else header
    return tables


TABLES = feature_tables((FEATURES / "provision.feature").read_text())


def bundle_types() -> dict[str, dict[str, ParameterType]]:
    """The input types of the corpus bundles, by namespace."""
    found = {}
    for bundle in BUNDLES.glob("com.cytomine.*.zip"):
        with zipfile.ZipFile(bundle) as archive:
            descriptor = parse_descriptor(archive.read("descriptor.yml"))
        found[descriptor.namespace] = {n: p.type for n, p in descriptor.inputs.items()}
    return found


#: Stand-ins for the tasks the feature names that are not in the corpus, with constraints that make
#: its rows hold (a: -5.5 passes, 5.5 is not lt, -15.5 is not gt; b: 4.21 passes, 14.21 not leq, -7.21
#: not geq; c: finite only; d: nan and infinities allowed; the string 1 to 10 long).
STAND_INS: dict[str, dict[str, ParameterType]] = {
    "com.cytomine.dummy.constrained.number.addition": {
        "a": NumberType(gt=-10, lt=0),
        "b": NumberType(geq=-5, leq=10),
        "c": NumberType(),
        "d": NumberType(nan_allowed=True, infinity_allowed=True),
    },
    "com.cytomine.dummy.constrained.string.identity": {"input": StringType(min_length=1, max_length=10)},
    "com.cytomine.dummy.identity.file.collection": {"input": ArrayType(FileType())},
}
TYPES = {**bundle_types(), **STAND_INS}


def test_the_tables_are_read() -> None:
    assert len(TABLES) >= 10
    single = "successful provisioning of a task run with one input parameter using provisioning endpoint"
    assert len(TABLES[single]) == 18
    assert len(TABLES["failed provisioning of a parameter with constraints"]) == 13
    assert {"com.cytomine.dummy.identity.image", "com.cytomine.dummy.identity.datetime"} <= set(TYPES)


def _value(cell: str) -> Any:
    """A table cell as the JSON value a client sends: JSON if it parses, else the text itself."""
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def _payload_value(payload: str, fallback: str) -> Any:
    """The ``value`` of a provisioning payload cell; some are not JSON (``"value": A``, ``nan``, a
    doubled key): then the value column, as the feature's steps use it."""
    try:
        return json.loads(payload)["value"]
    except ValueError:
        return _value(fallback)


SINGLE = [
    row
    for row in TABLES[
        "successful provisioning of a task run with one input parameter using provisioning endpoint"
    ]
    if row["param_type"] not in ("image", "file", "array")
]


@pytest.mark.parametrize("row", SINGLE, ids=[f"{r['param_type']}-{i}" for i, r in enumerate(SINGLE)])
def test_single_provisioning_rows(row: dict[str, str]) -> None:
    kind = TYPES[row["task_namespace"]][row["param_name"]]
    value = kind.validate(_payload_value(row["payload"], row["param_value"]), row["param_name"])
    text = kind.text_of(value)
    expected = _value(row["param_file_content"])
    if isinstance(kind, GeometryType):
        assert json.loads(text) == expected
    else:
        assert text == (expected if isinstance(expected, str) else json.dumps(expected))


def test_the_array_row() -> None:
    (row,) = [
        r
        for r in TABLES[
            "successful provisioning of a task run with one input parameter using provisioning endpoint"
        ]
        if r["param_type"] == "array"
    ]
    kind = TYPES[row["task_namespace"]][row["param_name"]]
    assert kind.validate(json.loads(row["payload"])["value"], "input") == [100, 200]


CONSTRAINED_OK = TABLES["successful provisioning of a parameter with constraints"]
CONSTRAINED_FAILING = TABLES["failed provisioning of a parameter with constraints"]


@pytest.mark.parametrize("row", CONSTRAINED_OK, ids=[r["parameter_value"] for r in CONSTRAINED_OK])
def test_constrained_values_that_pass(row: dict[str, str]) -> None:
    kind = TYPES[row["task_namespace"]][row["parameter_name"]]
    value = _payload_value(row["payload"], row["parameter_value"])
    normalized = kind.validate(value, row["parameter_name"])
    assert kind.text_of(normalized) == row["parameter_value"]


@pytest.mark.parametrize("row", CONSTRAINED_FAILING, ids=[r["parameter_value"] for r in CONSTRAINED_FAILING])
def test_constrained_values_that_fail_with_cytomines_error(row: dict[str, str]) -> None:
    kind = TYPES[row["task_namespace"]][row["parameter_name"]]
    value = _payload_value(row["payload"], row["parameter_value"])
    with pytest.raises(AppEngineError) as raised:
        kind.validate(value, row["parameter_name"])
    assert raised.value.status == 400
    assert raised.value.envelope() == json.loads(row["error_payload"])


def test_the_batch_row() -> None:
    (row,) = TABLES["failed batch provisioning of a task run with invalid parameter value"]
    kinds = {"a": parse_type({"id": "integer", "lt": 53}), "b": IntegerType()}  # its "lt: 53" rule
    errors = []
    for item in json.loads(row["payload"]):
        try:
            kinds[item["parameterName"]].validate(item["value"], item["parameterName"])
        except AppEngineError as error:
            errors.append(error.envelope())
    assert errors == json.loads(row["error_payload"])["details"]["errors"]


def test_the_partial_and_constrained_batch_rows() -> None:
    for row in TABLES["successful partial provisioning of a task run with two input parameters"]:
        (item,) = json.loads(row["payload"])
        kind = TYPES[row["task_namespace"]][item["parameterName"]]
        assert kind.text_of(kind.validate(item["value"], "a")) == row["param_file_content"] == "5"
    for row in TABLES[
        "successful batch provisioning of a task run two parameters one of which one has a validation rule"
    ]:
        first, second = json.loads(row["payload"])
        assert IntegerType(lt=53).validate(first["value"], "a") == int(row["param1_file_content"])
        assert IntegerType().validate(second["value"], "b") == int(row["param2_file_content"])


@pytest.mark.parametrize("title", ["successful re-provisioning of a parameter for a task run"])
def test_reprovisioning_rows(title: str) -> None:
    for row in TABLES[title]:
        if row["param_type"] in ("image", "file"):
            continue
        kind = TYPES[row["task_namespace"]][row["param_name"]]
        for cell, content in (
            ("initial_param_value", "param_file_initial_content"),
            ("new_param_value", "param_file_new_content"),
        ):
            value = kind.validate(_value(row[cell]), row["param_name"])
            expected = _value(row[content])
            text = kind.text_of(value)
            assert (json.loads(text) if isinstance(kind, GeometryType) else text) == (
                expected if isinstance(expected, str | dict) else json.dumps(expected)
            )


def test_multiple_types_rows() -> None:
    kinds = {
        "int_input": IntegerType(),
        "number_input": NumberType(),
        "string_input": StringType(),
        "enum_input": EnumerationType(("A", "B")),
        "geometry_input": GeometryType(),
    }
    for title in (
        "successful provisioning of multiple parameters",
        "successful provisioning of optional parameters",
    ):
        text = (FEATURES / "provision.feature").read_text()
        block = text[text.index(title) :].split("Examples:")[0]
        rows = feature_tables("Scenario: x\n" + block.split("\n", 1)[1])["x"]
        for row in rows:
            value = _value(row["parameter_value"])
            if value is None:
                continue  # an optional input left out: the runs' layer
            kinds[row["parameter_name"]].validate(value, row["parameter_name"])


# -- the constraints, one by one ----------------------------------------------------------------------


def _error(kind: ParameterType, value: Any) -> str:
    with pytest.raises(AppEngineError) as raised:
        kind.validate(value, "p")
    assert raised.value.details == {"type": "parameter", "parameterName": "p"}
    assert raised.value.status == 400
    return raised.value.message


def test_boolean() -> None:
    kind = BooleanType()
    assert kind.validate(True, "p") is True and kind.validate("false", "p") is False
    bad: Any
    for bad in (1, 0, "yes", None, [], "1"):
        assert _error(kind, bad) == "invalid parameter type"
    assert kind.text_of(True) == "true"
    assert kind.parse_text(" TRUE\n", "p") is True and kind.parse_text("yes", "p") is False


def test_integer() -> None:
    kind = IntegerType(gt=-3, lt=3)
    assert kind.validate(2, "p") == 2 and kind.validate("-2", "p") == -2 and kind.validate(1.0, "p") == 1
    for bad in (True, 1.5, "0x1", "1_0", "1e2", "", None, "٣", 2**31, -(2**31) - 1, [1]):
        assert _error(IntegerType(), bad) == "invalid parameter type", bad
    assert IntegerType().validate(2**31 - 1, "p") == 2**31 - 1
    assert _error(kind, 3) == "value must be less than defined constraint"
    assert _error(kind, -3) == "value must be greater than defined constraint"
    assert (
        _error(IntegerType(geq=0, leq=300), 301) == "value must be less than or equal to defined constraint"
    )
    assert _error(IntegerType(geq=0), -1) == "value must be greater than or equal to define constraint"
    assert kind.parse_text(" 2\n", "p") == 2
    for bad in ("0x1", "1.0", "2 2", "", "+"):
        with pytest.raises(AppEngineError):
            IntegerType().parse_text(bad, "p")


def test_number() -> None:
    kind = NumberType(geq=0, lt=1)
    assert (
        kind.validate(0.5, "p") == 0.5 and kind.validate("0.25", "p") == 0.25 and kind.validate(0, "p") == 0
    )
    assert kind.validate("5e-1", "p") == 0.5
    for bad in (True, "x", None, "1,5", "0x1p3", "1_0"):
        assert _error(kind, bad) == "invalid parameter type"
    assert _error(kind, 1) == "value must be less than defined constraint"
    assert _error(kind, -0.1) == "value must be greater than or equal to define constraint"
    for nan in (float("nan"), "nan", "NaN"):
        assert _error(NumberType(), nan) == "value cannot be nan"
        assert NumberType(nan_allowed=True).validate(nan, "p") == "nan"
    for infinity, stored in (
        (float("inf"), "inf"),
        ("-Infinity", "-inf"),
        ("+inf", "inf"),
        (float("-inf"), "-inf"),
    ):
        assert _error(NumberType(), infinity) == "value cannot be infinity"
        assert NumberType(infinity_allowed=True).validate(infinity, "p") == stored
    assert (
        NumberType().text_of(2.0) == "2.0"
        and NumberType().text_of(2) == "2"
        and NumberType().text_of(2.25) == "2.25"
    )
    assert NumberType().parse_text("2.5e3\n", "p") == 2500.0
    assert NumberType(nan_allowed=True).parse_text("NaN", "p") == "nan"


def test_string() -> None:
    kind = StringType(min_length=2, max_length=3)
    assert kind.validate("abc", "p") == "abc"
    assert _error(kind, "a") == "value must be greater than defined constraint"
    assert _error(kind, "abcd") == "value must be greater than or equal to define constraint"
    assert (
        _error(StringType(max_length=1), "\U0001f600")
        == "value must be greater than or equal to define constraint"
    )
    for bad in (1, None, True, ["a"]):
        assert _error(kind, bad) == "invalid parameter type"
    assert StringType().parse_text("  two\nlines \n", "p") == "two\nlines"


def test_enumeration() -> None:
    kind = EnumerationType(("A", "B"))
    assert kind.validate("B", "p") == "B"
    assert _error(kind, "C") == "value does not match defined constraint."
    assert _error(kind, "a") == "value does not match defined constraint."
    assert _error(kind, 1) == "invalid parameter type"


def test_datetime() -> None:
    kind = DatetimeType(before="2025-01-01T00:00:00Z", after="2024-01-01T00:00:00Z")
    assert kind.validate("2024-02-23T18:00:00Z", "p") == "2024-02-23T18:00:00Z"
    assert kind.validate("2024-02-23T18:00:00.123+01:00", "p") == "2024-02-23T18:00:00.123+01:00"
    assert _error(kind, "2025-01-01T00:00:00Z") == "date must be before the defined constraint"
    assert _error(kind, "2023-06-01T00:00:00Z") == "date must be after the defined constraint"
    for bad in ("2024-02-23T18:00:00", "2024-02-23", "yesterday", 5, "2024-13-01T00:00:00Z"):
        assert _error(DatetimeType(), bad) == "invalid parameter type", bad


POINT = {"type": "Point", "coordinates": [1.0, 2.0]}
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def _feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def test_geometry() -> None:
    kind = GeometryType()
    assert json.loads(kind.validate(POINT, "p")) == POINT
    text = '{"type": "Point",   "coordinates": [1, 2]}'
    assert kind.validate(text, "p") == text  # a string is kept as given
    assert json.loads(kind.validate("POINT (1 2)", "p")) == {"type": "Point", "coordinates": [1.0, 2.0]}
    assert json.loads(kind.validate("POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))", "p"))["type"] == "Polygon"
    assert kind.validate(_feature(POINT, subType="Circle", radius=5), "p")
    assert kind.validate(_feature(SQUARE, subType="Rectangle"), "p")
    assert kind.validate(_feature(SQUARE), "p")
    assert _error(kind, _feature(POINT, subType="Circle")) == "missing radius parameter"
    assert _error(kind, _feature(POINT, subType="Circle", radius="5")) == "missing radius parameter"
    assert _error(kind, _feature(POINT, subType="Ellipse")) == "unsupported geometry subtype"
    assert _error(kind, _feature(SQUARE, subType="Circle", radius=1)) == "unsupported geometry subtype"
    assert _error(kind, BOWTIE) == "invalid GeoJSON object"
    assert _error(kind, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}) == "invalid GeoJSON object"
    assert _error(kind, {"type": "Point", "coordinates": "x"}) == "invalid GeoJSON object"
    assert (
        _error(kind, {"type": "FeatureCollection", "features": [_feature(POINT)]})
        == "unsupported geometry type"
    )
    assert _error(kind, {"type": "GeometryCollection", "geometries": [POINT]}) == "unsupported geometry type"
    assert _error(kind, {"type": "Circle"}) == "unsupported geometry type"
    assert _error(kind, _feature(_feature(POINT))) == "unsupported geometry type"
    assert _error(kind, _feature("POINT (1 2)")) == "invalid GeoJSON object"
    nan = '{"type": "Point", "coordinates": [NaN, 1]}'
    for bad in (
        "{not json",
        "NOT WKT",
        5,
        None,
        "[1, 2]",
        "[" * 100_000,
        nan,
        {"type": "Point", "coordinates": [math.nan, 1]},
    ):
        assert _error(kind, bad) == "failed to parse the given GeoJSON object", bad


def test_file_and_image_references() -> None:
    for kind in (FileType(), ImageType()):
        assert kind.binary and kind.validate("/datasets/a/image.tif", "p") == "/datasets/a/image.tif"
        for bad in ("relative/x", "/a/../etc/shadow", 5, "/a\0b", None):
            assert _error(kind, bad) == "invalid parameter type"


def test_arrays() -> None:
    kind = ArrayType(IntegerType(geq=0), min_size=1, max_size=3)
    assert kind.validate([{"index": 1, "value": 4}, {"index": 0, "value": "3"}], "p") == [3, 4]
    assert kind.validate([1, 2], "p") == [1, 2]
    assert _error(kind, []) == "value does not match defined constraint."
    assert _error(kind, [1, 2, 3, 4]) == "value does not match defined constraint."
    assert _error(kind, [1, -1]) == "value must be greater than or equal to define constraint"
    for bad in (
        [{"index": 0, "value": 1}, {"index": 0, "value": 2}],
        [{"index": 0, "value": 1}, {"index": 2, "value": 2}],
        [{"index": "x", "value": 1}],
        [{"index": 0, "value": 1}, 2],
        "1,2",
        None,
    ):
        with pytest.raises(AppEngineError) as raised:
            kind.validate(bad, "p")
        assert raised.value.code == "APPE-internal-invalid-structure", bad
    nested = ArrayType(ArrayType(StringType()))
    given_value = [{"index": 0, "value": [{"index": 0, "value": "a"}]}, {"index": 1, "value": []}]
    assert nested.validate(given_value, "p") == [["a"], []]
    deep: ParameterType = IntegerType()
    value: Any = 1
    for _ in range(12):
        deep, value = ArrayType(deep), [value]
    with pytest.raises(AppEngineError, match="structure"):
        deep.validate(value, "p")
    with pytest.raises(AppEngineError, match="structure"):
        ArrayType(IntegerType()).validate(list(range(100_001)), "p")
    geometries = ArrayType(GeometryType())
    collection = {"type": "FeatureCollection", "features": [_feature(POINT), _feature(SQUARE)]}
    assert len(geometries.validate(json.dumps(collection), "p")) == 2
    assert len(geometries.validate({"type": "GeometryCollection", "geometries": [POINT]}, "p")) == 1


# -- wire form and parsing of descriptor types ----------------------------------------------------------


def test_wire() -> None:
    assert parse_type("integer").wire() == {"id": "integer"}
    assert parse_type({"id": "integer", "gt": 0, "leq": 300.0}).wire() == {
        "id": "integer",
        "gt": 0,
        "leq": 300,
    }
    number = {"id": "number", "lt": 2.5, "nan_allowed": True}
    assert parse_type(number).wire() == {
        "id": "number",
        "lt": 2.5,
        "infinityAllowed": False,
        "nanAllowed": True,
    }
    assert parse_type({"id": "string", "max_length": 4}).wire() == {
        "id": "string",
        "minLength": 0,
        "maxLength": 4,
    }
    assert parse_type({"id": "enumeration", "values": ["A"]}).wire() == {"id": "enumeration", "values": ["A"]}
    datetime = {"id": "datetime", "after": "2024-01-01T00:00:00Z"}
    assert parse_type(datetime).wire() == {"id": "datetime", "after": "2024-01-01T00:00:00Z"}
    assert parse_type("geometry").wire() == {"id": "geometry"}
    assert parse_type({"id": "file", "formats": ["text"]}).wire() == {"id": "file", "formats": ["text"]}
    image = {"id": "image", "formats": ["png"], "max_width": 5, "max_file_size": "1Mi"}
    assert parse_type(image).wire() == {"id": "image", "formats": ["png"]}
    assert parse_type(image) == ImageType(max_file_size=2**20, formats=("png",), max_width=5)
    array = {"id": "array", "subtype": {"id": "array", "subtype": "integer"}, "max_size": 2}
    assert parse_type(array).wire() == {
        "id": "array",
        "maxSize": 2,
        "subType": {"id": "array", "subType": {"id": "integer"}},
    }
    assert [parse_type(t).wire_type for t in ("boolean", "number", "datetime", "image")] == [
        "BOOLEAN",
        "NUMBER",
        "DATETIME",
        "IMAGE",
    ]
    for bad in ("enumeration", "array", "wsi", {"id": "x"}, {"id": "array"}, 5):
        with pytest.raises(ValueError):
            parse_type(bad)  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------------------------------------


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_integers_round_trip_through_their_text(value: int) -> None:
    kind = IntegerType()
    assert kind.parse_text(kind.text_of(kind.validate(value, "p")) + "\n", "p") == value
    assert kind.validate(str(value), "p") == value


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_numbers_round_trip_through_their_text(value: float) -> None:
    kind = NumberType(nan_allowed=True, infinity_allowed=True)
    stored = kind.validate(value, "p")
    json.dumps(stored, allow_nan=False)  # storable as JSON
    back = kind.parse_text(kind.text_of(stored), "p")
    assert back == stored or (isinstance(back, float) and math.isclose(back, value))


@given(st.text(max_size=50))
def test_strings_and_enumerations_hold_any_text(value: str) -> None:
    assert StringType().validate(value, "p") == value
    if value:
        assert EnumerationType((value,)).validate(value, "p") == value

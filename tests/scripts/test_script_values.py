from __future__ import annotations

import pickle

import pytest

from runyard.scripts import encode_result, json_mapping, to_json_value


@pytest.mark.parametrize("value", ["text", 3, 2.5, True, None, [1, "a"], {"k": {"n": [1]}}])
def test_json_values_are_kept(value: object) -> None:
    assert to_json_value(value) == value


def test_other_values_become_text() -> None:
    assert to_json_value({1, 2}) == "{1, 2}"
    assert to_json_value(float("nan")) == "nan"
    assert json_mapping({"a": b"x", "b": 1}) == {"a": "b'x'", "b": 1}


def test_encode_result() -> None:
    encoded = encode_result({"a": 1})
    assert pickle.loads(encoded.pickled) == {"a": 1}
    assert encoded.json_value == {"a": 1}
    assert encoded.repr == "{'a': 1}"
    other = encode_result({1, 2})
    assert other.json_value is None and other.repr == "{1, 2}"
    assert len(encode_result("x" * 10_000).repr) == 2_000


def test_unpicklable_result_raises() -> None:
    with pytest.raises(Exception, match="pickle"):
        encode_result(lambda: 1)

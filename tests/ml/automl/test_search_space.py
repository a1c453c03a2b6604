"""SEARCH_SPACE: each distribution read into optuna's, values quantized, and malformed spaces refused
with the parameter named."""

from __future__ import annotations

import json
import math

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from runyard.ml.automl.search_space import SearchSpaceError, parse_search_space


def _space(**specs: str) -> str:
    return json.dumps(specs)


def test_each_kind_becomes_an_optuna_distribution() -> None:
    space = parse_search_space(
        _space(
            x="uniform(-5, 5)",
            n="quantized_uniform(1, 10, 3)",
            f="quantized_uniform(0, 1, 0.3)",
            lr="log(1e-4, 1e-1)",
            layers="quantized_log(1, 64, 1)",
            batch="quantized_log(16, 512, 16)",
            kernel="choice(['linear', 'rbf'])",
        )
    )
    d = space.distributions()
    assert d["x"] == FloatDistribution(-5, 5)
    assert d["n"] == IntDistribution(1, 10, step=3)
    assert d["f"] == FloatDistribution(0, 0.9, step=0.3)  # the last step within the bounds, no warning
    assert d["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["layers"] == IntDistribution(1, 64, log=True)
    assert d["batch"] == FloatDistribution(16, 512, log=True)
    assert d["kernel"] == CategoricalDistribution(["linear", "rbf"])
    assert space.names == ["x", "n", "f", "lr", "layers", "batch", "kernel"]


def test_quantized_log_values_are_multiples_of_q_within_the_bounds() -> None:
    (batch,) = parse_search_space(_space(batch="quantized_log(16, 512, 16)")).parameters
    assert batch.value(23.9) == 16 and batch.value(24.1) == 32 and batch.value(511.0) == 512
    (step,) = parse_search_space(_space(s="quantized_log(0.05, 1, 0.1)")).parameters
    assert step.value(0.05) == 0.1  # rounding to 0 would leave the bounds
    assert step.grid() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def test_grids_of_discrete_parameters() -> None:
    space = parse_search_space(
        _space(n="quantized_uniform(1, 10, 3)", f="quantized_uniform(0, 1, 0.3)", k='choice([1, "a", null])')
    )
    assert space.grid() == {"n": [1, 4, 7, 10], "f": [0.0, 0.3, 0.6, 0.9], "k": [1, "a", None]}
    assert space.grid_size() == 48


def test_grid_refuses_a_continuous_parameter_naming_it() -> None:
    space = parse_search_space(_space(k="choice([1, 2])", lr="log(0.001, 1)"))
    with pytest.raises(SearchSpaceError, match="parameter 'lr': log is continuous"):
        space.grid()


def test_unit_cube_points_map_onto_the_space() -> None:
    space = parse_search_space(
        _space(
            x="uniform(-5, 5)", lr="log(0.001, 1)", n="quantized_uniform(0, 10, 2)", k="choice(['a', 'b'])"
        )
    )
    assert space.from_unit([0.5, 0.5, 0.6, 0.5]) == {
        "x": 0.0,
        "lr": pytest.approx(math.sqrt(0.001)),
        "n": 6,
        "k": "b",
    }
    assert space.from_unit([-1.0, 2.0, 1.0, 0.0]) == {"x": -5.0, "lr": 1.0, "n": 10, "k": "a"}  # clipped


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a JSON object"),
        ("[1]", "expected a JSON object"),
        ("{}", "expected a JSON object"),
        (_space(x="normal(0, 1)"), "parameter 'x': 'normal\\(0, 1\\)' is not one of uniform"),
        (_space(x="uniform(0)"), "parameter 'x': uniform\\(low, high\\) takes 2 numbers, got 1"),
        (_space(x="uniform(1, 0)"), "parameter 'x': uniform needs low < high"),
        (_space(x="uniform('a', 1)"), "parameter 'x': uniform\\(low, high\\) takes numbers"),
        (_space(x="uniform(0, 1e999)"), "parameter 'x': uniform\\(low, high\\) takes numbers"),
        (_space(x="log(0, 1)"), "parameter 'x': log needs 0 < low"),
        (_space(x="quantized_uniform(0, 1, 0)"), "parameter 'x': quantized_uniform needs a step q > 0"),
        (_space(x="quantized_log(0.1, 0.2, 1)"), "parameter 'x': no multiple of 1"),
        (_space(x="choice([])"), "parameter 'x': choice takes one non-empty list"),
        (_space(x="choice(['a', 'a'])"), "parameter 'x': a choice is listed twice"),
        (_space(x="choice([[1]])"), "parameter 'x': a choice must be text"),
        (_space(x="uniform(low=0, high=1)"), "parameter 'x': uniform takes no named arguments"),
        (
            _space(x="uniform(__import__('os'), 1)"),
            "parameter 'x': the arguments of uniform must be literals",
        ),
        (_space(x="uniform(0, 1); import os"), "parameter 'x': .* is not one of"),
        ('{"x": 3}', "parameter 'x': expected text"),
        (json.dumps({f"p{i}": "uniform(0, 1)" for i in range(101)}), "at most 100 parameters"),
    ],
)
def test_malformed_spaces_are_refused_naming_the_parameter(text: str, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=f"^SEARCH_SPACE: {message}"):
        parse_search_space(text)

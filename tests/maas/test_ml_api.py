"""MaaS_ML's REST API over real HTTP: tokens, deploy, predict, versions, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maas import models
from maas.live import MASTER, Live, bearer, live
from runyard.maas import inputs, ml_server, tables
from runyard.maas.ml_server import create_app
from runyard.maas.settings import MLSettings


def deploy(ml: Live, headers: dict[str, str], name: str, data: bytes, **fields: Any) -> Any:
    answer = ml.client.post(
        f"{ml.url}api/deploy",
        headers=headers,
        files={"model_file": ("model", data)},
        data={"model_name": name, **fields},
    )
    return answer


def predict(ml: Live, headers: dict[str, str], name: str, data: Any, **extra: Any) -> Any:
    return ml.client.post(
        f"{ml.url}api/predict", headers=headers, json={"model_name": name, "data": data, **extra}
    )


def test_get_token_needs_the_master_token(ml: Live) -> None:
    assert ml.client.post(f"{ml.url}api/get_token", data={"user": "bob"}).status_code == 401
    wrong = ml.client.post(f"{ml.url}api/get_token", params={"user": "bob"}, headers=bearer("x" * 40))
    assert wrong.status_code == 401
    assert "error" in wrong.json()
    token = ml.token("bob")
    # A user token cannot issue tokens.
    assert ml.client.post(f"{ml.url}api/get_token", headers=bearer(token)).status_code == 401
    assert (
        ml.client.post(f"{ml.url}api/get_token", params={"user": "../x"}, headers=bearer(MASTER)).status_code
        == 400
    )


def test_calls_need_a_token(ml: Live) -> None:
    assert ml.client.get(f"{ml.url}api/health").status_code == 200
    missing = ml.client.get(f"{ml.url}api/list_models")
    assert missing.status_code == 401
    assert set(missing.json()) == {"error"}
    assert ml.client.get(f"{ml.url}api/list_models", headers=bearer("nope")).status_code == 401
    assert ml.client.get(f"{ml.url}api/list_models", headers=bearer(MASTER)).status_code == 401
    token = ml.token()
    assert ml.client.get(f"{ml.url}api/list_models", params={"api_token": token}).status_code == 200
    # Through the platform's proxy, which keeps Authorization for itself.
    assert ml.client.get(f"{ml.url}api/list_models", headers={"X-Api-Token": token}).status_code == 200
    by_header = ml.client.post(f"{ml.url}api/get_token", headers={"X-Api-Token": MASTER})
    assert by_header.status_code == 200 and by_header.json()["user"] == "user"
    assert ml.client.post(f"{ml.url}api/get_token", params={"api_token": MASTER}).status_code == 401


def test_a_pickled_model_predicts_as_itself(ml: Live, user: dict[str, str], iris: models.Iris) -> None:
    answer = deploy(ml, user, "iris_frame", models.pickled(iris.model))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"model_name": "iris_frame", "model_version": 1}
    rows = iris.rows(30)
    scored = predict(ml, user, "iris_frame", {"columns": iris.columns, "rows": rows})
    assert scored.status_code == 200, scored.text
    expected = iris.model.predict(iris.frame.iloc[:: len(iris.frame) // 30][:30]).tolist()
    assert scored.json()["predictions"] == expected
    # Columns in another order are put back in the model's order by name.
    reordered = {"columns": iris.columns[::-1], "rows": [row[::-1] for row in rows]}
    assert predict(ml, user, "iris_frame", reordered).json()["predictions"] == expected
    # One row, as the benchmark sends it.
    one = predict(ml, user, "iris_frame", {"columns": iris.columns, "rows": rows[:1]})
    assert one.json()["predictions"] == expected[:1]


def test_joblib_array_model_and_data_frame_json(ml: Live, user: dict[str, str], iris: models.Iris) -> None:
    assert deploy(ml, user, "iris_array", models.pickled(iris.array_model, compress=3)).status_code == 200
    rows = iris.rows(20)
    expected = iris.array_model.predict(np.array(rows)).tolist()
    split = {"columns": iris.columns, "index": list(range(20)), "data": rows}
    assert predict(ml, user, "iris_array", split).json()["predictions"] == expected
    records = [dict(zip(iris.columns, row, strict=True)) for row in rows]
    assert predict(ml, user, "iris_array", records).json()["predictions"] == expected


def test_an_onnx_model_predicts_as_the_model(ml: Live, user: dict[str, str], iris: models.Iris) -> None:
    data = models.onnx_bytes(iris.array_model, 4)
    assert deploy(ml, user, "iris_onnx", data, model_version="3").json() == {
        "model_name": "iris_onnx",
        "model_version": 3,
    }
    rows = iris.rows(40)
    scored = predict(ml, user, "iris_onnx", {"columns": iris.columns, "rows": rows}).json()
    assert scored["predictions"] == iris.array_model.predict(np.array(rows)).tolist()
    listed = ml.client.get(f"{ml.url}api/list_models", headers=user).json()["models"]
    onnx = next(m for m in listed if m["model_name"] == "iris_onnx")
    assert onnx["versions"][0]["format"] == "onnx"
    assert onnx["versions"][0]["deployed_by"] == "alice"


def test_versions_undeploy_and_redeploy(ml: Live, user: dict[str, str], iris: models.Iris) -> None:
    assert deploy(ml, user, "versions", models.pickled(iris.array_model)).json()["model_version"] == 1
    assert deploy(ml, user, "versions", models.pickled(iris.model)).json()["model_version"] == 2
    data = {"columns": iris.columns, "rows": iris.rows(2)}
    assert predict(ml, user, "versions", data).json()["model_version"] == 2
    assert predict(ml, user, "versions", data, model_version=1).json()["model_version"] == 1
    undeployed = ml.client.post(
        f"{ml.url}api/undeploy", headers=user, data={"model_name": "versions", "model_version": "2"}
    )
    assert undeployed.status_code == 200 and undeployed.json()["deployed"] is False
    assert predict(ml, user, "versions", data).json()["model_version"] == 1
    assert predict(ml, user, "versions", data, model_version=2).status_code == 404
    again = ml.client.post(
        f"{ml.url}api/redeploy", headers=user, json={"model_name": "versions", "model_version": 2}
    )
    assert again.status_code == 200
    assert predict(ml, user, "versions", data).json()["model_version"] == 2
    listed = ml.client.get(f"{ml.url}api/list_models", headers=user).json()["models"]
    entry = next(m for m in listed if m["model_name"] == "versions")
    assert entry["default_version"] == 2
    assert [v["deployed"] for v in entry["versions"]] == [True, True]
    taken = deploy(ml, user, "versions", models.pickled(iris.model), model_version="2")
    assert taken.status_code == 400
    missing = ml.client.post(
        f"{ml.url}api/redeploy", headers=user, data={"model_name": "versions", "model_version": 9}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "content",
    [b"not a model at all", b"\x80\x04garbage", models.pickled({"weights": [1, 2]}), b""],
    ids=["text", "broken-pickle", "no-predict", "empty"],
)
def test_a_file_that_is_not_a_model_is_refused(ml: Live, user: dict[str, str], content: bytes) -> None:
    answer = deploy(ml, user, "not_a_model", content)
    assert answer.status_code == 400
    assert "model_file" in answer.json()["error"]
    listed = ml.client.get(f"{ml.url}api/list_models", headers=user).json()["models"]
    assert "not_a_model" not in [m["model_name"] for m in listed]


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "x" * 65, "", "é"])
def test_hostile_names_are_refused(ml: Live, user: dict[str, str], iris: models.Iris, name: str) -> None:
    answer = deploy(ml, user, name, models.pickled(iris.array_model))
    assert answer.status_code == 400
    assert "model_name" in answer.json()["error"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"columns": ["a", "b", "c", "d"], "rows": [[1, 2, 3]]}, "row 0 has 3 values"),
        ({"columns": ["a", "b", "c", "d"], "rows": [[1, 2, 3, 4], "x"]}, "row 1 is not a list"),
        ({"columns": ["a", "b", "c", "d"], "rows": [[1, 2, 3, {"x": 1}]]}, "row 0 holds a dict"),
        ({"columns": ["a", "b"], "rows": [[1, 2]]}, "takes 4 columns"),
        ({"columns": ["a", "b", "c", "d"], "rows": [["one", 2, 3, 4]]}, "could not score"),
        ({"columns": ["a", "a", "c", "d"], "rows": [[1, 2, 3, 4]]}, "twice"),
        ({"columns": ["a", "b", "c", "d"], "rows": []}, "no rows"),
        ("rows", "data must be"),
        ([{"a": 1}, {"b": 2}], "record 1"),
        ({"columns": ["a" * 257, "b", "c", "d"], "rows": [[1, 2, 3, 4]]}, "256 characters"),
    ],
)
def test_malformed_rows_are_refused_with_the_reason(
    ml: Live, user: dict[str, str], iris: models.Iris, data: Any, reason: str
) -> None:
    deploy(ml, user, "malformed", models.pickled(iris.array_model), model_version="1")
    answer = predict(ml, user, "malformed", data, model_version=1)
    assert answer.status_code == 400
    assert reason in answer.json()["error"]


def test_wrong_columns_for_a_named_model(ml: Live, user: dict[str, str], iris: models.Iris) -> None:
    deploy(ml, user, "named", models.pickled(iris.model))
    answer = predict(ml, user, "named", {"columns": ["w", "x", "y", "z"], "rows": [[1, 2, 3, 4]]})
    assert answer.status_code == 400
    assert "missing" in answer.json()["error"]


def test_bodies_beyond_their_bounds_answer_413(
    ml: Live, user: dict[str, str], iris: models.Iris, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ml_server, "MAX_MODEL_BYTES", 1000)
    big = deploy(ml, user, "big", models.pickled(iris.model))
    assert big.status_code == 413
    monkeypatch.setattr(ml_server, "MAX_FORM_BYTES", 2000)
    assert deploy(ml, user, "big", b"\x80" * 5000).status_code == 413
    monkeypatch.setattr(inputs, "MAX_JSON_BYTES", 100)
    rows = {"columns": iris.columns, "rows": iris.rows(10)}
    assert predict(ml, user, "big", rows).status_code == 413

    def chunks() -> Any:
        yield b'{"model_name": "big", "data": '
        yield b" " * 200
        yield b"}"

    chunked = ml.client.post(f"{ml.url}api/predict", headers=user, content=chunks())
    assert chunked.status_code == 413
    monkeypatch.undo()
    monkeypatch.setattr(tables, "MAX_ROWS", 5)
    deploy(ml, user, "rows", models.pickled(iris.array_model))
    assert predict(ml, user, "rows", {"columns": iris.columns, "rows": iris.rows(6)}).status_code == 413


def test_trace_and_stored_predictions(ml: Live, iris: models.Iris) -> None:
    headers = bearer(ml.token("carol"))
    deploy(ml, headers, "traced", models.pickled(iris.array_model), logging_prediction="true")
    deploy(ml, headers, "untraced", models.pickled(iris.array_model), logging_prediction="false")
    for name in ("traced", "untraced"):
        predict(ml, headers, name, {"columns": iris.columns, "rows": iris.rows(3)})
    deploy(ml, headers, "../bad", b"x")
    trace = ml.client.get(f"{ml.url}api/trace", headers=headers).json()
    assert trace["enabled"] is True
    mine = [e for e in trace["trace"] if e["user"] == "carol"]
    assert [(e["action"], e["model_name"]) for e in mine[:3]] == [
        ("deploy", None),
        ("predict", "untraced"),
        ("predict", "traced"),
    ]
    assert mine[0]["outcome"].startswith("refused (400)")
    assert mine[1]["outcome"] == "ok" and mine[1]["model_version"] == 1
    assert {e["token"] for e in mine if e["action"] != "get_token"} == {mine[0]["token"]}
    assert mine[-1]["action"] == "get_token" and mine[-1]["token"] == "master"
    stored = ml.client.get(
        f"{ml.url}api/predictions", headers=headers, params={"model_name": "traced"}
    ).json()
    assert stored["predictions"][0]["rows"] == iris.rows(3)
    assert stored["predictions"][0]["user"] == "carol"
    nothing = ml.client.get(f"{ml.url}api/predictions", headers=headers, params={"model_name": "untraced"})
    assert nothing.json()["predictions"] == []
    invalid = ml.client.get(f"{ml.url}api/trace", headers=headers, params={"limit": "many"})
    assert invalid.status_code == 400 and "limit" in invalid.json()["error"]


def test_openapi_lists_the_operations(ml: Live) -> None:
    described = ml.client.get(f"{ml.url}api/openapi.json").json()
    assert set(described["components"]["securitySchemes"]) == {"bearer", "header", "query"}
    paths = described["paths"]
    prefix = ml.url.removeprefix(ml.url.split("/api/")[0])
    names = {path.removeprefix(prefix) for path in paths}
    assert {
        "api/get_token",
        "api/deploy",
        "api/list_models",
        "api/predict",
        "api/redeploy",
        "api/undeploy",
        "api/update",
        "api/trace",
        "api/predictions",
    } <= names


def test_no_trace_and_a_model_that_no_longer_loads(tmp_path: Path, iris: models.Iris) -> None:
    """``--no-trace`` keeps no trace; a saved model whose file broke is left undeployed at start-up."""
    settings = MLSettings(state_dir=tmp_path, master_token=MASTER, trace=False)
    with live(create_app(settings)) as server:
        headers = bearer(server.token())
        for name in ("kept", "broken"):
            files = {"model_file": ("m", models.pickled(iris.array_model))}
            server.client.post(
                f"{server.url}api/deploy", headers=headers, files=files, data={"model_name": name}
            )
        assert server.client.get(f"{server.url}api/trace", headers=headers).json() == {
            "enabled": False,
            "trace": [],
        }
    (tmp_path / "models" / "broken" / "1" / "model.bin").write_bytes(b"\x80garbage")
    with live(create_app(settings)) as server:
        listed = server.client.get(f"{server.url}api/list_models", headers=headers).json()["models"]
        assert {m["model_name"]: m["versions"][0]["deployed"] for m in listed} == {
            "broken": False,
            "kept": True,
        }

"""MaaS_ML: scikit-learn (pickle, joblib) and ONNX models served over REST, with drift detection.

``python -m runyard.maas.ml_server --host H --port P --state-dir DIR [--base-path /prefix/] [--drift |
--no-drift] [--drift-threshold 1.9] [--trace | --no-trace] [--https] [--instance-name NAME]``, with
``MAAS_MASTER_TOKEN`` in the environment; ``docs/model-serving.md`` describes the API.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from runyard.maas import inputs, ml_pages, runner, web
from runyard.maas.defaults import (
    DRIFTS_KEPT,
    INLINE_ROWS,
    MAX_CSV_BYTES,
    MAX_FORM_BYTES,
    MAX_MODEL_BYTES,
    NOTIFY_COLUMNS,
    NOTIFY_MESSAGE_LENGTH,
    NOTIFY_NAME_LENGTH,
    NOTIFY_ROWS,
    PREDICTION_COLUMNS_KEPT,
    PREDICTION_ROWS_KEPT,
    PREDICTIONS_KEPT,
)
from runyard.maas.drift import DETECTORS, detector_name
from runyard.maas.errors import RequestRefused
from runyard.maas.journal import Journal
from runyard.maas.ml_models import Deployment, ModelRegistry, ModelVersion
from runyard.maas.names import checked_count, checked_name, checked_version
from runyard.maas.notify import Notifier
from runyard.maas.runtime import ServerState, now
from runyard.maas.settings import MLSettings, ml_settings
from runyard.maas.tables import Table, read_table
from runyard.maas.tokens import Caller

_DATA = {
    "description": "{columns, rows}; pandas 'split' ({columns, index, data}) or 'records' ([{...}]) JSON",
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array"},
            },
        },
        {"type": "array", "items": {"type": "object"}},
    ],
}


class MLState(ServerState):
    """MaaS_ML's instance: its models, stored predictions, drift results and notifier."""

    def __init__(self, settings: MLSettings) -> None:
        super().__init__(settings)
        self.ml = settings
        self.models = ModelRegistry(settings.state_dir / "models", settings.drift_threshold)
        self.predictions = Journal(settings.state_dir / "predictions.jsonl", PREDICTIONS_KEPT)
        self.drifts = Journal(settings.state_dir / "drifts.jsonl", DRIFTS_KEPT)
        self.journals += [self.predictions, self.drifts]
        wanted = settings.notify_url or settings.notify_file
        self.notifier = (
            Notifier(settings.notify_url, settings.notify_token, settings.notify_file) if wanted else None
        )
        self._episodes: dict[tuple[str, int], tuple[str, ...]] = {}

    def start(self) -> None:
        super().start()
        if self.notifier is not None:
            self.notifier.start()

    def stop(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        super().stop()

    def score(self, who: Caller, model: ModelVersion, table: Table, detector: str | None) -> dict[str, Any]:
        """The predict answer for ``table``; stores it and reports a drift as configured."""
        assert model.predictor is not None
        predictions = model.predictor.predict(table)
        drift = None
        if detector is not None and model.drift is not None:
            drift = model.drift.detect(detector, table)
            self._report(who, model, drift)
        if model.logging_prediction:
            rows = [list(row[:PREDICTION_COLUMNS_KEPT]) for row in table.rows[:PREDICTION_ROWS_KEPT]]
            self.predictions.append(
                {
                    "time": now(),
                    "user": who.user,
                    "model_name": model.model_name,
                    "model_version": model.model_version,
                    "row_count": len(table),
                    "columns": list(table.columns[:PREDICTION_COLUMNS_KEPT]),
                    "rows": rows,
                    "predictions": predictions[:PREDICTION_ROWS_KEPT],
                    "drift_columns": None if drift is None else drift["columns"],
                }
            )
        return {
            "model_name": model.model_name,
            "model_version": model.model_version,
            "predictions": predictions,
            "drift": drift,
        }

    def _report(self, who: Caller, model: ModelVersion, drift: dict[str, Any]) -> None:
        """Keep a drift found; notify once per episode: a run of calls on the model version that drift
        in the same columns (a call without drift ends it)."""
        key = (model.model_name, model.model_version)
        columns = tuple(drift["columns"])
        previous = self._episodes.pop(key, ())
        if not columns:
            return
        self._episodes[key] = columns
        details = {
            "model_name": model.model_name,
            "model_version": model.model_version,
            "detector": drift["detector"],
            "columns": [name[:NOTIFY_NAME_LENGTH] for name in columns[:NOTIFY_COLUMNS]],
            "rows": drift["rows"][:NOTIFY_ROWS],
        }
        self.drifts.append({"time": now(), "user": who.user, **details})
        if self.notifier is not None and columns != previous:
            message = f"{drift['detector']} found drift in {len(drift['rows'])} rows, columns " + ", ".join(
                columns
            )
            self.notifier.send(
                {
                    "kind": "drift",
                    "title": f"Drift in {model.model_name} v{model.model_version}",
                    "message": message[:NOTIFY_MESSAGE_LENGTH],
                    "details": details,
                }
            )


def create_app(settings: MLSettings) -> FastAPI:
    """The MaaS_ML application for ``settings`` (its lifespan runs the background threads)."""
    state = MLState(settings)
    prefix = settings.prefix
    models = state.models
    app = web.application(state, f"MaaS_ML {settings.instance_name}")

    @app.post(
        f"{prefix}/api/deploy",
        tags=["models"],
        summary="Deploy a model file (pickle, joblib or ONNX) with an optional drift baseline (CSV)",
        openapi_extra=web.form_body(
            {
                "model_file": {"type": "string", "format": "binary"},
                "baseline_data": {"type": "string", "format": "binary"},
                **web.MODEL_FIELDS,
                "drift_window_size": {"type": "integer", "description": "rows sampled from the baseline"},
                "logging_prediction": {"type": "boolean", "default": True},
            },
            ["model_file", "model_name"],
        ),
    )
    async def deploy(request: Request) -> Response:
        async with inputs.upload(state, request, MAX_FORM_BYTES) as sent:
            fields = sent.fields
            with state.operation(sent.who, "deploy") as done:
                done.model = checked_name(fields.get("model_name"))
                model_file = await inputs.file_field(sent.form, "model_file", MAX_MODEL_BYTES, required=True)
                assert model_file is not None
                deployment = Deployment(
                    model_name=done.model,
                    model_version=checked_version(fields.get("model_version")),
                    model_file=model_file,
                    baseline_data=await inputs.file_field(
                        sent.form, "baseline_data", MAX_CSV_BYTES, required=False
                    ),
                    drift_window_size=checked_count(fields.get("drift_window_size"), "drift_window_size"),
                    logging_prediction=inputs.flag(
                        fields.get("logging_prediction"), "logging_prediction", True
                    ),
                    user=sent.who.user,
                )
                added = await run_in_threadpool(models.deploy, deployment)
                done.version = added.model_version
        return web.json_response({"model_name": added.model_name, "model_version": added.model_version})

    @app.get(
        f"{prefix}/api/list_models", tags=["models"], summary="Every model, its versions, which are deployed"
    )
    async def list_models(request: Request) -> Response:
        inputs.caller(state, request)
        return web.json_response({"models": models.listing()})

    @app.post(
        f"{prefix}/api/predict",
        tags=["predictions"],
        summary="Score rows; with drift detection on, the drifted rows and columns",
        openapi_extra=web.json_body(
            {
                "type": "object",
                "required": ["model_name", "data"],
                "properties": {
                    **web.MODEL_FIELDS,
                    "data": _DATA,
                    "detector": {"type": "string", "enum": list(DETECTORS), "default": "HDDM_A"},
                },
            }
        ),
    )
    async def predict(request: Request) -> Response:
        body = await inputs.read_json(request)
        if not isinstance(body, dict):
            raise RequestRefused("the body must be a JSON object with model_name and data")
        who = inputs.caller(state, request, body)
        with state.operation(who, "predict", body.get("model_name")) as done:
            model = models.served(
                checked_name(body.get("model_name")), checked_version(body.get("model_version"))
            )
            done.version = model.model_version
            table = read_table(body.get("data"))
            detector = detector_name(body.get("detector")) if settings.drift else None
            if detector is None and len(table) <= INLINE_ROWS:
                answer = state.score(who, model, table, detector)
            else:
                answer = await run_in_threadpool(state.score, who, model, table, detector)
        return web.json_response(answer)

    async def undeploy(who: Caller, name: str, version: int, fields: dict[str, Any]) -> Any:
        return models.undeploy(name, version).meta()

    async def redeploy(who: Caller, name: str, version: int, fields: dict[str, Any]) -> Any:
        return (await run_in_threadpool(models.redeploy, name, version, who.user)).meta()

    web.version_action(app, state, "undeploy", "Stop serving a model version (it stays saved)", {}, undeploy)
    summary = "Serve a saved model version again (it becomes the default of its name)"
    web.version_action(app, state, "redeploy", summary, {}, redeploy)

    @app.post(
        f"{prefix}/api/update",
        tags=["models"],
        summary="Replace the drift baseline of a deployed model (the latest version when none is named)",
        openapi_extra=web.form_body(
            {
                "baseline_data": {"type": "string", "format": "binary"},
                **web.MODEL_FIELDS,
                "drift_window_size": {"type": "integer"},
            },
            ["baseline_data", "model_name"],
        ),
    )
    async def update(request: Request) -> Response:
        async with inputs.upload(state, request, MAX_CSV_BYTES + 1024 * 1024) as sent:
            fields = sent.fields
            with state.operation(sent.who, "update", fields.get("model_name")) as done:
                name = checked_name(fields.get("model_name"))
                baseline = await inputs.file_field(sent.form, "baseline_data", MAX_CSV_BYTES, required=True)
                assert baseline is not None
                window = checked_count(fields.get("drift_window_size"), "drift_window_size")
                version = checked_version(fields.get("model_version"))
                updated = await run_in_threadpool(models.update, name, version, baseline, window)
                done.version = updated.model_version
        return web.json_response(updated.meta())

    @app.get(f"{prefix}/api/predictions", tags=["predictions"], summary="Stored predictions, newest first")
    async def predictions(request: Request, limit: int = 100, model_name: str | None = None) -> Response:
        inputs.caller(state, request)
        stored = state.predictions.latest()
        if model_name is not None:
            stored = [entry for entry in stored if entry["model_name"] == model_name]
        return web.json_response({"predictions": stored[: max(0, limit)]})

    app.get(f"{prefix}/", include_in_schema=False)(web.page(state, lambda: ml_pages.audit(state)))
    app.get(f"{prefix}/predictions", include_in_schema=False)(
        web.page(state, lambda: ml_pages.predictions(state))
    )
    return app


def main(argv: Sequence[str] | None = None) -> None:
    settings = ml_settings(sys.argv[1:] if argv is None else argv)
    runner.serve(create_app(settings), settings, "MaaS_ML")


if __name__ == "__main__":
    main()

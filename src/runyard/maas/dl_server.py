"""MaaS_DL: ONNX models served by ONNX Runtime, with saved versions, rollback and a model configuration.

``python -m runyard.maas.dl_server --host H --port P --state-dir DIR --model-base-path DIR [--refresh 30]
[--base-path /prefix/] [--trace | --no-trace] [--https] [--instance-name NAME]``, with
``MAAS_MASTER_TOKEN`` in the environment; ``docs/model-serving.md`` describes the API.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from runyard.maas import inputs, pages, runner, web
from runyard.maas.defaults import INLINE_ROWS, MAX_JSON_BYTES, MAX_MODEL_BYTES, MAX_ROWS
from runyard.maas.dl_models import DLRepository
from runyard.maas.errors import RequestRefused, TooLarge
from runyard.maas.names import checked_name, checked_version
from runyard.maas.runtime import ServerState
from runyard.maas.settings import DLSettings, dl_settings
from runyard.maas.tables import read_table
from runyard.maas.tokens import Caller

log = logging.getLogger(__name__)
_APPEND = {"append": {"type": "boolean", "default": True, "description": "keep the other served versions"}}


class DLState(ServerState):
    """MaaS_DL's instance: its model repository, re-read every ``refresh`` seconds."""

    def __init__(self, settings: DLSettings) -> None:
        super().__init__(settings)
        self.dl = settings
        self.models = DLRepository(settings.model_base_path, settings.state_dir / "model_config.json")
        self._stopped = threading.Event()
        self._refresher = threading.Thread(target=self._refresh, name="maas-dl-refresh", daemon=True)

    def start(self) -> None:
        super().start()
        self._refresher.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._refresher.is_alive():
            self._refresher.join()
        super().stop()

    def _refresh(self) -> None:
        while not self._stopped.wait(self.dl.refresh):
            try:
                self.models.refresh()
            except Exception:  # the thread keeps polling whatever one read of the file met
                log.exception("the model configuration could not be re-read")


def create_app(settings: DLSettings) -> FastAPI:
    """The MaaS_DL application for ``settings`` (its lifespan runs the background threads)."""
    state = DLState(settings)
    prefix = settings.prefix
    models = state.models
    app = web.application(state, f"MaaS_DL {settings.instance_name}")

    @app.post(
        f"{prefix}/api/deploy",
        tags=["models"],
        summary="Save an ONNX model as a new version and serve it",
        openapi_extra=web.form_body(
            {"model_file": {"type": "string", "format": "binary"}, **web.MODEL_FIELDS, **_APPEND},
            ["model_file", "model_name"],
        ),
    )
    async def deploy(request: Request) -> Response:
        async with inputs.upload(state, request, MAX_MODEL_BYTES + 1024 * 1024) as sent:
            with state.operation(sent.who, "deploy", sent.fields.get("model_name")) as done:
                name = checked_name(sent.fields.get("model_name"))
                version = checked_version(sent.fields.get("model_version"))
                append = inputs.flag(sent.fields.get("append"), "append", True)
                data = await inputs.file_field(sent.form, "model_file", MAX_MODEL_BYTES, required=True)
                assert data is not None
                done.version = await run_in_threadpool(models.deploy, name, version, data, append)
        return web.json_response({"model_name": name, "model_version": done.version, "append": append})

    @app.get(f"{prefix}/api/list_deployed_models", tags=["models"], summary="The served models and versions")
    async def list_deployed_models(request: Request) -> Response:
        inputs.caller(state, request)
        return web.json_response(models.config())

    @app.get(
        f"{prefix}/api/list_saved_models", tags=["models"], summary="The versions saved in MODEL_BASE_PATH"
    )
    async def list_saved_models(request: Request) -> Response:
        inputs.caller(state, request)
        saved = models.saved()
        return web.json_response({"models": [{"model_name": n, "versions": v} for n, v in saved.items()]})

    @app.post(
        f"{prefix}/api/clean_saved_models",
        tags=["models"],
        summary="Delete the saved versions not served (of one model, or of all)",
        openapi_extra=web.form_body({"model_name": {"type": "string"}}),
    )
    async def clean_saved_models(request: Request) -> Response:
        fields = await inputs.read_fields(request)
        who = inputs.caller(state, request, fields)
        with state.operation(who, "clean_saved_models", fields.get("model_name")) as done:
            name = None if not fields.get("model_name") else checked_name(fields.get("model_name"))
            removed = await run_in_threadpool(models.clean, name)
            done.outcome = f"ok: {len(removed)} removed"
        return web.json_response({"removed": removed})

    @app.post(
        f"{prefix}/api/predict",
        tags=["predictions"],
        summary="Score instances (an array of inputs) or rows as MaaS_ML takes them",
        openapi_extra=web.json_body(
            {
                "type": "object",
                "required": ["model_name"],
                "properties": {
                    **web.MODEL_FIELDS,
                    "instances": {"type": "array"},
                    "data": {"type": "object"},
                },
            }
        ),
    )
    async def predict(request: Request) -> Response:
        body = await inputs.read_json(request)
        if not isinstance(body, dict):
            raise RequestRefused("the body must be a JSON object with model_name and instances")
        who = inputs.caller(state, request, body)
        with state.operation(who, "predict", body.get("model_name")) as done:
            name = checked_name(body.get("model_name"))
            version, predictor = models.served(name, checked_version(body.get("model_version")))
            done.version = version
            array = _instances(body)
            if len(array) <= INLINE_ROWS:
                predictions = predictor.run(array)
            else:
                predictions = await run_in_threadpool(predictor.run, array)
        return web.json_response({"model_name": name, "model_version": version, "predictions": predictions})

    async def redeploy(who: Caller, name: str, version: int, fields: dict[str, Any]) -> Any:
        await run_in_threadpool(
            models.redeploy, name, version, inputs.flag(fields.get("append"), "append", True)
        )
        return models.config()

    async def undeploy(who: Caller, name: str, version: int, fields: dict[str, Any]) -> Any:
        await run_in_threadpool(models.undeploy, name, version)
        return models.config()

    summary = "Serve a saved version again (rollback = an older one); it becomes the default"
    web.version_action(app, state, "redeploy", summary, _APPEND, redeploy)
    web.version_action(app, state, "undeploy", "Stop serving a version (it stays saved)", {}, undeploy)

    @app.post(
        f"{prefix}/api/upload_model_config",
        tags=["models"],
        summary="Serve as a model configuration (JSON or YAML; a file 'model_config' or the body) says",
        openapi_extra=web.form_body(
            {"model_config": {"type": "string", "format": "binary"}}, ["model_config"]
        ),
    )
    async def upload_model_config(request: Request) -> Response:
        if request.headers.get("content-type", "").startswith(("multipart/", "application/x-www-form")):
            async with inputs.upload(state, request, MAX_JSON_BYTES) as sent:
                who = sent.who
                text = await inputs.file_field(sent.form, "model_config", MAX_JSON_BYTES, required=True)
        else:
            who = inputs.caller(state, request)
            text = await inputs.read_body(request, MAX_JSON_BYTES)
        with state.operation(who, "upload_model_config"):
            assert text is not None
            await run_in_threadpool(models.upload_config, text)
        return web.json_response(models.config())

    @app.get(f"{prefix}/api/download_model_config", tags=["models"], summary="The model configuration served")
    async def download_model_config(request: Request) -> Response:
        inputs.caller(state, request)
        return web.json_response(models.config())

    app.get(f"{prefix}/", include_in_schema=False)(web.page(state, lambda: _audit(state)))
    return app


def _instances(body: dict[str, Any]) -> np.ndarray:
    """The inputs to score: ``instances`` (nested lists of numbers), else ``data`` as MaaS_ML takes it."""
    if "instances" not in body:
        table = read_table(body.get("data"))
        if table.numbers is None:
            raise RequestRefused("data must hold numbers only")
        return table.numbers
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestRefused("instances must be a non-empty list of inputs")
    if len(instances) > MAX_ROWS:
        raise TooLarge(f"at most {MAX_ROWS} instances per call")
    try:
        array = np.array(instances, dtype=np.float64)
    except (ValueError, TypeError):
        raise RequestRefused("instances must be nested lists of numbers, all of the same shape") from None
    return array


def _audit(state: DLState) -> str:
    """The served and saved models and the token timeline."""
    prefix = state.settings.prefix
    served = [
        (e["name"], e["versions"], e["default_version"], e["base_path"])
        for e in state.models.config()["model_config_list"]
    ]
    saved = list(state.models.saved().items())
    body = (
        pages.links([(f"{prefix}/api/ui", "Swagger UI")])
        + pages.section(
            "Service variables",
            pages.table(
                ("variable", "value"),
                [
                    ("INSTANCE_NAME", state.settings.instance_name),
                    ("MODEL_BASE_PATH", state.dl.model_base_path),
                    ("MODELS_DEPLOYMENT_REFRESH", state.dl.refresh),
                    ("TRACE_ENABLED", state.settings.trace),
                    ("HTTPS_ENABLED", state.settings.https),
                ],
            ),
        )
        + pages.section("Served models", pages.table(("model", "versions", "default", "base path"), served))
        + pages.section("Saved models", pages.table(("model", "versions"), saved))
        + pages.section("Users", pages.users(state.tokens.users()))
        + pages.section("Token timeline", pages.timeline(state.trace.latest(200)))
    )
    return pages.document(f"MaaS_DL: {state.settings.instance_name}", body)


def main(argv: Sequence[str] | None = None) -> None:
    settings = dl_settings(sys.argv[1:] if argv is None else argv)
    runner.serve(create_app(settings), settings, "MaaS_DL")


if __name__ == "__main__":
    main()

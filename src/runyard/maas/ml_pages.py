"""MaaS_ML's pages: Audit & Traceability (the endpoint's home) and Predictions Preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runyard.maas import pages

if TYPE_CHECKING:
    from runyard.maas.ml_server import MLState

_SHOWN = 200


def audit(state: MLState) -> str:
    """Service variables, models, the token timeline and drift results."""
    settings = state.ml
    prefix = settings.prefix
    variables = [
        ("INSTANCE_NAME", settings.instance_name),
        ("DRIFT_ENABLED", settings.drift),
        ("DRIFT_THRESHOLD", settings.drift_threshold),
        ("TRACE_ENABLED", settings.trace),
        ("HTTPS_ENABLED", settings.https),
        ("BASE_PATH", settings.base_path),
        ("NOTIFICATIONS", bool(settings.notify_url)),
    ]
    versions = [
        (
            v["model_name"],
            v["model_version"],
            v["format"],
            v["deployed"],
            v["deployed_at"],
            v["deployed_by"],
            v["baseline_columns"],
            v["drift_window_size"],
            v["logging_prediction"],
        )
        for model in state.models.listing()
        for v in model["versions"]
    ]
    drifts = [
        (d["time"], d["user"], d["model_name"], d["model_version"], d["detector"], d["columns"], d["rows"])
        for d in state.drifts.latest(_SHOWN)
    ]
    body = (
        pages.links([(f"{prefix}/predictions", "Predictions Preview"), (f"{prefix}/api/ui", "Swagger UI")])
        + pages.section("Service variables", pages.table(("variable", "value"), variables))
        + pages.section(
            "Models",
            pages.table(
                (
                    "model",
                    "version",
                    "format",
                    "deployed",
                    "at",
                    "by",
                    "baseline columns",
                    "window",
                    "logging",
                ),
                versions,
                "no model deployed yet",
            ),
        )
        + pages.section("Users", pages.users(state.tokens.users()))
        + pages.section(
            "Token timeline",
            pages.timeline(
                state.trace.latest(_SHOWN),
                "nothing traced" if settings.trace else "tracing is off (TRACE_ENABLED false)",
            ),
        )
        + pages.section(
            "Drift results",
            pages.table(
                ("time", "user", "model", "version", "detector", "columns", "rows"), drifts, "no drift"
            ),
        )
    )
    return pages.document(f"Audit & Traceability: {settings.instance_name}", body)


def predictions(state: MLState) -> str:
    """The stored predictions, newest first (first rows of each call)."""
    prefix = state.settings.prefix
    stored = [
        (
            p["time"],
            p["user"],
            p["model_name"],
            p["model_version"],
            p["row_count"],
            p["columns"],
            p["rows"][:10],
            p["predictions"][:10],
            p["drift_columns"],
        )
        for p in state.predictions.latest(_SHOWN)
    ]
    body = pages.links(
        [(f"{prefix}/", "Audit & Traceability"), (f"{prefix}/api/ui", "Swagger UI")]
    ) + pages.table(
        ("time", "user", "model", "version", "rows", "columns", "first rows", "first predictions", "drift"),
        stored,
        "no prediction stored (LOGGING_PREDICTION off, or none made yet)",
    )
    return pages.document(f"Predictions Preview: {state.settings.instance_name}", body)

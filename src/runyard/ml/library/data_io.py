"""Input and output data (§12.2.2): ``Import_Data``, ``Export_Data``, ``Preview_Results``,
``Download_Model``, ``Import_Model``, ``Log_Parser``."""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd

from runyard.ml import artifacts, reports, sources
from runyard.ml.task import Task, columns_text, library_task


def _table(task: Task, variable: str, delimiter: str = ",") -> tuple[pd.DataFrame, str | None]:
    url = task.required(variable)
    try:
        return sources.read_table(url, delimiter, task.userspace, task.globalspace)
    except sources.SourceError as error:
        raise task.fail(f"{variable} {error}") from None


def _data(task: Task) -> tuple[dict[str, Any], pd.DataFrame]:
    """The table to show or export: predictions, else a frame, else a split's test part."""
    found = task.need(artifacts.PREDICTIONS, artifacts.FRAME, artifacts.SPLIT)
    found = found["test"] if found["kind"] == artifacts.SPLIT else found
    return found, task.read_frame(found)


@library_task
def import_data(task: Task) -> dict[str, Any]:
    frame, label = _table(task, "FILE_URL", task.text("FILE_DELIMITER", ","))
    label = task.text("LABEL_COLUMN") or label
    if label and label not in frame.columns:
        task.check_columns(frame, [label], "LABEL_COLUMN")
    task.show("imported data", frame)
    artifact = task.write_frame("data", frame, label)
    if task.flag("DATA_TYPE_IDENTIFICATION", False):
        artifact["feature_types"] = {
            str(c): "numerical" if pd.api.types.is_numeric_dtype(t) else "categorical"
            for c, t in frame.dtypes.items()
        }
    return artifact


@library_task
def export_data(task: Task) -> dict[str, Any]:
    form = task.choice("OUTPUT_FILE", "HTML", (*reports.FORMATS, "TABLEAU"), upper=True)
    if form == "TABLEAU":
        raise task.fail("OUTPUT_FILE TABLEAU needs Tableau's Hyper API, which runyard does not ship: use CSV")
    found, frame = _data(task)
    limit = task.limit()
    path = task.write_table(frame if limit is None else frame.head(limit), "export", form)
    print(f"{task.name}: {frame.shape[0]} rows exported as {form} to $userspace/{path}")
    return _report([path], found)


@library_task
def preview_results(task: Task) -> dict[str, Any]:
    found, frame = _data(task)
    form = task.choice("OUTPUT_FILE", "HTML", reports.FORMATS, upper=True)
    limit = task.limit()
    page = task.folder() / "preview.html"
    page.write_text(reports.html_page(task.name, frame, found.get("metrics"), limit), encoding="utf-8")
    paths = [page.relative_to(task.userspace).as_posix()]
    if form != "HTML":
        paths.append(task.write_table(frame if limit is None else frame.head(limit), "preview", form))
    task.show("results", frame)
    if found.get("metrics"):
        print(f"{task.name}: metrics {found['metrics']}")
    return {**_report(paths, found), "html": paths[0]}


@library_task
def download_model(task: Task) -> dict[str, Any]:
    model = dict(task.need(artifacts.MODEL))
    model["download"] = model["path"]
    print(f"{task.name}: the model is $userspace/{model['path']}, described in $userspace/{model['sidecar']}")
    return model


@library_task
def import_model(task: Task) -> dict[str, Any]:
    url = task.required("MODEL_URL")
    try:
        content = sources.read_bytes(url, task.userspace, task.globalspace)
        import joblib  # here: Import_Data need not import it

        estimator = joblib.load(io.BytesIO(content))
    except sources.SourceError as error:
        raise task.fail(f"MODEL_URL {error}") from None
    except Exception as error:  # what unpickling a file may raise is open-ended
        raise task.fail(
            f"MODEL_URL {url}: not a joblib or pickle model file ({type(error).__name__})"
        ) from None
    from sklearn.base import is_classifier, is_regressor  # here: Import_Data need not import scikit-learn

    if not hasattr(estimator, "predict"):
        raise task.fail(f"MODEL_URL {url}: a {type(estimator).__name__} has no predict method")
    kind = (
        "classification" if is_classifier(estimator) else "regression" if is_regressor(estimator) else "other"
    )
    names = getattr(estimator, "feature_names_in_", None)
    sidecar = {
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "task_type": kind,
        "features": [str(n) for n in names] if names is not None else None,
        "label": task.text("LABEL_COLUMN") or None,
        "source": url,
    }
    print(f"{task.name}: imported a {sidecar['estimator']} from {url}")
    return artifacts.write_model(task.userspace, task.folder(), estimator, sidecar)


@library_task
def log_parser(task: Task) -> dict[str, Any]:
    """Match each line of ``LOG_FILE`` against the patterns of ``PATTERNS_FILE`` (CSV with
    ``id_pattern``, ``Pattern``, ``Variables``); one row per matched line."""
    try:
        log = sources.read_bytes(task.required("LOG_FILE"), task.userspace, task.globalspace)
    except sources.SourceError as error:
        raise task.fail(f"LOG_FILE {error}") from None
    patterns, _ = _table(task, "PATTERNS_FILE")
    missing = {"id_pattern", "Pattern", "Variables"} - set(patterns.columns)
    if missing:
        raise task.fail(
            f"PATTERNS_FILE lacks the column(s) {', '.join(sorted(missing))} ({columns_text(patterns)})"
        )
    compiled = []
    for row in patterns.itertuples(index=False):
        try:
            expression = re.compile(str(row.Pattern))
        except re.error as error:
            raise task.fail(
                f"PATTERNS_FILE pattern {row.id_pattern}: not a regular expression ({error})"
            ) from None
        compiled.append((row.id_pattern, expression, [v.strip() for v in str(row.Variables).split(",")]))
    rows = []
    for line in log.decode("utf-8", errors="replace").splitlines():
        for number, expression, names in compiled:
            match = expression.search(line)
            if match:
                values = dict(zip(names, match.groups(), strict=False))
                rows.append({"id_pattern": number, **{k: v for k, v in values.items() if k != "*"}})
                break
    frame = pd.DataFrame(rows)
    task.show("structured log", frame)
    artifact = task.write_frame("data", frame, None)
    form = task.choice("STRUCTURED_LOG", "CSV", ("CSV", "HTML"), upper=True)
    artifact["files"] = [task.write_table(frame, "structured_log", form)]
    return artifact


def _report(files: list[str], data: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": artifacts.REPORT,
        "files": files,
        "rows": data.get("rows"),
        "columns": data.get("columns"),
        "metrics": data.get("metrics"),
        "data": data,
    }

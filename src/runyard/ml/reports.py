"""What people read: an HTML page of a table and its metrics, and tables written as CSV/JSON/HTML."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

FORMATS = ("CSV", "JSON", "HTML")

_STYLE = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:90%}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
)


def html_page(title: str, frame: pd.DataFrame, metrics: dict[str, Any] | None, limit: int | None) -> str:
    """A standalone page: the title, the metrics, the first ``limit`` rows (all if ``None``)."""
    shown = frame if limit is None else frame.head(limit)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{frame.shape[0]} rows, {frame.shape[1]} columns; {shown.shape[0]} shown.</p>",
    ]
    if metrics:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_figure(v))}</td></tr>"
            for k, v in metrics.items()
        )
        parts.append(f"<h2>Metrics</h2><table>{rows}</table><h2>Data</h2>")
    parts.append(shown.to_html(index=False, border=0, escape=True))
    parts.append("</body></html>")
    return "".join(parts)


def write_table(frame: pd.DataFrame, path: Path, form: str) -> None:
    """``frame`` as ``form`` (CSV, JSON records, or an HTML table) at ``path``."""
    if form == "CSV":
        frame.to_csv(path, index=False)
    elif form == "JSON":
        frame.to_json(path, orient="records")
    else:
        path.write_text(html_page(path.stem, frame, None, None), encoding="utf-8")


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value)

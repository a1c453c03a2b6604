"""The servers' HTML pages: every value is escaped, every link starts with the instance's prefix."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

_STYLE = (
    "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#eee}"
    "nav a{margin-right:1.5em}code{font-size:90%}"
)


def document(title: str, body: str) -> str:
    """A complete page; ``title`` is escaped here, ``body`` must be built from escaped parts."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def links(items: Iterable[tuple[str, str]]) -> str:
    """A navigation bar of (href, label) pairs."""
    return (
        "<nav>" + "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in items) + "</nav>"
    )


def section(title: str, content: str) -> str:
    return f"<h2>{escape(title)}</h2>{content}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str = "none") -> str:
    """An HTML table of ``rows``; lists and dicts are shown as JSON, everything escaped."""
    body = "".join("<tr>" + "".join(f"<td>{escape(_text(v))}</td>" for v in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{body}</table>"


def timeline(entries: Iterable[dict[str, Any]], empty: str = "nothing traced") -> str:
    """The trace entries (newest first) as a table."""
    rows = (
        (e["time"], e["user"], e["token"], e["action"], e["model_name"], e["model_version"], e["outcome"])
        for e in entries
    )
    return table(("time", "user", "token", "action", "model", "version", "outcome"), rows, empty)


def users(counts: dict[str, int]) -> str:
    """Each user of the instance and how many tokens it holds."""
    return table(("user", "tokens"), sorted(counts.items()), "no token issued yet")


def login(action: str, title: str, error: str | None) -> str:
    """The form asking for a token; it POSTs ``token`` to ``action``."""
    message = f'<p style="color:#b00">{escape(error)}</p>' if error else ""
    form = (
        f'{message}<form method="post" action="{escape(action)}"><label>API token '
        '<input type="password" name="token" autocomplete="off" size="50"></label> '
        '<button type="submit">Open</button></form>'
        "<p>A token comes from <code>POST …/api/get_token</code> with the instance's master token.</p>"
    )
    return document(title, form)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    return str(value)

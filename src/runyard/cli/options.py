"""Parsing of repeated ``KEY=VALUE`` options."""

from __future__ import annotations

import typer


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """``["A=1", "B=x=y"]`` → ``{"A": "1", "B": "x=y"}``; a value without ``=`` is a usage error."""
    result: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        result[key] = value
    return result


def node_tokens(values: list[str] | None) -> dict[str, tuple[str, ...]]:
    """``["local-1=T", "local-1=U"]`` → ``{"local-1": ("T", "U")}``."""
    tokens: dict[str, tuple[str, ...]] = {}
    for item in values or []:
        node, _, token = item.partition("=")
        if not node or not token:
            raise typer.BadParameter(f"expected NODE=TOKEN, got {item!r}", param_hint="--node-token")
        tokens[node] = (*tokens.get(node, ()), token)
    return tokens

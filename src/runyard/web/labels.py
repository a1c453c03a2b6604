"""Accessible names of elements, set as values.

Never format a name into a ``props("…")`` string: NiceGUI parses that string, and a prop written
``:name="…"`` is run as JavaScript, so text from a user (a task, bucket or action name) could run code in
the portal. :func:`labelled` sets the ``aria-label`` property itself, whatever the text holds.
"""

from __future__ import annotations

from typing import TypeVar

from nicegui.element import Element

E = TypeVar("E", bound=Element)


def labelled(element: E, name: str) -> E:
    """``element`` with the accessible name ``name`` (what screen readers say and the tests look for)."""
    element.props["aria-label"] = name
    return element

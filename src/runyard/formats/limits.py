"""How big a workflow document may be: every reader checks these before it builds anything.

A workflow comes from users who do not trust each other, through the server: a document nested
thousands of levels deep overflows the C stack of a parser, and a few hundred bytes of YAML aliases
(or XML entities) can stand for billions of nodes. Each limit, when passed, is one
:class:`~runyard.errors.Problem` naming it; nothing is parsed further.
"""

from __future__ import annotations

MAX_BYTES = 16 * 1024 * 1024
"""Largest document read (the server's default request body limit)."""

MAX_DEPTH = 100
"""Deepest nesting of YAML collections or XML elements (a ProActive job needs about 10)."""

MAX_NODES = 200_000
"""Most YAML nodes (each alias counted as the size of what it stands for) or XML elements
(a 10,000-task workflow has about 100,000; reading 200,000 XML elements takes about a second)."""


def too_large(size: int) -> str | None:
    """The reason a document of ``size`` bytes is refused, or ``None``."""
    if size > MAX_BYTES:
        return f"the document is {size} bytes long, over the limit of {MAX_BYTES} bytes"
    return None


def too_deep() -> str:
    return f"the document is nested deeper than the limit of {MAX_DEPTH} levels"


def too_many(what: str) -> str:
    """``what``: the unit counted (``"elements"``, ``"nodes (aliases expanded)"``)."""
    return f"the document has more {what} than the limit of {MAX_NODES}"

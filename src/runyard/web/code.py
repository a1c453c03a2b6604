"""Read-only code with syntax highlighting (CodeMirror), the language told by the content type or name.

Never ``ui.code``: it renders through Markdown, where content holding a fence would become HTML.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from nicegui import ui
from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES as Language

from runyard.web.labels import labelled

#: Content types (without parameters) and file suffixes, to CodeMirror's language names.
_BY_CONTENT_TYPE: dict[str, Language] = {
    "application/xml": "XML",
    "text/xml": "XML",
    "application/yaml": "YAML",
    "application/x-yaml": "YAML",
    "text/yaml": "YAML",
    "text/x-yaml": "YAML",
    "application/json": "JSON",
    "text/x-python": "Python",
    "text/x-script.python": "Python",
    "application/x-python": "Python",
    "application/x-sh": "Shell",
    "text/x-sh": "Shell",
    "text/x-shellscript": "Shell",
    "text/x-groovy": "Groovy",
    "application/javascript": "JavaScript",
    "text/javascript": "JavaScript",
    "text/x-r": "R",
    "text/html": "HTML",
    "text/markdown": "Markdown",
    "text/css": "CSS",
    "application/sql": "SQL",
    "application/toml": "TOML",
}
_BY_SUFFIX: dict[str, Language] = {
    ".xml": "XML",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".json": "JSON",
    ".py": "Python",
    ".sh": "Shell",
    ".bash": "Shell",
    ".groovy": "Groovy",
    ".js": "JavaScript",
    ".r": "R",
    ".html": "HTML",
    ".md": "Markdown",
    ".css": "CSS",
    ".sql": "SQL",
    ".toml": "TOML",
}


def language(content_type: str, name: str = "") -> Language | None:
    """CodeMirror's name for the language of a content type (``+xml``, ``+json`` included), else of the
    name's suffix; ``None`` for plain text."""
    bare = content_type.split(";", 1)[0].strip().lower()
    if bare in _BY_CONTENT_TYPE:
        return _BY_CONTENT_TYPE[bare]
    for suffix in ("+xml", "+json", "+yaml"):
        if bare.endswith(suffix):
            return _BY_SUFFIX["." + suffix[1:]]
    return _BY_SUFFIX.get(PurePosixPath(name).suffix.lower())


def code_view(text: str, *, content_type: str = "", name: str = "", label: str = "Content") -> ui.codemirror:
    """``text`` highlighted, read-only, labelled ``label`` (a fixed text, not user content) for assistive
    technology and tests."""
    view = ui.codemirror(text, language=language(content_type, name), line_wrapping=True)
    view.disable()
    return labelled(view, label).classes("w-full border rounded")

"""Which engine runs which language, and how a script's language is found."""

from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import Iterable

from runyard.errors import ScriptError
from runyard.model import Script
from runyard.scripts.engine import ScriptEngine

_engines: dict[str, ScriptEngine] = {}

#: File extensions of ProActive's script languages, so that a file in a language runyard cannot
#: run yet gets an error naming that language. ``register`` adds to it.
_extensions: dict[str, str] = {
    ".py": "cpython",
    ".sh": "bash",
    ".bash": "bash",
    ".groovy": "groovy",
    ".js": "javascript",
    ".r": "R",
    ".rb": "ruby",
    ".pl": "perl",
    ".php": "php",
    ".ps1": "powershell",
    ".bat": "cmd",
    ".cmd": "cmd",
    ".vbs": "vbscript",
}


def register(language: str, engine: ScriptEngine, extensions: Iterable[str] = ()) -> None:
    """Make ``engine`` run ``language`` (replacing any engine it had); files ending with one of
    ``extensions`` (``".py"``) are then inferred to be in ``language``."""
    _engines[language] = engine
    for extension in extensions:
        _extensions[extension.lower()] = language


def known_languages() -> frozenset[str]:
    return frozenset(_engines)


def get_engine(language: str) -> ScriptEngine:
    """The engine of ``language``; names are matched exactly, then regardless of case."""
    engine = _engines.get(_canonical(language))
    if engine is None:
        raise ScriptError(f"unknown script language {language!r} (runyard runs: {_known_text()})")
    return engine


def resolve_language(script: Script) -> str:
    """The language ``script`` is in: its declared one, else inferred from its file or URL extension."""
    if script.language:
        language = _canonical(script.language)
        if language not in _engines:
            raise ScriptError(f"unknown script language {script.language!r} (runyard runs: {_known_text()})")
        return language
    location = script.file or (urllib.parse.urlsplit(script.url).path if script.url else None)
    if location is None:
        raise ScriptError("a script with inline code must declare its language")
    extension = posixpath.splitext(location.replace("\\", "/"))[1].lower()
    language_of_file = _extensions.get(extension)
    if language_of_file is None:
        raise ScriptError(
            f"cannot tell the language of script {script.file or script.url!r} from its name: declare it"
        )
    if language_of_file not in _engines:
        raise ScriptError(
            f"script {script.file or script.url!r} is in {language_of_file}, which runyard cannot run"
            f" (runyard runs: {_known_text()})"
        )
    return language_of_file


def _canonical(language: str) -> str:
    if language in _engines:
        return language
    by_lower = {name.lower(): name for name in _engines}
    return by_lower.get(language.lower(), language)


def _known_text() -> str:
    return ", ".join(sorted(_engines))

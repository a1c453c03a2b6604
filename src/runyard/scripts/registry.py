"""Which engine runs which language, and how a script's language is found."""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from collections.abc import Callable, Iterable

from runyard.errors import ScriptError
from runyard.model import Script
from runyard.scripts.engine import ScriptEngine

_engines: dict[str, ScriptEngine] = {}

#: ProActive's script languages (``ScriptEngines.adoc``): a workflow in one that runyard cannot run
#: here is still valid (``runyard validate`` warns), and is refused at submission.
PROACTIVE_LANGUAGES = (
    "bash", "shell", "cmd", "powershell", "vbscript", "docker", "docker-compose", "kubernetes",
    "javascript", "groovy", "ruby", "python", "cpython", "R", "perl", "php", "scalaw",
)  # fmt: skip

#: The path of a catalog object's raw content: a script there without a ``language`` gets the one
#: its content type names when the task starts (ProActive takes it from the file name it is served as).
_CATALOG_RAW = re.compile(r"/buckets/[^/]+/resources/[^/]+(?:/revisions/[^/]+)?/raw/?$")


class LanguageUnavailable(ScriptError):
    """The script is in a language ProActive runs but runyard cannot run here; says why."""


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
    """The engine of ``language``; names are matched exactly, then regardless of case.

    Raises ``LanguageUnavailable`` for a ProActive language runyard cannot run here, ``ScriptError``
    for a name no engine knows."""
    engine = _engines.get(_canonical(language))
    if engine is None:
        raise _unknown(language)
    reason = unavailable_reason(engine)
    if reason is not None:
        raise LanguageUnavailable(f"{language} scripts cannot run here: {reason}")
    return engine


def unavailable_reason(engine: ScriptEngine) -> str | None:
    """Why ``engine`` cannot run here, or ``None``; an engine without ``unavailable`` is available."""
    unavailable: Callable[[], str | None] | None = getattr(engine, "unavailable", None)
    return None if unavailable is None else unavailable()


def language_known_at_start(script: Script) -> bool:
    """Whether ``script`` is a catalog object's raw content without a declared language: the
    language is then the one of the object's content type, read when the task starts."""
    if script.language or script.url is None:
        return False
    return _CATALOG_RAW.search(urllib.parse.urlsplit(script.url).path) is not None


def check_runnable(script: Script) -> str:
    """:func:`resolve_language`, and that its engine can run here (else ``LanguageUnavailable``)."""
    language = resolve_language(script)
    get_engine(language)
    return language


def resolve_language(script: Script) -> str:
    """The language ``script`` is in: its declared one, else inferred from its file or URL extension."""
    if script.language:
        language = _canonical(script.language)
        if language not in _engines:
            raise _unknown(script.language)
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
        raise LanguageUnavailable(
            f"script {script.file or script.url!r} is in {language_of_file}, which runyard cannot run"
            f" (runyard runs: {_known_text()})"
        )
    return language_of_file


def _unknown(language: str) -> ScriptError:
    known = {name.lower(): name for name in PROACTIVE_LANGUAGES}
    if language.lower() in known:
        return LanguageUnavailable(
            f"{known[language.lower()]} scripts cannot run here: runyard has no {known[language.lower()]}"
            f" engine (runyard runs: {_known_text()})"
        )
    return ScriptError(f"unknown script language {language!r} (runyard runs: {_known_text()})")


def _canonical(language: str) -> str:
    if language in _engines:
        return language
    by_lower = {name.lower(): name for name in _engines}
    return by_lower.get(language.lower(), language)


def _known_text() -> str:
    return ", ".join(sorted(_engines, key=str.lower))

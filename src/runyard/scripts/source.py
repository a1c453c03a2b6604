"""Loading a script's text: inline code, a file (relative to the workflow's folder) or a URL."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runyard.errors import ScriptError
from runyard.model import Script
from runyard.model.substitution import substitute
from runyard.scripts.engine import ScriptSource

#: Seconds to wait for a script URL to answer.
URL_TIMEOUT = 30.0


def load_source(
    script: Script, *, label: str, variables: Mapping[str, Any], source_dir: str | None = None
) -> ScriptSource:
    """The text of ``script``, read now (at run time).

    ``label`` names inline code in tracebacks (``<main script of task T>``). A relative file path
    resolves against ``source_dir`` (the workflow's folder), else the current folder. ``${VAR}``
    references in a URL are substituted from ``variables`` before it is fetched.
    """
    if script.code is not None:
        return ScriptSource(script.code, label)
    if script.file is not None:
        return _read_file(script.file, source_dir)
    if script.url is not None:
        return _fetch(substitute(script.url, variables))
    raise ScriptError(f"{label} has no code, file or url")


def _read_file(file: str, source_dir: str | None) -> ScriptSource:
    path = Path(file)
    if not path.is_absolute():
        path = Path(source_dir or ".").joinpath(path).absolute()
    try:
        return ScriptSource(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise ScriptError(f"script file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScriptError(f"cannot read script file {path}: {error}") from None


def _fetch(url: str) -> ScriptSource:
    # Imported here: urllib.request pulls in http, email and ssl, which node agents should not
    # hold (every byte they hold makes their forks slower).
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT) as response:
            data: bytes = response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ScriptError(f"cannot fetch script {url}: {error}") from None
    try:
        return ScriptSource(data.decode("utf-8"), url)
    except UnicodeDecodeError as error:
        raise ScriptError(f"script {url} is not UTF-8 text: {error}") from None

"""Script languages as the ProActive kernel names them, and how a task shares variables in each.

``export=[X]`` / ``import=[X]`` of ``#%task`` are code added around the cell's code: the exporting task
puts ``X`` into ``variables`` after its code, the importing one reads it back first (propagated
variables reach every descendant task).
"""

from __future__ import annotations

from dataclasses import dataclass

from runyard.kernel.pragmas import PragmaError

#: ProActive kernel names (any case) → runyard engine names. Languages runyard cannot run here are kept:
#: the server says why at submission.
LANGUAGES = {
    "python": "cpython",
    "cpython": "cpython",
    "jython": "cpython",
    "linux_bash": "bash",
    "bash": "bash",
    "shell": "shell",
    "groovy": "groovy",
    "javascript": "javascript",
    "r": "R",
    "windows_cmd": "cmd",
    "powershell": "powershell",
    "ruby": "ruby",
    "perl": "perl",
    "scalaw": "scalaw",
    "dockercompose": "docker-compose",
}
DEFAULT_LANGUAGE = "cpython"


@dataclass(frozen=True)
class Sharing:
    """Code reading (``read``) and writing (``write``) variable ``{name}`` in one language."""

    read: str
    write: str


_SHARING = {
    "cpython": Sharing('{name} = variables.get("{name}")', 'variables.put("{name}", {name})'),
    "groovy": Sharing('def {name} = variables.get("{name}")', 'variables.put("{name}", {name})'),
    "javascript": Sharing('var {name} = variables.get("{name}")', 'variables.put("{name}", {name})'),
    "bash": Sharing('{name}="$variables_{name}"', 'echo "{name}=${name}" >> "$localspace/.variables"'),
}


def engine_language(name: str | None) -> str:
    """The engine running ``name`` (a ProActive kernel language name; ``None``: Python)."""
    if name is None:
        return DEFAULT_LANGUAGE
    language = LANGUAGES.get(name.lower())
    if language is None:
        known = ", ".join(sorted({*LANGUAGES}))
        raise PragmaError(f"unknown language {name!r} (known: {known})", "Parameter error")
    return language


def with_shared_variables(code: str, language: str, imports: list[str], exports: list[str]) -> str:
    """``code`` reading ``imports`` first and writing ``exports`` last."""
    if not imports and not exports:
        return code
    sharing = _SHARING.get(language)
    if sharing is None:
        known = ", ".join(sorted(_SHARING))
        raise PragmaError(f"export/import are available in {known}, not {language}", "Parameter error")
    for name in [*imports, *exports]:
        if not name.isidentifier() or not name.isascii():
            raise PragmaError(f"{name!r} is not a variable name", "Parameter error")
    reads = [sharing.read.format(name=name) for name in imports]
    writes = [sharing.write.format(name=name) for name in exports]
    return "\n".join([*reads, code.rstrip("\n"), *writes]) + "\n"

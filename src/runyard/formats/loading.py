"""Load and dump workflows in any supported format, validated and located."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats.dot import dump_dot
from runyard.formats.locations import locate
from runyard.formats.xml_reader import read_xml
from runyard.formats.xml_writer import write_xml
from runyard.formats.yaml_format import read_yaml, write_yaml
from runyard.model import Workflow, validation

Format = Literal["xml", "yaml"]
_EXTENSIONS: dict[str, Format] = {".xml": "xml", ".yaml": "yaml", ".yml": "yaml"}


def load(path: str | Path, *, validate: bool = True) -> Workflow:
    """Read a workflow file (``.xml``, ``.yaml``/``.yml``, else the content decides).

    Raises ``WorkflowFormatError`` listing every problem, each as ``file:line: ...``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WorkflowFormatError([Problem(f"cannot read the file: {error.strerror}", str(path))]) from None
    format = _EXTENSIONS.get(path.suffix.lower()) or ("xml" if data.lstrip().startswith(b"<") else "yaml")
    return _load(data, format, str(path), validate)


def loads(
    text: str | bytes, *, format: Format | None = None, source: str = "<string>", validate: bool = True
) -> Workflow:
    """Read a workflow from ``text`` (XML if it starts with ``<``, else YAML, unless ``format``)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _load(data, format or ("xml" if data.lstrip().startswith(b"<") else "yaml"), source, validate)


def _load(data: bytes, format: Format, source: str, checked: bool) -> Workflow:
    if format == "xml":
        workflow, problems = read_xml(data, source)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WorkflowFormatError(
                [Problem(f"the file is not UTF-8 text: {error.reason}", source)]
            ) from None
        workflow, problems = read_yaml(text, source)
    if checked and not problems:  # rules checked on a half-read workflow would only add noise
        problems = validate(workflow)
    if problems:
        raise WorkflowFormatError(sorted(problems, key=lambda p: p.line or 0))
    return workflow


def validate(workflow: Workflow) -> list[Problem]:
    """:func:`runyard.model.validation.validate`, each problem located in ``workflow.source``."""
    return [locate(p, workflow.locations, workflow.source) for p in validation.validate(workflow)]


def dump_xml(workflow: Workflow) -> str:
    """The workflow as ProActive job XML (namespace 3.14)."""
    return write_xml(workflow)


def dump_yaml(workflow: Workflow) -> str:
    """The workflow as runyard YAML."""
    return write_yaml(workflow)


def dump(workflow: Workflow, path: str | Path) -> None:
    """Write the workflow to ``path`` in the format its extension names."""
    path = Path(path)
    writers = {"xml": write_xml, "yaml": write_yaml, "dot": dump_dot}
    format = "dot" if path.suffix.lower() == ".dot" else _EXTENSIONS.get(path.suffix.lower())
    if format is None:
        raise WorkflowFormatError(
            [
                Problem(
                    f"cannot tell the format from the extension {path.suffix!r}: "
                    "use .xml, .yaml, .yml or .dot"
                )
            ]
        )
    path.write_text(writers[format](workflow), encoding="utf-8")

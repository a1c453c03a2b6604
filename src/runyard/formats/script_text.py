"""How script code is normalised when read from any format."""

from __future__ import annotations


def normalize_code(text: str) -> str:
    """``text`` without the blank lines before it nor the blanks after it, which layout adds
    around code in XML and YAML; indentation of the first line is kept."""
    lines = text.rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)

"""No page formats a value into a ``props("…")`` string: NiceGUI parses it, and a ``:prop`` there runs as
JavaScript, so a user's text in it could run code in the portal (``web/labels.py`` says what to do)."""

from __future__ import annotations

import re
from pathlib import Path

import runyard.web

WEB = Path(runyard.web.__file__).parent
#: ``.props(f"…")`` or ``.props(f'…')``, whatever the spaces.
FORMATTED = re.compile(r"""\.props\(\s*f["']""")


def test_no_props_string_is_formatted() -> None:
    found = [
        f"{path.relative_to(WEB)}:{text.count(chr(10), 0, match.start()) + 1}"
        for path in sorted(WEB.rglob("*.py"))
        for text in [path.read_text()]
        for match in FORMATTED.finditer(text)
    ]
    assert found == [], f"set the value instead (labels.labelled, element.props[NAME] = value): {found}"


def test_the_check_sees_a_formatted_props_string() -> None:
    assert FORMATTED.search("""card.props(f'aria-label="{name}"')""")
    assert FORMATTED.search("""card.props(\n    f"aria-label={name}"\n)""")  # over lines too
    assert not FORMATTED.search("""card.props('aria-label="Jobs"')""")

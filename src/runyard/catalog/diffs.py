"""Two revisions of a catalog object compared line by line (``difflib``): the blocks a side-by-side view
draws (equal, replaced, deleted, inserted lines, with their line numbers), and the unified diff.

Only text compares: a revision that is not UTF-8 is refused, as are revisions of more than
:data:`MAX_LINES` lines (a line-by-line match of two such files costs more than a request should).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sqlalchemy as sa

from runyard.auth import User
from runyard.catalog.objects import read_raw
from runyard.catalog.revisions import list_revisions
from runyard.errors import InvalidRequestError, NotFoundError

MAX_LINES = 20_000


@dataclass(frozen=True)
class Block:
    """Lines of both revisions that match (``equal``) or do not (``replace``, ``delete``, ``insert``);
    ``*_start`` is the 1-based number of the block's first line on each side."""

    kind: str
    left_start: int
    left: list[str]
    right_start: int
    right: list[str]


@dataclass(frozen=True)
class RevisionDiff:
    bucket: str
    name: str
    from_revision: int
    to_revision: int
    identical: bool
    blocks: list[Block]
    unified: str


def diff_revisions(
    connection: sa.Connection,
    user: User,
    bucket: str,
    name: str,
    from_revision: int | None = None,
    to_revision: int | None = None,
) -> RevisionDiff:
    """``from_revision`` against ``to_revision`` (by default the latest, and the one before it), if
    ``user`` may read the object."""
    numbers = [r.revision for r in list_revisions(connection, user, bucket, name)]  # newest first
    to = numbers[0] if to_revision is None else to_revision
    older = [n for n in numbers if n < to]
    if from_revision is None and not older:
        raise InvalidRequestError(
            f"{bucket}/{name} has no revision before {to}: name the revisions to compare"
        )
    start = older[0] if from_revision is None else from_revision
    for number in (start, to):
        if number not in numbers:
            raise NotFoundError(f"{bucket}/{name} has no revision {number}")
    left = _lines(connection, user, bucket, name, start)
    right = _lines(connection, user, bucket, name, to)
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    blocks = [
        Block(kind, i1 + 1, left[i1:i2], j1 + 1, right[j1:j2])
        for kind, i1, i2, j1, j2 in matcher.get_opcodes()
    ]
    unified = difflib.unified_diff(left, right, f"{name}@{start}", f"{name}@{to}", lineterm="")
    return RevisionDiff(bucket, name, start, to, left == right, blocks, "\n".join(unified))


def _lines(connection: sa.Connection, user: User, bucket: str, name: str, revision: int) -> list[str]:
    data = read_raw(connection, user, bucket, name, revision).data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError(
            f"{bucket}/{name} revision {revision} is not text: only text compares"
        ) from None
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise InvalidRequestError(
            f"{bucket}/{name} revision {revision} has {len(lines)} lines: at most {MAX_LINES} compare"
        )
    return lines

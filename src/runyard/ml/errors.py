"""The one error a library task raises on bad input: a line for people, not a traceback.

It is a ``ScriptFailure``, which the cpython engine reports by its message alone, so a task reading a
missing column fails with ``Train_Model: LABEL_COLUMN 'price' is not a column of the data (...)``.
"""

from __future__ import annotations

from runyard.scripts.engine import ScriptFailure


class TaskInputError(ScriptFailure):
    """A library task cannot work with what it was given: a variable, a column, a file, a parent."""

    def __init__(self, task: str, message: str) -> None:
        super().__init__(f"{task}: {message}")

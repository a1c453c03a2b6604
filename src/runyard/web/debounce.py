"""Acting once input has rested: editors report each keystroke, a check is a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

#: How long input must rest, in seconds.
DELAY = 0.4


class Debounced:
    """Call it at each change: it runs ``action`` once the calls have stopped for ``delay`` seconds
    (in the page's context: a timer of the element being built or changed)."""

    def __init__(self, action: Callable[[], Awaitable[None]], delay: float = DELAY) -> None:
        self.action = action
        self.delay = delay
        self.timer: ui.timer | None = None

    def __call__(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = ui.timer(self.delay, self.action, once=True)

"""What the SDK raises: every failure to get a good answer from a server.

::

    RunyardError
    └── ClientError             the SDK could not do what was asked
        ├── ApiError            the server answered with an error status (.status .error .message .details)
        ├── ConnectionFailed    the server could not be reached, or the connection broke
        └── WaitTimeout         a wait ran out of time (also a builtin ``TimeoutError``)

httpx errors never escape: they are translated where requests are sent (:mod:`runyard.client.transport`).
"""

from __future__ import annotations

from typing import Any

from runyard.errors import RunyardError


class ClientError(RunyardError):
    """Root of the SDK's errors."""


class ApiError(ClientError):
    """A non-2xx answer; the fields are the server's ``{"error", "message", "details"}`` body.

    ``error`` is a code (``unauthorized``, ``forbidden``, ``not_found``, ``conflict``,
    ``invalid_request``, ``invalid_workflow``...); ``details`` is what the server adds, such as the
    located problems of an invalid workflow.
    """

    def __init__(self, status: int, error: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message, self.details = status, error, message, details


class ConnectionFailed(ClientError):
    """No answer: the server is unreachable, or the connection dropped or timed out."""


class WaitTimeout(ClientError, TimeoutError):
    """The job did not end within the time given."""

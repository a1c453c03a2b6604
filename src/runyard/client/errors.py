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

from runyard.errors import ApiError, ClientError

__all__ = ["ApiError", "ClientError", "ConnectionFailed", "WaitTimeout"]


class ConnectionFailed(ClientError):
    """No answer: the server is unreachable, or the connection dropped or timed out."""


class WaitTimeout(ClientError, TimeoutError):
    """The job did not end within the time given."""

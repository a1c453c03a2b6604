"""What the model servers refuse, each with its HTTP status.

::

    InvalidRequestError (runyard.errors)
    └── RequestRefused        400  the request is wrong: the message says why
        ├── Unauthorized      401  no token, or not a token of this instance
        ├── UnknownModel      404  no such model or version (deployed, or saved for MaaS_DL)
        └── TooLarge          413  a body, file or table beyond the bounds of ``defaults``

Every one answers ``{"error": message}``.
"""

from __future__ import annotations

from runyard.errors import InvalidRequestError


class RequestRefused(InvalidRequestError):
    """The request cannot be served as sent."""

    status = 400


class Unauthorized(RequestRefused):
    """No valid token came with the request."""

    status = 401


class UnknownModel(RequestRefused):
    """No model of that name and version here."""

    status = 404


class TooLarge(RequestRefused):
    """A body, file or table exceeds its bound."""

    status = 413

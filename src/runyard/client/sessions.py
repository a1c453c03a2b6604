"""Logging in and out, and who the token belongs to."""

from __future__ import annotations

import httpx

from runyard.client.documents import Health, Session, User
from runyard.client.transport import Call, json_body, operation


class SessionsApi:
    token: str | None

    @operation
    def login(self, user: str, password: str) -> Call[Session]:
        """Open a session: the client keeps its token for the next requests (``client.token``)."""

        def adopt(response: httpx.Response) -> Session:
            session: Session = response.json()
            self.token = session["token"]
            return session

        return Call("POST", "/sessions", adopt, json={"username": user, "password": password})

    @operation
    def logout(self) -> Call[None]:
        """Revoke the token (it answers 401 from now on) and forget it."""

        def forget(_response: httpx.Response) -> None:
            self.token = None

        return Call("DELETE", "/sessions/current", forget)

    @operation
    def whoami(self) -> Call[User]:
        """The user the token belongs to, with their role."""
        return Call("GET", "/me", json_body)

    @operation
    def health(self) -> Call[Health]:
        """``{"status": "ok", "version"}``; needs no token."""
        return Call("GET", "/health", json_body)

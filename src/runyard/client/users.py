"""Accounts on the server: admins list, add and remove users; anyone changes their own password."""

from __future__ import annotations

from runyard.client.documents import Session, User
from runyard.client.transport import Call, json_body, no_body, operation, segment


class UsersApi:
    @operation
    def list_users(self) -> Call[list[User]]:
        """Every account (admins only)."""
        return Call("GET", "/users", json_body)

    @operation
    def add_user(self, name: str, password: str, *, admin: bool = False) -> Call[User]:
        """Create an account (admins only)."""
        return Call("POST", "/users", json_body, json={"name": name, "password": password, "admin": admin})

    @operation
    def remove_user(self, name: str) -> Call[None]:
        """Delete an account and its sessions; its jobs stay (admins only)."""
        return Call("DELETE", f"/users/{segment(name)}", no_body)

    @operation
    def change_password(self, name: str, password: str) -> Call[None]:
        """Your own password, or anyone's for an admin; every session of the account ends, this
        client's too when the account is its own: log in again with the new password."""
        return Call("PUT", f"/users/{segment(name)}/password", no_body, json={"password": password})

    @operation
    def issue_token(self, name: str, ttl: float) -> Call[Session]:
        """A token of ``name`` valid ``ttl`` seconds (a year at most), for a program acting as that
        account, such as a Cytomine core calling the App Engine (admins only)."""
        return Call("POST", f"/users/{segment(name)}/tokens", json_body, json={"ttl": ttl})

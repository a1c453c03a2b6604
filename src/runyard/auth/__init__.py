"""Users (admin or user role, argon2-hashed passwords) and their sessions (expiring bearer tokens)."""

from runyard.auth.sessions import close_session, open_session, session_user
from runyard.auth.users import User, add_user, authenticate, get_user, list_users, remove_user, set_password

__all__ = [
    "User",
    "add_user",
    "authenticate",
    "close_session",
    "get_user",
    "list_users",
    "open_session",
    "remove_user",
    "session_user",
    "set_password",
]

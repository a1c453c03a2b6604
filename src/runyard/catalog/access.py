"""Who may do what in the catalog.

- read a bucket and its objects: anyone if the bucket is public, else its owner and admins;
- write (add or restore revisions, delete objects, delete the bucket): its owner and admins;
- create a bucket: any user, who owns it; only an admin may name another owner.

A private bucket the user may not read answers as if it did not exist (404), so its name
leaks nothing; a bucket the user may read but not write answers 403 to writes.
"""

from __future__ import annotations

from typing import Protocol

from runyard.auth.users import User


class Guarded(Protocol):
    """What the rules look at: a bucket's owner and public flag."""

    @property
    def owner(self) -> str: ...

    @property
    def public(self) -> bool: ...


def may_read(user: User, bucket: Guarded) -> bool:
    return bucket.public or may_write(user, bucket)


def may_write(user: User, bucket: Guarded) -> bool:
    return user.is_admin or user.name == bucket.owner


def may_give_to(user: User, owner: str) -> bool:
    """Whether ``user`` may create a bucket owned by ``owner``."""
    return user.is_admin or user.name == owner

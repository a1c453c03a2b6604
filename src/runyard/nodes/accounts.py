"""The OS accounts tasks run as (docs/security.md).

A server started as root runs each runyard user's tasks under a dedicated unprivileged uid and gid,
``task_uid_base + account_number`` (no ``/etc/passwd`` entry needed); a task with ``runAsMe`` runs
as the OS account its owner is mapped to (setting ``user_mapping``), as ProActive does.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from runyard.errors import InvalidRequestError


@dataclass(frozen=True)
class Account:
    """Who a task runs as. The node agent changes to it when it runs as root; otherwise it only
    sandboxes the task under its own uid (``uid`` is then the agent's)."""

    uid: int
    gid: int
    groups: tuple[int, ...] = ()


def dedicated_account(account_number: int, uid_base: int) -> Account:
    """The account of a user numbered ``account_number``: uid and gid ``uid_base + account_number``."""
    uid = uid_base + account_number
    return Account(uid, uid)


def mapped_account(os_name: str) -> Account:
    """The OS account ``os_name`` (``runAsMe``), with its supplementary groups."""
    try:
        entry = pwd.getpwnam(os_name)
    except KeyError:
        raise InvalidRequestError(f"runAsMe: no OS account named {os_name!r} on this host") from None
    if entry.pw_uid == 0:
        raise InvalidRequestError(f"runAsMe: the OS account {os_name!r} is root; tasks never run as root")
    groups = tuple(g for g in os.getgrouplist(os_name, entry.pw_gid) if g != 0)
    return Account(entry.pw_uid, entry.pw_gid, groups)


def own_account() -> Account:
    """The server's own account: what tasks get when the server is not root (no uid change possible)."""
    return Account(os.getuid(), os.getgid())


def can_switch_accounts() -> bool:
    return os.geteuid() == 0

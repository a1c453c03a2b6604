"""Notification tokens: what a service's own process (a model server) uses to notify its owner.

A service outlives its start task and holds no job token (the start task keeps ``RUNYARD_TOKEN`` out of
its environment). It gets ``notify-<base64 "instance id:owner">.<HMAC-SHA256>`` instead, signed with a
key of its own (``notification-tokens.key``), valid for ``POST /api/v1/notifications`` only and only
while its service instance is neither FINISHED nor KILLED nor cleaned (:mod:`runyard.api.security`).
"""

from __future__ import annotations

from runyard.auth.signed_tokens import SignedTokens


class NotificationTokens(SignedTokens):
    PREFIX = "notify-"

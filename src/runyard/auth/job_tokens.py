"""Job tokens: what a task uses to call the API as its job's owner, while the job is alive.

ProActive hands tasks the scheduler session (``schedulerapi``); runyard gives each task a token
``job-<base64 "id:owner">.<HMAC-SHA256>`` signed with a key kept in the data folder
(``job-tokens.key``). Nothing is stored per token: it is checked by its signature, then by the job
being alive, so it dies with the job.
"""

from __future__ import annotations

from runyard.auth.signed_tokens import SignedTokens


class JobTokens(SignedTokens):
    PREFIX = "job-"

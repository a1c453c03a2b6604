"""TLS verification of the platform's HTTP clients.

httpx loads its CA bundle when a client is made, whatever the URL: 20 to 40 ms of CPU, paid by every
task that makes a client of its server (an SDK script, a service action, an App Engine run's runner), most
of which talk plain HTTP over loopback.
"""

from __future__ import annotations

import ssl


def verification(url: str) -> ssl.SSLContext | bool:
    """httpx's ``verify`` for a client of ``url``: its default for ``https`` (the CA bundle, or the one the
    environment names); for plain ``http``, a context that trusts no CA, made in microseconds: the client
    makes no TLS connection, and one it were led to (a redirect) would fail verification."""
    if url.strip().lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

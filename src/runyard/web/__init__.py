"""The portal: NiceGUI pages the server mounts at ``/``, a client of the REST API and its events.

Nothing here reads the store or the platform: each page talks to ``/api/v1`` over loopback with the
token of the person logged in (:mod:`runyard.web.sessions`), so whatever a page shows a script can get
too, and the API's checks are the portal's. :func:`mount` is the one entry point.
"""

from runyard.web.mount import mount

__all__ = ["mount"]

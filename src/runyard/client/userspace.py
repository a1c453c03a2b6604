"""The caller's user space: what their tasks wrote there (ML models and data, previews, pictures)."""

from __future__ import annotations

from runyard.client.documents import UserspaceListing
from runyard.client.transport import Call, bytes_body, json_body, operation, segment


class UserspaceApi:
    @operation
    def list_userspace(self, path: str = "") -> Call[UserspaceListing]:
        """A folder of your user space: ``{"path", "entries": [{"name", "kind", "size", "modified"}],
        "truncated"}``; ``kind`` is ``file``, ``folder`` or ``other`` (links are listed, never followed)."""
        return Call("GET", _path(path), json_body)

    @operation
    def read_userspace_file(self, path: str) -> Call[bytes]:
        """The content of a file of your user space (e.g. a model a task saved)."""
        return Call("GET", _path(path), bytes_body, params={"download": "true"})


def _path(path: str) -> str:
    """``ValueError`` for ``.`` and ``..``: an HTTP client would resolve them into another route."""
    names = [name for name in path.strip("/").split("/") if name]
    if any(name in (".", "..") for name in names):
        raise ValueError(f"{path!r} is not a relative path inside the user space: no '.' or '..'")
    return "/".join(["/userspace", *(segment(name) for name in names)])

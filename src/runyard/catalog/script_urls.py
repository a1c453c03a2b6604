"""Scripts named by catalog URL (``${PA_CATALOG_REST_URL}/buckets/B/resources/N/raw``), read at task start.

The server reads such a script from the store, with the rights of the job's owner, instead of
letting the node fetch it over HTTP (which would need the owner's session). Other URLs are left to
the node.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

from runyard.auth.users import User
from runyard.catalog.names import NAME_PATTERN
from runyard.catalog.objects import read_raw
from runyard.errors import NotFoundError, ScriptError

_RAW_PATH = re.compile(r"^/buckets/([^/]+)/resources/([^/]+)(?:/revisions/([^/]+))?/raw/?$")


def resolve_script_url(
    connection: sa.Connection, catalog_base_url: str, url: str, owner_name: str, owner_is_admin: bool
) -> str | None:
    """The text of the catalog object ``url`` names, read as the job's owner would.

    ``None`` if ``url`` is not a raw-content URL of this catalog (``catalog_base_url``);
    ``NotFoundError`` if it is one but names no object the owner may read; ``ScriptError`` if
    the content is not UTF-8 text.
    """
    if not catalog_base_url:
        return None
    base, target = urlsplit(catalog_base_url.rstrip("/")), urlsplit(url)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return None
    if not target.path.startswith(f"{base.path}/"):
        return None
    match = _RAW_PATH.match(target.path[len(base.path) :])
    if match is None:
        return None
    bucket, name, revision = unquote(match[1]), unquote(match[2]), match[3]
    if not (NAME_PATTERN.match(bucket) and NAME_PATTERN.match(name)) or not (revision or "0").isdigit():
        raise NotFoundError(f"the catalog URL {url} names no object")
    owner = User(owner_name, "admin" if owner_is_admin else "user")
    content = read_raw(connection, owner, bucket, name, None if revision is None else int(revision))
    try:
        return content.data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScriptError(
            f"the catalog object at {url} is not UTF-8 text, so it cannot be a script"
        ) from None

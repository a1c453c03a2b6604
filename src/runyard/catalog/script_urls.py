"""Scripts named by catalog URL (``${PA_CATALOG_REST_URL}/buckets/B/resources/N/raw``), read at task start.

The server reads such a script from the store, with the rights of the job's owner, instead of
letting the node fetch it over HTTP (which would need the owner's session). Other URLs are left to
the node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

from runyard.auth.users import User
from runyard.catalog.names import NAME_PATTERN
from runyard.catalog.objects import read_raw
from runyard.errors import NotFoundError, ScriptError

_RAW_PATH = re.compile(r"^/buckets/([^/]+)/resources/([^/]+)(?:/revisions/([^/]+))?/raw/?$")


#: Script languages by the content type of the catalog object holding the script (ProActive takes the
#: language from the file name the catalog serves it as, whose extension follows the content type).
CONTENT_TYPE_LANGUAGES = {
    "text/x-groovy": "groovy",
    "text/x-sh": "bash",
    "application/x-sh": "bash",
    "text/x-shellscript": "bash",
    "text/x-python": "cpython",
    "text/x-python3": "cpython",
    "application/x-python": "cpython",
    "text/javascript": "javascript",
    "application/javascript": "javascript",
    "text/x-r": "R",
    "text/x-rsrc": "R",
    "text/x-ruby": "ruby",
    "text/x-perl": "perl",
    "application/x-httpd-php": "php",
    "text/x-php": "php",
    "text/x-powershell": "powershell",
    "application/x-bat": "cmd",
    "text/x-vbscript": "vbscript",
}


@dataclass(frozen=True)
class CatalogScript:
    """A script read from the catalog; ``language`` is the one its content type names, if any."""

    text: str
    language: str | None


def resolve_script_url(
    connection: sa.Connection, catalog_base_url: str, url: str, owner_name: str, owner_is_admin: bool
) -> str | None:
    """The text of the catalog object ``url`` names, read as the job's owner would (see
    :func:`read_script_url`)."""
    script = read_script_url(connection, catalog_base_url, url, owner_name, owner_is_admin)
    return None if script is None else script.text


def read_script_url(
    connection: sa.Connection, catalog_base_url: str, url: str, owner_name: str, owner_is_admin: bool
) -> CatalogScript | None:
    """The catalog object ``url`` names, read as the job's owner would.

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
        text = content.data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScriptError(
            f"the catalog object at {url} is not UTF-8 text, so it cannot be a script"
        ) from None
    media_type = content.content_type.split(";", 1)[0].strip().lower()
    return CatalogScript(text, CONTENT_TYPE_LANGUAGES.get(media_type))

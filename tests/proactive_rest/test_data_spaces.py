"""ProActive's data spaces as its Java client uses them: files gzip-encoded, folders as zip archives both
ways, listing, metadata, deletion; archives and gzip bodies that try to escape or to expand without end."""

from __future__ import annotations

import io
import zipfile
import zlib

from proactive_rest.conftest import ProActiveSession, error_of


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=31)
    return packer.compress(data) + packer.flush()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_files_and_folders_both_ways(sessions: list[ProActiveSession]) -> None:
    client = sessions[0].client
    gzipped = client.put(
        "/rest/data/user/in/one.txt", content=_gzip(b"one\n"), headers={"Content-Encoding": "gzip"}
    )
    assert gzipped.status_code == 201, gzipped.text
    folder = _zip({"a.txt": b"a", "sub/b.txt": b"b", "sub/": b""})
    unpacked = client.put("/rest/data/user/in/tree", content=folder, headers={"Content-Encoding": "zip"})
    assert unpacked.status_code == 201, unpacked.text

    assert client.get("/rest/data/user/in/one.txt").content == b"one\n"
    listed = client.get("/rest/data/user/in", params={"comp": "list"}).json()
    assert listed == {
        "directoryListing": ["tree"],
        "fileListing": ["one.txt"],
        "fullListing": ["one.txt", "tree"],
    }
    head = client.head("/rest/data/user/in/tree")
    assert head.status_code == 200 and head.headers["x-proactive-ds-type"] == "DIRECTORY"

    downloaded = client.get("/rest/data/user/in")
    assert downloaded.status_code == 200 and downloaded.headers["content-encoding"] == "zip"
    with zipfile.ZipFile(io.BytesIO(downloaded.content)) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    assert contents == {"one.txt": b"one\n", "tree/a.txt": b"a", "tree/sub/b.txt": b"b"}

    assert client.delete("/rest/data/user/in").status_code == 204
    assert client.get("/rest/data/user", params={"comp": "list"}).json()["fullListing"] == []


def test_the_global_space_is_shared(sessions: list[ProActiveSession]) -> None:
    writer, reader = sessions
    assert writer.client.put("/rest/data/global/shared.txt", content=b"for all").status_code == 201
    assert reader.client.get("/rest/data/global/shared.txt").content == b"for all"
    assert reader.client.delete("/rest/data/global/shared.txt").status_code == 204


def test_archives_that_escape_or_explode(sessions: list[ProActiveSession]) -> None:
    client = sessions[1].client
    for name in ("../escaped.txt", "/abs.txt", "a/../../b.txt"):
        answer = client.put(
            "/rest/data/user/z", content=_zip({name: b"x"}), headers={"Content-Encoding": "zip"}
        )
        error_of(answer, 400, "IllegalArgumentException")
    error_of(
        client.put("/rest/data/user/z", content=b"not a zip", headers={"Content-Encoding": "zip"}),
        400,
        "IllegalArgumentException",
    )
    error_of(
        client.put("/rest/data/user/z", content=b"not gzip", headers={"Content-Encoding": "gzip"}),
        400,
        "IllegalArgumentException",
    )
    error_of(
        client.put("/rest/data/user/z", content=b"x", headers={"Content-Encoding": "br"}),
        400,
        "IllegalArgumentException",
    )
    packer = zlib.compressobj(level=1, wbits=31)  # 80 MiB of zeros in well under 1 MiB
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(80)) + packer.flush()
    error_of(
        client.put("/rest/data/user/bomb", content=bomb, headers={"Content-Encoding": "gzip"}),
        413,
        "IllegalArgumentException",
    )
    assert client.get("/rest/data/user", params={"comp": "list"}).json()["fullListing"] == []

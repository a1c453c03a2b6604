"""Bundles read with no trust in them (runyard.appengine.bundles), and image names
(runyard.appengine.images.image_name): no server, no Docker."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from appengine.conftest import BUNDLES
from appengine.helpers import bundle_entries, corpus_bundle, image_tar_of, make_zip, renamed_bundle
from runyard.appengine.bundles import Bundle, read_bundle
from runyard.appengine.errors import AppEngineError
from runyard.appengine.images import image_name

LIMIT = 256 * 2**20
NEGATIVE = {"no_version.zip", "unexpected_path.zip", "wrong_name.zip"}
POSITIVE = sorted(path.name for path in BUNDLES.glob("*.zip") if path.name not in NEGATIVE)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


def _read(bundle: Path | bytes, work: Path, limit: int = LIMIT) -> Bundle:
    source = bundle if isinstance(bundle, Path) else io.BytesIO(bundle)
    return read_bundle(source, work, max_bytes=limit)


def _refused(bundle: Path | bytes, work: Path, status: int = 400, code: str = "") -> AppEngineError:
    with pytest.raises(AppEngineError) as caught:
        _read(bundle, work)
    assert caught.value.status == status
    if code:
        assert caught.value.code == code, caught.value.message
    return caught.value


def _tar_json(tar: Path, name: str) -> Any:
    with tarfile.open(tar) as image:
        stream = image.extractfile(name)
        assert stream is not None
        return json.load(stream)


@pytest.mark.parametrize("name", POSITIVE)
def test_every_corpus_bundle_reads(name: str, tmp_path: Path) -> None:
    bundle = _read(corpus_bundle(name), tmp_path)
    _, original = image_tar_of(name.removesuffix(".zip"))
    with tarfile.open(fileobj=io.BytesIO(original)) as image:
        stream = image.extractfile("manifest.json")
        assert stream is not None
        config = json.load(stream)[0]["Config"]
        names = set(image.getnames())
    assert bundle.image_id == "sha256:" + config.rsplit("/", 1)[-1].removesuffix(".json")
    assert bundle.descriptor_text == bundle_entries(corpus_bundle(name))["descriptor.yml"]
    assert bundle.logo is None and bundle.tar_name.endswith(".tar")
    # the names the tar carried are gone, nothing else is
    manifest = _tar_json(bundle.tar, "manifest.json")
    assert manifest[0]["RepoTags"] is None and manifest[0]["Config"] == config
    with tarfile.open(bundle.tar) as kept:
        assert set(kept.getnames()) == names - {"repositories"}
    if "index.json" in names:
        for entry in _tar_json(bundle.tar, "index.json")["manifests"]:
            assert "io.containerd.image.name" not in entry.get("annotations", {})
            assert "org.opencontainers.image.ref.name" not in entry.get("annotations", {})


def test_entries_in_any_order_and_a_yaml_descriptor(tmp_path: Path) -> None:
    entries = bundle_entries(corpus_bundle(POSITIVE[0]))
    reordered = {name: entries[name] for name in reversed(entries)}
    assert next(iter(reordered)).endswith(".tar")
    assert _read(make_zip(reordered), tmp_path).descriptor.namespace
    renamed = {
        ("DESCRIPTOR.YAML" if name == "descriptor.yml" else name): data for name, data in entries.items()
    }
    assert _read(make_zip(renamed), tmp_path).descriptor.namespace


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_the_negative_corpus_bundles_fail_on_their_descriptor(name: str, tmp_path: Path) -> None:
    error = _refused(corpus_bundle(name), tmp_path, code="APPE-internal-bundle-schema-validation-error")
    assert error.details["type"] == "batch"


def test_not_a_zip(tmp_path: Path) -> None:
    for data in (b"7z\xbc\xaf\x27\x1c" + bytes(200), b"", b"PK\x03\x04broken"):
        error = _refused(data, tmp_path, code="APPE-internal-bundle-validation-error")
        assert "unknown task bundle archive format" in error.message


def test_missing_or_repeated_parts(tmp_path: Path) -> None:
    entries = bundle_entries(corpus_bundle(POSITIVE[0]))
    tar = next(name for name in entries if name.endswith(".tar"))
    cases = {
        "descriptor not in default location": {tar: entries[tar]},
        "image tar not found": {"descriptor.yml": entries["descriptor.yml"]},
        "more than one descriptor": entries | {"descriptor.yaml": entries["descriptor.yml"]},
        "more than one image tar": entries | {"second.tar": entries[tar]},
    }
    for message, case in cases.items():
        assert (
            message
            in _refused(make_zip(case), tmp_path, code="APPE-internal-bundle-validation-error").message
        )
    nested = {"folder/descriptor.yml": entries["descriptor.yml"], tar: entries[tar]}
    assert "descriptor" in _refused(make_zip(nested), tmp_path).message


def test_unsafe_entry_names(tmp_path: Path) -> None:
    entries = bundle_entries(corpus_bundle(POSITIVE[0]))
    for name in ("../x.tar", "/abs/logo.png", "a/../../b", "back\\slash.tar", "./../x"):
        error = _refused(
            make_zip(entries | {name: b"x"}), tmp_path, code="APPE-internal-bundle-validation-error"
        )
        assert "unsafe entry name" in error.message
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_an_encrypted_entry(tmp_path: Path) -> None:
    data = bytearray(make_zip(bundle_entries(corpus_bundle(POSITIVE[0]))))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        last = archive.infolist()[-1]
    assert last.filename.endswith(".tar")
    # the last entry's flags, in its local header and in the central directory (its last record):
    # encrypted, a password would be needed
    data[last.header_offset + 6] |= 0x1
    data[data.rindex(b"PK\x01\x02") + 8] |= 0x1
    error = _refused(bytes(data), tmp_path, code="APPE-internal-bundle-validation-error")
    assert "encrypted" in error.message


def test_too_many_entries(tmp_path: Path) -> None:
    entries = bundle_entries(corpus_bundle(POSITIVE[0])) | {f"extra/{n}.txt": b"" for n in range(70)}
    assert "more than 64 entries" in _refused(make_zip(entries), tmp_path).message


def test_expansion_is_bounded(tmp_path: Path) -> None:
    """Counted on the bytes read (zipfile also stops at the size an entry declares and checks its
    CRC: an entry that lies about its size is refused either way)."""
    entries = bundle_entries(corpus_bundle(POSITIVE[0]))
    with pytest.raises(AppEngineError) as caught:
        _read(make_zip(entries), tmp_path, limit=2**20)  # the tar alone expands to 7.6 MB
    assert caught.value.status == 413 and "max upload size" in caught.value.message
    bomb = make_zip(entries | {"logo.png": PNG, "padding.bin": bytes(40 * 2**20)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 4 * 2**20
    # entries that are not read (padding.bin) cost nothing; what is read is bounded
    assert _read(bomb, tmp_path, limit=16 * 2**20).logo == PNG


def test_the_logo(tmp_path: Path) -> None:
    bundle, _ = renamed_bundle(extra={"logo.png": PNG})
    assert _read(bundle, tmp_path).logo == PNG
    assert "not a PNG" in _refused(renamed_bundle(extra={"logo.png": b"GIF89a"})[0], tmp_path).message
    huge, _ = renamed_bundle(extra={"logo.png": PNG + bytes(2**20)})
    assert "logo.png is larger" in _refused(huge, tmp_path).message


def _with_tar(tar: bytes) -> bytes:
    bundle, _ = renamed_bundle()
    entries = {name: data for name, data in bundle_entries(bundle).items() if not name.endswith(".tar")}
    return make_zip(entries | {"image.tar": tar})


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def _image(
    layers: list[bytes], listed: list[bytes] | None = None, files: dict[str, bytes] | None = None
) -> bytes:
    """A ``docker save`` tar (old layout) of ``layers``, its config listing the digests of
    ``listed`` (default: the layers, uncompressed)."""
    diff_ids = [f"sha256:{hashlib.sha256(_plain(layer)).hexdigest()}" for layer in (listed or layers)]
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    )
    digest = hashlib.sha256(config.encode()).hexdigest()
    names = [f"{n}/layer.tar" for n in range(len(layers))]
    manifest = [{"Config": f"{digest}.json", "RepoTags": ["evil:latest"], "Layers": names}]
    content = {"manifest.json": json.dumps(manifest).encode(), f"{digest}.json": config.encode()}
    return _tar(content | dict(zip(names, layers, strict=True)) | (files or {}))


def _plain(layer: bytes) -> bytes:
    return gzip.decompress(layer) if layer.startswith(b"\x1f\x8b") else layer


def test_tars_that_are_not_docker_save_archives(tmp_path: Path) -> None:
    code = "APPE-internal-bundle-image-validation-error"
    config = b'{"architecture": "amd64"}'
    digest = hashlib.sha256(config).hexdigest()
    layer = _tar({"hello": b"hello"})
    cases = {
        "no manifest.json": _tar({"hello.txt": b"hi"}),
        "not JSON": _tar({"manifest.json": b"{"}),
        "exactly one image": _tar({"manifest.json": b"[]"}),
        "has no Config": _tar({"manifest.json": b'[{"Layers": []}]'}),
        "unknown config": _tar({"manifest.json": b'[{"Config": "../../etc/passwd"}]'}),
        "has no config": _tar({"manifest.json": json.dumps([{"Config": f"{digest}.json"}]).encode()}),
        "does not match its digest": _tar(
            {
                "manifest.json": json.dumps([{"Config": f"{'0' * 64}.json"}]).encode(),
                f"{'0' * 64}.json": config,
            }
        ),
        "has no rootfs.diff_ids": _tar(
            {"manifest.json": json.dumps([{"Config": f"{digest}.json"}]).encode(), f"{digest}.json": config}
        ),
        "are not those its config lists": _image([layer], [layer, layer]),
        "is not the one its config lists": _image([layer], [_tar({"hello": b"other"})]),
        "compressed as docker save never does": _image([b"\x28\xb5\x2f\xfd" + layer], [layer]),
        "cannot be read": b"not a tar at all" * 64,
    }
    for message, tar in cases.items():
        assert message in _refused(_with_tar(tar), tmp_path, code=code).message, message
    without_layer = _image([layer]).replace(b"0/layer.tar", b"9/layer.tar", 1)  # the member renamed
    assert "has no layer" in _refused(_with_tar(without_layer), tmp_path, code=code).message
    # two layers, one gzip-compressed: read
    bundle = _read(_with_tar(_image([layer, gzip.compress(_tar({"b": b"b"}))])), tmp_path)
    assert bundle.image_id.startswith("sha256:")
    with tarfile.open(bundle.tar) as kept:
        stream = kept.extractfile("manifest.json")
        assert stream is not None and json.load(stream)[0]["RepoTags"] is None


def test_a_compressed_layer_is_bounded(tmp_path: Path) -> None:
    bomb = gzip.compress(bytes(64 * 2**20))  # 64 MiB of zeros: 64 KiB compressed
    with pytest.raises(AppEngineError) as caught:
        _read(_with_tar(_image([bomb])), tmp_path, limit=8 * 2**20)
    assert caught.value.status == 413


def test_image_names() -> None:
    assert image_name("com.cytomine.dummy.identity.boolean", "1.0.0", "x.tar") == (
        "com/cytomine/dummy/identity/boolean:1.0.0"
    )
    assert image_name("Com.Cytomine.Upper", "1.0.0", "x.tar") == "com/cytomine/upper:1.0.0"
    assert image_name("com.cytomine.app-engine.tasks.toy.add-integers", "0.1.0", "anything.tar") == (
        "com/cytomine/app-engine/tasks/toy/add-integers:0.1.0"
    )
    # the namespace gives no valid repository: the tar-name rule
    assert image_name("_com.x", "1.0.0", "com.x.y-1.0.0.tar") == "com/x/y:1.0.0"
    assert image_name("com.x", "1.0.0+build", "com.x.y-1.0.0.tar") == "com/x/y:1.0.0"
    for tar in ("image.tar", "_bad-1.0.tar"):
        with pytest.raises(AppEngineError) as caught:
            image_name("_com.x", "1.0.0", tar)
        assert caught.value.status == 400 and "unknown task bundle archive format" in caught.value.message

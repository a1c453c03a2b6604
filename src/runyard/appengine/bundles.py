"""Task bundles: the zip a task is uploaded as, read with no trust in it.

A bundle holds, in any order, ``descriptor.yml`` (or ``.yaml``, any case) at its root, one image tar
made by ``docker save`` (any ``*.tar``; its name gives Cytomine's fallback image name) and optionally
``logo.png``. Reading one checks every entry name (no absolute path, no ``..``, no backslash), the
entry count and the bytes it expands to (counted as they are read, whatever the zip claims), parses
the descriptor (:func:`runyard.appengine.descriptor.parse_descriptor`) and inspects the tar: its
``manifest.json`` names the image's config, whose digest is the image's id on the engine (the tags
inside tars are unusable: corpus README, "Image naming"). Both tar layouts are read: OCI
(``blobs/sha256/<hex>``) and the older ``docker save`` one (``<hex>.json``).

The tar is rewritten without the names it carries (``RepoTags``, ``repositories``, the OCI
annotations naming the image), so loading it names nothing on the engine: a hostile bundle cannot
retag another task's image, or runyard's own, by naming it inside its tar.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

from runyard.appengine.descriptor import Descriptor, load_yaml, parse_descriptor
from runyard.appengine.errors import BUNDLE_VALIDATION, AppEngineError

IMAGE_VALIDATION = "APPE-internal-bundle-image-validation-error"

MAX_ENTRIES = 64
"""Most entries a bundle may hold (a real one has two or three)."""
MAX_DESCRIPTOR_BYTES = 1024 * 1024
MAX_LOGO_BYTES = 1024 * 1024
MAX_TAR_MEMBERS = 10_000
"""Most members an image tar may hold (one per layer and a few files: dozens)."""
MAX_MANIFEST_BYTES = 1024 * 1024
"""Largest ``manifest.json``, ``index.json`` or image config read into memory."""
LAYER_EXPANSION = 4
"""What gzip-compressed layers may expand to, as a multiple of what the bundle may (``docker save``
writes layers uncompressed: such layers are rare)."""
GZIP_MAGIC = b"\x1f\x8b"
#: zstd, bzip2 and xz: layer compressions docker save never writes, refused rather than hashed wrongly.
OTHER_COMPRESSIONS = (b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zX")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DESCRIPTOR_NAME = re.compile(r"descriptor\.(yml|yaml)")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024
T = TypeVar("T")
#: OCI annotations that name an image when a tar is loaded (containerd's and OCI's).
_NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


@dataclass(frozen=True)
class Bundle:
    """A bundle read and checked: what registering its task needs."""

    descriptor: Descriptor
    descriptor_text: bytes
    """The descriptor's bytes, as uploaded (served back by ``…/descriptor.yml``)."""
    tar: Path
    """The image tar, rewritten without the names it carried (see the module's docstring)."""
    tar_name: str
    """The tar's file name in the zip (Cytomine's fallback image name comes from it)."""
    image_id: str
    """``sha256:<hex>``: the digest of the image's config, its id on the engine."""
    logo: bytes | None


def read_bundle(archive: Path | IO[bytes], work: Path, *, max_bytes: int) -> Bundle:
    """Read the bundle zip ``archive`` (a file, or a seekable binary stream); the image tar is
    written in the folder ``work``.

    ``max_bytes`` bounds what the entries expand to, together. Errors: ``AppEngineError`` 400 with
    Cytomine's codes (an archive that is not a zip, no descriptor, no tar, a tar that is not a
    ``docker save`` archive, a descriptor the schema refuses).
    """
    return _opened(archive, lambda bundle: _read(bundle, work, max_bytes))


def declared_task(archive: Path) -> tuple[str, str]:
    """The ``(namespace, version)`` the descriptor of the bundle zip ``archive`` declares, the rest of the
    bundle unread (an install checks it downloaded the task asked for before registering it); errors as
    :func:`read_bundle`'s."""

    def declared(bundle: zipfile.ZipFile) -> tuple[str, str]:
        entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
        text = _read_small(
            bundle,
            _descriptor_entry(entries),
            MAX_DESCRIPTOR_BYTES,
            _Budget(MAX_DESCRIPTOR_BYTES),
            "the descriptor",
        )
        document = load_yaml(text)
        if not isinstance(document, dict):
            return "", ""
        return str(document.get("namespace", "")), str(document.get("version", ""))

    return _opened(archive, declared)


def _opened(archive: Path | IO[bytes], read: Callable[[zipfile.ZipFile], T]) -> T:
    """What ``read`` reads of the zip ``archive``, the zip module's errors answered as Cytomine does."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            return read(bundle)
    except zipfile.BadZipFile as error:  # also raised by a corrupt entry once read (CRC)
        raise AppEngineError(400, BUNDLE_VALIDATION, f"unknown task bundle archive format: {error}") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError) as error:  # unknown compression
        raise AppEngineError(400, BUNDLE_VALIDATION, f"invalid bundle format: {error}") from None
    except RuntimeError as error:  # what zipfile raises for an encrypted entry
        raise AppEngineError(400, BUNDLE_VALIDATION, f"invalid bundle format: {error}") from None


def _read(bundle: zipfile.ZipFile, work: Path, max_bytes: int) -> Bundle:
    entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
    if len(entries) > MAX_ENTRIES:
        raise AppEngineError(
            400, BUNDLE_VALIDATION, f"invalid bundle format: more than {MAX_ENTRIES} entries"
        )
    descriptor_entry = _descriptor_entry(entries)
    tars, logos = [], []
    for entry in entries:
        path = _checked_name(entry.filename)
        if path.name.lower().endswith(".tar"):
            tars.append(entry)
        elif len(path.parts) == 1 and path.name.lower() == "logo.png":
            logos.append(entry)
    if not tars:
        raise AppEngineError(400, BUNDLE_VALIDATION, "image tar not found in the bundle")
    if len(tars) > 1:
        raise AppEngineError(400, BUNDLE_VALIDATION, "invalid bundle format: more than one image tar")
    budget = _Budget(max_bytes)
    text = _read_small(bundle, descriptor_entry, MAX_DESCRIPTOR_BYTES, budget, "the descriptor")
    descriptor = parse_descriptor(text)
    logo = None
    if logos:
        logo = _read_small(bundle, logos[0], MAX_LOGO_BYTES, budget, "logo.png")
        if not logo.startswith(PNG_MAGIC):
            raise AppEngineError(400, BUNDLE_VALIDATION, "invalid bundle format: logo.png is not a PNG image")
    tar = work / "bundle-image.tar"
    with bundle.open(tars[0]) as source, open(tar, "wb") as target:
        _copy(source, target, budget)
    image = work / "image.tar"
    image_id = _rewrite_image(tar, image, LAYER_EXPANSION * max_bytes)
    tar.unlink()
    return Bundle(descriptor, text, image, PurePosixPath(tars[0].filename).name, image_id, logo)


def _descriptor_entry(entries: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    """The bundle's descriptor: the one ``descriptor.yml|yaml`` at its root (400 for none or two)."""
    descriptors = [
        entry
        for entry in entries
        if len(path := _checked_name(entry.filename).parts) == 1
        and DESCRIPTOR_NAME.fullmatch(path[0].lower())
    ]
    if not descriptors:
        raise AppEngineError(
            400,
            BUNDLE_VALIDATION,
            "descriptor not in default location: no descriptor.yml at the bundle's root",
        )
    if len(descriptors) > 1:
        raise AppEngineError(400, BUNDLE_VALIDATION, "invalid bundle format: more than one descriptor")
    return descriptors[0]


def _checked_name(name: str) -> PurePosixPath:
    """The entry's path, refused when it could name anything outside the bundle's folder."""
    path = PurePosixPath(name)
    if "\\" in name or "\x00" in name or path.is_absolute() or ".." in path.parts or not path.parts:
        raise AppEngineError(400, BUNDLE_VALIDATION, f"invalid bundle format: unsafe entry name {name!r}")
    return path


class _Budget:
    """The bytes the entries may still expand to."""

    def __init__(self, left: int) -> None:
        self.left = left

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise AppEngineError(
                413, BUNDLE_VALIDATION, "max upload size exceeded: the bundle expands to too many bytes"
            )


def _read_small(
    bundle: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int, budget: _Budget, what: str
) -> bytes:
    with bundle.open(entry) as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise AppEngineError(
            400, BUNDLE_VALIDATION, f"invalid bundle format: {what} is larger than {limit} bytes"
        )
    budget.spend(len(data))
    return data


def _copy(source: IO[bytes], target: IO[bytes], budget: _Budget) -> None:
    while chunk := source.read(_CHUNK):
        budget.spend(len(chunk))
        target.write(chunk)


def _rewrite_image(source: Path, target: Path, max_layer_bytes: int) -> str:
    """Copy the image tar ``source`` to ``target`` without the names it carries; its image id.

    The tar must hold the whole image its id names: every layer the config lists, each matching its
    digest (``rootfs.diff_ids``, of the uncompressed layer). An image the engine has already is taken
    as it is (several bundles share one), so a tar naming a config without its layers would otherwise
    get any image the engine holds named as a task of its uploader."""
    try:
        with tarfile.open(source, "r:") as tar:
            members = _members(tar)
            manifest = _json_member(tar, members, "manifest.json")
            config = _config_of(manifest)
            image_id, config_bytes = _check_config(tar, members, config)
            _check_layers(tar, members, manifest[0], config_bytes, max_layer_bytes)
            _write_unnamed(tar, members, manifest, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise AppEngineError(400, IMAGE_VALIDATION, f"the image tar cannot be read: {error}") from None
    return image_id


def _members(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    for count, member in enumerate(tar, start=1):
        if count > MAX_TAR_MEMBERS:
            raise AppEngineError(
                400, IMAGE_VALIDATION, f"the image tar has more than {MAX_TAR_MEMBERS} members"
            )
        members[member.name.removeprefix("./")] = member
    return members


def _json_member(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str) -> Any:
    member = members.get(name)
    if member is None or not member.isfile():
        raise AppEngineError(
            400, IMAGE_VALIDATION, f"the image tar has no {name}: it is not an image saved by `docker save`"
        )
    data = _member_bytes(tar, member)
    try:
        return json.loads(data)
    except ValueError as error:
        raise AppEngineError(400, IMAGE_VALIDATION, f"the image tar's {name} is not JSON: {error}") from None


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_MANIFEST_BYTES:
        raise AppEngineError(400, IMAGE_VALIDATION, f"the image tar's {member.name} is too large")
    stream = tar.extractfile(member)
    if stream is None:
        raise AppEngineError(400, IMAGE_VALIDATION, f"the image tar's {member.name} is not a file")
    with stream:
        return stream.read()


def _config_of(manifest: Any) -> str:
    """The member naming the image's config in ``manifest.json`` (one image per bundle)."""
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise AppEngineError(
            400, IMAGE_VALIDATION, "the image tar's manifest.json must describe exactly one image"
        )
    config = manifest[0].get("Config")
    if not isinstance(config, str):
        raise AppEngineError(400, IMAGE_VALIDATION, "the image tar's manifest.json has no Config")
    return config.removeprefix("./")


def _check_config(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], config: str
) -> tuple[str, bytes]:
    """The image id the config names (``blobs/sha256/<hex>`` or ``<hex>.json``), checked against the
    config's bytes: the id the engine will give the image."""
    path = PurePosixPath(config)
    digest = path.name.removesuffix(".json")
    if not _HEX64.fullmatch(digest) or (len(path.parts) > 1 and path.parts[-2] != "sha256"):
        raise AppEngineError(
            400, IMAGE_VALIDATION, f"the image tar's manifest.json names an unknown config {config!r}"
        )
    member = members.get(config)
    if member is None or not member.isfile():
        raise AppEngineError(400, IMAGE_VALIDATION, f"the image tar has no config {config!r}")
    data = _member_bytes(tar, member)
    if hashlib.sha256(data).hexdigest() != digest:
        raise AppEngineError(
            400, IMAGE_VALIDATION, f"the image tar's config {config!r} does not match its digest"
        )
    return f"sha256:{digest}", data


def _check_layers(
    tar: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    entry: dict[str, Any],
    config: bytes,
    max_layer_bytes: int,
) -> None:
    """Every layer the config lists is in the tar, in order, with the digest the config gives it."""
    try:
        diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        raise AppEngineError(400, IMAGE_VALIDATION, "the image tar's config has no rootfs.diff_ids") from None
    layers = entry.get("Layers")
    if not isinstance(layers, list) or not isinstance(diff_ids, list) or len(layers) != len(diff_ids):
        raise AppEngineError(400, IMAGE_VALIDATION, "the image tar's layers are not those its config lists")
    budget = _Budget(max_layer_bytes)
    for layer, diff_id in zip(layers, diff_ids, strict=True):
        member = members.get(layer.removeprefix("./")) if isinstance(layer, str) else None
        if member is None or not member.isfile():
            raise AppEngineError(400, IMAGE_VALIDATION, f"the image tar has no layer {layer!r}")
        if _layer_digest(tar, member, budget) != diff_id:
            raise AppEngineError(
                400, IMAGE_VALIDATION, f"the image tar's layer {layer!r} is not the one its config lists"
            )


def _layer_digest(tar: tarfile.TarFile, member: tarfile.TarInfo, budget: _Budget) -> str:
    """``sha256:<hex>`` of the layer, uncompressed (gzip) as the config's ``diff_ids`` give it."""
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file
    with stream:
        head = stream.read(4)
        stream.seek(0)
        if head.startswith(GZIP_MAGIC):
            source: IO[bytes] | gzip.GzipFile = gzip.GzipFile(fileobj=stream)
        elif head.startswith(OTHER_COMPRESSIONS):
            raise AppEngineError(
                400,
                IMAGE_VALIDATION,
                f"the image tar's layer {member.name!r} is compressed as docker save never does",
            )
        else:
            source = stream
        digest = hashlib.sha256()
        try:
            while chunk := source.read(_CHUNK):
                if source is not stream:
                    budget.spend(len(chunk))
                digest.update(chunk)
        except (OSError, EOFError) as error:  # a corrupt gzip stream
            raise AppEngineError(
                400, IMAGE_VALIDATION, f"the image tar's layer {member.name!r}: {error}"
            ) from None
    return f"sha256:{digest.hexdigest()}"


def _write_unnamed(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], manifest: list[dict[str, Any]], target: Path
) -> None:
    unnamed = [{**manifest[0], "RepoTags": None}]
    replaced = {"manifest.json": json.dumps(unnamed).encode()}
    index = members.get("index.json")
    if index is not None and index.isfile():
        replaced["index.json"] = _unnamed_index(_member_bytes(tar, index))
    with tarfile.open(target, "w:", format=tarfile.PAX_FORMAT) as out:
        for name, member in members.items():
            if name == "repositories":
                continue
            if name in replaced:
                data = replaced[name]
                copy = tarfile.TarInfo(member.name)
                copy.size, copy.mode, copy.mtime = len(data), member.mode, member.mtime
                out.addfile(copy, io.BytesIO(data))
            elif member.isfile():
                out.addfile(member, tar.extractfile(member))
            else:
                out.addfile(member)


def _unnamed_index(data: bytes) -> bytes:
    """``index.json`` without the annotations that name the image."""
    try:
        index = json.loads(data)
    except ValueError as error:
        raise AppEngineError(
            400, IMAGE_VALIDATION, f"the image tar's index.json is not JSON: {error}"
        ) from None
    if isinstance(index, dict):
        for manifest in index.get("manifests") or ():
            annotations = manifest.get("annotations") if isinstance(manifest, dict) else None
            if isinstance(annotations, dict):
                for key in _NAME_ANNOTATIONS:
                    annotations.pop(key, None)
    return json.dumps(index).encode()

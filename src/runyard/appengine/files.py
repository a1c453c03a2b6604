"""A run's input and output files, as Cytomine lays them out, with CRC32s; hostile outputs refused.

Inputs (:func:`write_input`, :func:`store_binary_input`): one file per parameter named as it, holding the
value's text as Cytomine writes it (``18``, ``true``, ``my_value``, GeoJSON text; no newline); an array is
a folder ``<param>/`` with ``array.yml`` (``size: N``, no newline) and entries ``0`` … ``N-1`` (nested
arrays nest folders); a file or image is its bytes, with an optional ``<param>.geojson`` sidecar; a
zipped WSI-DICOM image is unzipped into the folder ``<param>/`` (bounded: entry count, total size, no
absolute or ``..`` paths, no links). Each returns ``{path relative to the folder: crc32}``.

Outputs (:func:`read_output`) are written by the task's container, which is hostile: every file and
folder is opened relative to its parent's descriptor with ``O_NOFOLLOW`` (a symbolic link anywhere is
refused, never followed: ``output -> /etc/shadow`` or a folder link to the platform's data cannot be
read), only regular files and folders are taken (a FIFO, socket or device is refused and never blocks:
``O_NONBLOCK``), and sizes are bounded. Entries that are not outputs are ignored.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import re
import shutil
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

import yaml

from runyard.appengine.descriptor import Descriptor
from runyard.appengine.errors import REQUEST_VALIDATION, AppEngineError, parameter_error
from runyard.appengine.types import (
    IMAGE_FORMATS,
    INVALID_TYPE,
    MAX_ITEMS,
    MAX_TEXT,
    ArrayType,
    FileType,
    ImageType,
    ParameterType,
    StringType,
)

MISSING_OUTPUT = "APPE-internal-missing-output-files"
IS_DIRECTORY = "APPE-internal-is-directory"
IS_BLANK = "APPE-internal-is-blank"
MISSING_METADATA = "APPE-internal-missing-metadata"
INVALID_METADATA = "APPE-internal-invalid-metadata"
NOT_MATCHING = "APPE-internal-not-matching"
IMAGE_ARCHIVE = "APPE-internal-image-validation-error"
METADATA = "array.yml"
#: Bounds: a zipped WSI-DICOM image (entries, bytes unzipped), a sidecar, an array.yml, a folder output.
MAX_ZIP_ENTRIES = 4096
MAX_UNZIPPED = 64 * 1024**3
MAX_SIDECAR = 16 * 1024 * 1024
MAX_METADATA = 4096
MAX_FOLDER_ENTRIES = 4096
_CHUNK = 1024 * 1024
_NAME = re.compile(r"[a-zA-Z0-9_]+(\.geojson)?")

_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}
_PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}
_DICOM_TAGS = ("Rows", "Columns", "TotalPixelMatrixRows", "TotalPixelMatrixColumns")


def _checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a parameter or item name: {name!r}")
    return name


def crc32_of(path: Path) -> int:
    """The CRC32 of a file (not following a link)."""
    crc = 0
    with _open_regular(path) as stream:
        while chunk := stream.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


@contextlib.contextmanager
def _open_regular(path: Path, dir_fd: int | None = None) -> Iterator[IO[bytes]]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        yield stream


def _write(path: Path, data: bytes) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
    return zlib.crc32(data)


def write_input(kind: ParameterType, value: Any, folder: Path, name: str) -> dict[str, int]:
    """Write a validated JSON value of ``kind`` as the input ``name`` in ``folder`` (a file, or an
    array's folder); ``{relative path: crc32}`` of every file written."""
    _checked_name(name) if not name.isdigit() else None
    if isinstance(kind, ArrayType):
        if not isinstance(value, list):
            raise TypeError("an array's value is a list")
        target = folder / name
        target.mkdir()
        written = {f"{name}/{METADATA}": _write(target / METADATA, f"size: {len(value)}".encode())}
        for index, item in enumerate(value):
            for path, crc in write_input(kind.subtype, item, target, str(index)).items():
                written[f"{name}/{path}"] = crc
        return written
    if kind.binary:
        raise TypeError(f"{kind.id} inputs are stored with store_binary_input")
    return {name: _write(folder / name, kind.text_of(value).encode())}


# -- binary inputs -------------------------------------------------------------------------------------


def _invalid(name: str, message: str, code: str = REQUEST_VALIDATION) -> AppEngineError:
    return parameter_error(name, message, code)


def image_format(head: bytes) -> str | None:
    """The image format of a file's first 132 bytes by its magic: png, jpeg, tiff, dicom, or
    ``wsidicom`` for a zip (a zipped WSI-DICOM); None for anything else."""
    if head.startswith(_MAGIC["png"]):
        return "png"
    if head.startswith(_MAGIC["jpeg"]):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"PK\x03\x04"):
        return "wsidicom"
    return None


def _dimensions(stream: IO[bytes], kind: str, name: str) -> tuple[int, int]:
    """(width, height) of an image file, reading its header only."""
    if kind == "dicom":
        import pydicom
        from pydicom.errors import InvalidDicomError

        try:
            dataset = pydicom.dcmread(  # only the tags needed: large values are skipped, not read
                stream, stop_before_pixels=True, defer_size=_CHUNK, specific_tags=list(_DICOM_TAGS)
            )
            columns = dataset.get("TotalPixelMatrixColumns") or dataset.get("Columns")
            rows = dataset.get("TotalPixelMatrixRows") or dataset.get("Rows")
        except (InvalidDicomError, OSError, ValueError, KeyError, TypeError, EOFError):
            raise _invalid(name, "invalid image") from None
        if not isinstance(columns, int) or not isinstance(rows, int):
            raise _invalid(name, "invalid image dimension")
        return columns, rows
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a decompression-bomb warning: only the header is read
        try:
            with Image.open(stream, formats=[_PILLOW_FORMAT[kind]]) as image:
                return image.size
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise _invalid(name, "invalid image") from None


def check_image(kind: ImageType, stream: IO[bytes], size: int, name: str) -> str:
    """Check an image file (a single file: not a zip) against ``kind``; its format."""
    head = stream.read(132)
    stream.seek(0)
    found = image_format(head)
    if found is None or found not in kind.allowed_formats:
        raise _invalid(name, "invalid image format")
    if found == "wsidicom":
        return found
    if kind.max_file_size is not None and size > kind.max_file_size:
        raise _invalid(name, "invalid image size")
    _check_dimensions(kind, stream, found, name)
    return found


def _check_dimensions(kind: ImageType, stream: IO[bytes], found: str, name: str) -> None:
    width, height = _dimensions(stream, found, name)
    if kind.max_width is not None and width > kind.max_width:
        raise _invalid(name, "invalid image width")
    if kind.max_height is not None and height > kind.max_height:
        raise _invalid(name, "invalid image height")


def _check_file(kind: FileType, source: Path, size: int, name: str) -> None:
    if kind.max_file_size is not None and size > kind.max_file_size:
        raise _invalid(name, f"file larger than max_file_size ({kind.max_file_size} bytes)")
    if kind.formats == ("text",):
        utf8 = codecs.getincrementaldecoder("utf-8")()
        with _open_regular(source) as stream:
            try:
                while chunk := stream.read(_CHUNK):
                    utf8.decode(chunk)
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                raise _invalid(name, "not a text file (UTF-8)") from None


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        with _open_regular(source) as stream:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, _CHUNK)
        source.unlink()


def store_binary_input(
    kind: ParameterType, source: Path, folder: Path, name: str, sidecar: bytes | None
) -> dict[str, int]:
    """Validate the uploaded file ``source`` for the file or image ``kind`` and move it into
    ``folder`` as ``name`` (a zipped WSI-DICOM is unzipped into the folder ``name``), with the GeoJSON
    ``sidecar`` as ``name.geojson``; ``{relative path: crc32}``. ``source`` is consumed."""
    if not isinstance(kind, FileType):
        raise TypeError(f"{kind.id} inputs are JSON values: see write_input")
    _checked_name(name) if not name.isdigit() else None
    status = os.lstat(source)
    if not stat.S_ISREG(status.st_mode):
        raise _invalid(name, "not a regular file")
    if sidecar is not None:
        _check_sidecar(sidecar, name)
    written: dict[str, int] = {}
    if isinstance(kind, ImageType):
        with _open_regular(source) as stream:
            found = check_image(kind, stream, status.st_size, name)
        if found == "wsidicom":
            written = _unzip_wsi(kind, source, folder / name, name)
            source.unlink()
        else:
            _move(source, folder / name)
            written[name] = crc32_of(folder / name)
    else:
        _check_file(kind, source, status.st_size, name)
        _move(source, folder / name)
        written[name] = crc32_of(folder / name)
    if sidecar is not None:
        written[f"{name}.geojson"] = _write(folder / f"{name}.geojson", sidecar)
    return written


def _check_sidecar(sidecar: bytes, name: str) -> None:
    import json

    if len(sidecar) > MAX_SIDECAR:
        raise _invalid(name, "invalid GeoJSON object")
    try:
        parsed = json.loads(sidecar)
    except (ValueError, RecursionError):
        raise _invalid(name, "failed to parse the given GeoJSON object") from None
    if not isinstance(parsed, dict) or "type" not in parsed:
        raise _invalid(name, "invalid GeoJSON object")


def _zip_member_path(info: zipfile.ZipInfo, name: str) -> PurePosixPath | None:
    """The relative path of a zip member, None for a folder; refused: absolute, ``..``, links, odd."""
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a link, a device...
        raise _invalid(name, "unknown image archive format", IMAGE_ARCHIVE)
    raw = info.filename
    path = PurePosixPath(raw)
    if (
        raw.startswith("/")
        or "\\" in raw
        or "\0" in raw
        or ":" in raw
        or any(part in ("..", ".") for part in path.parts)
        or len(raw) > 1024
    ):
        raise _invalid(name, "unknown image archive format", IMAGE_ARCHIVE)
    if info.is_dir():
        return None
    return path


def _unzip_wsi(kind: ImageType, source: Path, target: Path, name: str) -> dict[str, int]:
    """Unzip a WSI-DICOM archive into the new folder ``target`` (bounded), check its largest file."""
    limit = min(kind.max_file_size or MAX_UNZIPPED, MAX_UNZIPPED)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _invalid(name, "unknown image archive format", IMAGE_ARCHIVE) from None
    written: dict[str, int] = {}
    target.mkdir()
    try:
        with archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_ENTRIES:
                raise _invalid(name, "unknown image archive format", IMAGE_ARCHIVE)
            if sum(m.file_size for m in members) > limit:
                raise _invalid(name, "invalid image size")
            total, largest = 0, (0, Path())
            for info in members:
                path = _zip_member_path(info, name)
                if path is None:
                    continue
                destination = target.joinpath(*path.parts)
                for parent in reversed(destination.relative_to(target).parents[:-1]):
                    (target / parent).mkdir(exist_ok=True)
                crc, size = _extract(archive, info, destination, limit - total, name)
                total += size
                written[f"{name}/{path.as_posix()}"] = crc
                largest = max(largest, (size, destination))
            if not written:
                raise _invalid(name, "invalid image")
            with _open_regular(largest[1]) as stream:
                if image_format(stream.read(132)) != "dicom":
                    raise _invalid(name, "invalid image format")
                stream.seek(0)
                _check_dimensions(kind, stream, "dicom", name)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError):
        shutil.rmtree(target, ignore_errors=True)
        raise _invalid(name, "unknown image archive format", IMAGE_ARCHIVE) from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return written


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, budget: int, name: str
) -> tuple[int, int]:
    """Extract one member, counting the bytes really inflated (the header's size is not trusted)."""
    crc, size = 0, 0
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as out, archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > budget or size > info.file_size:
                raise _invalid(name, "invalid image size")
            crc = zlib.crc32(chunk, crc)
            out.write(chunk)
    return crc, size


# -- outputs ----------------------------------------------------------------------------------------


class _Folder:
    """An open folder of the outputs (a descriptor), read without following links."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: Path | str, dir_fd: int | None = None) -> _Folder:
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        return cls(os.open(path, flags, dir_fd=dir_fd))

    def close(self) -> None:
        os.close(self.fd)

    def kind(self, name: str) -> int | None:
        """The ``st_mode`` of an entry (not followed), None if there is none."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return None


def _missing(name: str, what: str = "file structure for primitive parameter is missing") -> AppEngineError:
    return _invalid(name, what, MISSING_OUTPUT)


def _entry_mode(folder: _Folder, entry: str, name: str) -> int:
    mode = folder.kind(entry)
    if mode is None:
        raise _missing(
            name, f"output {name} is missing ({entry})" if entry != name else f"output {name} is missing"
        )
    if stat.S_ISLNK(mode):
        raise _invalid(name, f"output {name} is a symbolic link: refused")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise _invalid(name, f"output {name} is not a regular file: refused")
    return mode


def _read_text(folder: _Folder, entry: str, name: str, limit: int = MAX_TEXT) -> str:
    try:
        with _open_regular(Path(entry), dir_fd=folder.fd) as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _invalid(name, f"output {name} is a symbolic link: refused") from None
        raise _invalid(name, f"output {name} cannot be read: {error.strerror}") from None
    if len(data) > limit:
        raise _invalid(name, f"output {name} is larger than {limit} bytes")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise _invalid(name, INVALID_TYPE) from None


def read_output(kind: ParameterType, folder: Path, name: str) -> Any:
    """The validated value of the output ``name`` in ``folder`` (None for a file or image: its bytes
    stay where they are; a list for an array), or an :class:`AppEngineError` saying what is wrong."""
    _checked_name(name)
    root = _Folder.open(folder)
    try:
        return _read(kind, root, name, name, [0])
    finally:
        root.close()


def _read(kind: ParameterType, folder: _Folder, entry: str, name: str, count: list[int]) -> Any:
    mode = _entry_mode(folder, entry, name)
    if isinstance(kind, ArrayType):
        if not stat.S_ISDIR(mode):
            raise _invalid(name, f"output {name} is an array: {entry} must be a folder")
        try:
            inner = _Folder.open(entry, dir_fd=folder.fd)
        except OSError:
            raise _invalid(name, f"output {name}: folder {entry} cannot be opened") from None
        try:
            return _read_array(kind, inner, name, count)
        finally:
            inner.close()
    if isinstance(kind, ImageType) and stat.S_ISDIR(mode):
        return _read_image_folder(kind, folder, entry, name)
    if stat.S_ISDIR(mode):
        raise _invalid(name, "file structure for primitive parameter is a directory", IS_DIRECTORY)
    if isinstance(kind, FileType):
        return _read_binary(kind, folder, entry, name)
    text = _read_text(folder, entry, name)
    if not text.strip() and not isinstance(kind, StringType):
        raise _invalid(name, "file for parameter is blank", IS_BLANK)
    return kind.parse_text(text, name)


def _read_array(kind: ArrayType, folder: _Folder, name: str, count: list[int]) -> list[Any]:
    mode = folder.kind(METADATA)
    if mode is None:
        raise _invalid(name, "collection does not have array.yml file", MISSING_METADATA)
    if not stat.S_ISREG(mode):
        raise _invalid(name, "collection array.yml is malformed", INVALID_METADATA)
    text = _read_text(folder, METADATA, name, MAX_METADATA)
    try:
        metadata = yaml.safe_load(text)
    except yaml.YAMLError:
        metadata = None
    size = metadata.get("size") if isinstance(metadata, dict) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(name, "collection array.yml is malformed", INVALID_METADATA)
    count[0] += size
    if count[0] > MAX_ITEMS:
        raise _invalid(name, f"output {name} has more than {MAX_ITEMS} items")
    kind.check_size(size, name)
    return [_read(kind.subtype, folder, str(i), name, count) for i in range(size)]


def _read_binary(kind: FileType, folder: _Folder, entry: str, name: str) -> None:
    try:
        with _open_regular(Path(entry), dir_fd=folder.fd) as stream:
            size = os.fstat(stream.fileno()).st_size
            if isinstance(kind, ImageType):
                if check_image(kind, stream, size, name) == "wsidicom":
                    raise _invalid(name, "invalid image format")  # an output WSI-DICOM is a folder
            elif kind.max_file_size is not None and size > kind.max_file_size:
                raise _invalid(name, f"file larger than max_file_size ({kind.max_file_size} bytes)")
    except OSError as error:
        raise _invalid(name, f"output {name} cannot be read: {error.strerror}") from None


def _read_image_folder(kind: ImageType, folder: _Folder, entry: str, name: str) -> None:
    """A WSI-DICOM output: a folder of regular files (no links), the largest one DICOM."""
    if "wsidicom" not in kind.allowed_formats:
        raise _invalid(name, "invalid image format")
    root = _Folder.open(entry, dir_fd=folder.fd)
    try:
        files: list[tuple[int, _Folder, str]] = []
        opened: list[_Folder] = []
        _walk(root, name, files, opened, 0)
        try:
            if not files:
                raise _invalid(name, "invalid image")
            total = sum(size for size, _, _ in files)
            if kind.max_file_size is not None and total > kind.max_file_size:
                raise _invalid(name, "invalid image size")
            _, parent, leaf = max(files, key=lambda f: f[0])
            with _open_regular(Path(leaf), dir_fd=parent.fd) as stream:
                if image_format(stream.read(132)) != "dicom":
                    raise _invalid(name, "invalid image format")
                stream.seek(0)
                _check_dimensions(kind, stream, "dicom", name)
        finally:
            for inner in opened:
                inner.close()
    finally:
        root.close()


def _walk(
    folder: _Folder, name: str, files: list[tuple[int, _Folder, str]], opened: list[_Folder], depth: int
) -> None:
    if depth > 8:
        raise _invalid(name, f"output {name} is nested too deep")
    with os.scandir(folder.fd) as entries:
        for entry in entries:
            if len(files) + len(opened) >= MAX_FOLDER_ENTRIES:
                raise _invalid(name, f"output {name} has more than {MAX_FOLDER_ENTRIES} entries")
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(status.st_mode):
                inner = _Folder.open(entry.name, dir_fd=folder.fd)
                opened.append(inner)
                _walk(inner, name, files, opened, depth + 1)
            elif stat.S_ISREG(status.st_mode):
                files.append((status.st_size, folder, entry.name))
            else:
                raise _invalid(name, f"output {name} holds a link or special file: refused")


# -- matching arrays ------------------------------------------------------------------------------------


def check_matching(descriptor: Descriptor, values: Mapping[str, Any], *, outputs: bool) -> None:
    """Check that arrays matched by ``dependencies.matching`` (both ways, transitively) have the same
    shape — the same size, and so on down nested arrays, item by item: ``outputs=False`` checks inputs
    against inputs (before a run), ``outputs=True`` every pair with an output in it (after). ``values``
    are keyed by reference (``inputs/a``, ``outputs/b``) or, for the side being checked, by name; plain
    lists or Cytomine's ``[{index, value}]`` form; a pair whose value is not given (or null) is not
    checked. 400 ``APPE-internal-not-matching`` on the first pair that differs."""
    side = "outputs" if outputs else "inputs"
    given: dict[str, Any] = {}
    for key, value in values.items():
        given[key if "/" in key else f"{side}/{key}"] = value
    links: dict[str, set[str]] = {}
    for where, parameters in (("inputs", descriptor.inputs), ("outputs", descriptor.outputs)):
        for name, parameter in parameters.items():
            for reference in parameter.matching:
                links.setdefault(f"{where}/{name}", set()).add(reference)
                links.setdefault(reference, set()).add(f"{where}/{name}")
    seen: set[str] = set()
    for start in sorted(links):
        if start in seen:
            continue
        group, todo = [], [start]
        while todo:
            reference = todo.pop()
            if reference in seen:
                continue
            seen.add(reference)
            group.append(reference)
            todo.extend(links.get(reference, ()))
        present = sorted(r for r in group if isinstance(given.get(r), list))
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                sides = {a.partition("/")[0], b.partition("/")[0]}
                if (outputs and "outputs" not in sides) or (not outputs and sides != {"inputs"}):
                    continue
                difference = _shape_difference(given[a], given[b], "")
                if difference is not None:
                    where, size_a, size_b = difference
                    raise parameter_error(
                        b.partition("/")[2],
                        f"collections don't have the same size ({a}{where}: {size_a}, {b}{where}: {size_b})",
                        NOT_MATCHING,
                    )


def _items(value: Any) -> Any:
    """The items of an array value in index order, whether plain or ``[{index, value}]``."""
    if isinstance(value, list) and value and all(isinstance(v, Mapping) and "index" in v for v in value):
        return [v.get("value") for v in sorted(value, key=lambda v: int(v["index"]))]
    return value


def _shape_difference(a: Any, b: Any, where: str) -> tuple[str, int, int] | None:
    """Where two arrays first differ in size (a path such as ``[2]``, and the two sizes), or None."""
    a, b = _items(a), _items(b)
    if not isinstance(a, list) or not isinstance(b, list):
        return None
    if len(a) != len(b):
        return where, len(a), len(b)
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        difference = _shape_difference(x, y, f"{where}[{index}]")
        if difference is not None:
            return difference
    return None


__all__ = [
    "IMAGE_FORMATS",
    "check_image",
    "check_matching",
    "crc32_of",
    "image_format",
    "read_output",
    "store_binary_input",
    "write_input",
]

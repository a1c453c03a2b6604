"""Input and output files: written as Cytomine writes them, binary inputs checked, zip bombs and hostile
outputs (links, FIFOs, sockets, huge files) refused, arrays matched."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import time
import zipfile
import zlib
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard.appengine import files
from runyard.appengine.descriptor import parse_descriptor
from runyard.appengine.errors import AppEngineError
from runyard.appengine.files import check_matching, read_output, store_binary_input, write_input
from runyard.appengine.types import (
    MAX_TEXT,
    ArrayType,
    BooleanType,
    DatetimeType,
    EnumerationType,
    FileType,
    GeometryType,
    ImageType,
    IntegerType,
    NumberType,
    ParameterType,
    StringType,
)

from .conftest import BUNDLES, CORPUS

IMAGES = CORPUS / "images"


def _crc(path: Path) -> int:
    return zlib.crc32(path.read_bytes())


# -- inputs as Cytomine writes them ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "content"),
    [
        (IntegerType(), 18, "18"),
        (BooleanType(), True, "true"),
        (NumberType(), 2.25, "2.25"),
        (NumberType(), 2.0, "2.0"),
        (StringType(), "my_value", "my_value"),
        (EnumerationType(("A", "B")), "A", "A"),
        (DatetimeType(), "2024-02-23T18:00:00Z", "2024-02-23T18:00:00Z"),
        (
            GeometryType(),
            '{"type": "Point", "coordinates": [1.0, 2.0]}',
            '{"type": "Point", "coordinates": [1.0, 2.0]}',
        ),
    ],
)
def test_a_value_is_its_text_without_newline(
    tmp_path: Path, kind: ParameterType, value: Any, content: str
) -> None:
    written = write_input(kind, kind.validate(value, "input"), tmp_path, "input")
    assert (tmp_path / "input").read_text() == content
    assert written == {"input": zlib.crc32(content.encode())}


def test_an_array_is_a_folder(tmp_path: Path) -> None:
    kind = ArrayType(ArrayType(IntegerType()))
    written = write_input(kind, [[4, 1], [], [-1]], tmp_path, "my_array")
    folder = tmp_path / "my_array"
    assert (folder / "array.yml").read_text() == "size: 3"
    assert (folder / "0" / "array.yml").read_text() == "size: 2"
    assert (folder / "0" / "1").read_text() == "1" and (folder / "2" / "0").read_text() == "-1"
    assert (folder / "1" / "array.yml").read_text() == "size: 0"
    assert set(written) == {
        "my_array/array.yml",
        "my_array/0/array.yml",
        "my_array/0/0",
        "my_array/0/1",
        "my_array/1/array.yml",
        "my_array/2/array.yml",
        "my_array/2/0",
    }
    assert all(written[p] == _crc(tmp_path / p) for p in written)
    assert read_output(kind, tmp_path, "my_array") == [[4, 1], [], [-1]]


def test_write_input_refuses_binaries_and_odd_names(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_input(FileType(), "/x", tmp_path, "input")
    for name in ("../x", "a/b", "", ".", "a b"):
        with pytest.raises(ValueError):
            write_input(IntegerType(), 1, tmp_path, name)


def test_write_input_does_not_follow_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a").symlink_to(target)
    with pytest.raises(OSError):
        write_input(IntegerType(), 1, tmp_path / "in", "a")
    assert target.read_text() == "keep"


SCALARS: list[tuple[ParameterType, Any]] = [
    (IntegerType(), st.integers(-(2**31), 2**31 - 1)),
    (NumberType(), st.floats(allow_nan=False, allow_infinity=False)),
    (BooleanType(), st.booleans()),
    (StringType(), st.text(alphabet=st.characters(codec="utf-8"), max_size=30).map(str.strip)),
    (EnumerationType(("A", "B C", "é")), st.sampled_from(["A", "B C", "é"])),
    (DatetimeType(), st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())),
    (
        GeometryType(),
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)).map(
            lambda xy: json.dumps({"type": "Point", "coordinates": list(xy)})
        ),
    ),
]


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_inputs_read_back_as_outputs(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """What a task copies from its input to its output reads back as the value provisioned."""
    folder = tmp_path_factory.mktemp("round")
    kind, values = data.draw(st.sampled_from(SCALARS))
    depth = data.draw(st.integers(0, 2))
    strategy = values
    for _ in range(depth):
        strategy = st.lists(strategy, max_size=4)
        kind = ArrayType(kind)
    value = kind.validate(data.draw(strategy), "p")
    write_input(kind, value, folder, "p")
    back = read_output(kind, folder, "p")
    assert back == value


# -- binary inputs ----------------------------------------------------------------------------------------


def _upload(tmp_path: Path, fixture: str | bytes, name: str = "upload") -> Path:
    source = tmp_path / name
    if isinstance(fixture, bytes):
        source.write_bytes(fixture)
    else:
        shutil.copyfile(IMAGES / fixture, source)
    return source


@pytest.fixture
def run_inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("fixture", ["image.png", "image.jpg", "image.tif"])
def test_images_are_stored_with_their_sidecar(tmp_path: Path, run_inputs: Path, fixture: str) -> None:
    sidecar = json.dumps({"type": "Point", "coordinates": [1, 2]}).encode()
    kind = ImageType(max_width=680, max_height=512, max_file_size=2 * 2**20)
    written = store_binary_input(kind, _upload(tmp_path, fixture), run_inputs, "input", sidecar)
    assert (run_inputs / "input").read_bytes() == (IMAGES / fixture).read_bytes()
    assert (run_inputs / "input.geojson").read_bytes() == sidecar
    assert written == {"input": _crc(IMAGES / fixture), "input.geojson": zlib.crc32(sidecar)}
    assert not (tmp_path / "upload").exists()  # moved
    assert read_output(kind, run_inputs, "input") is None  # and valid as an output


def test_a_dicom_file(tmp_path: Path, run_inputs: Path) -> None:
    largest = max((IMAGES / "image").iterdir(), key=lambda p: p.stat().st_size)
    source = tmp_path / "upload"
    shutil.copyfile(largest, source)
    assert store_binary_input(ImageType(formats=("dicom",)), source, run_inputs, "input", None) == {
        "input": _crc(largest)
    }


def test_a_zipped_wsi_dicom_is_unzipped_in_place(tmp_path: Path, run_inputs: Path) -> None:
    written = store_binary_input(ImageType(), _upload(tmp_path, "image.zip"), run_inputs, "input", None)
    unzipped = sorted(p for p in (run_inputs / "input").rglob("*") if p.is_file())
    assert [p.name for p in unzipped] == sorted(p.name for p in (IMAGES / "image").iterdir())
    assert len(written) == 4
    for path, crc in written.items():
        assert crc == _crc(run_inputs / path)
        assert (run_inputs / path).read_bytes() == (IMAGES / "image" / Path(path).name).read_bytes()
    assert read_output(ImageType(), run_inputs, "input") is None  # a WSI-DICOM output is such a folder


@pytest.mark.parametrize(
    ("kind", "fixture", "message"),
    [
        (ImageType(formats=("png",)), "image.jpg", "invalid image format"),
        (ImageType(formats=("jpeg", "tiff")), "image.png", "invalid image format"),
        (ImageType(formats=("dicom",)), "image.zip", "invalid image format"),
        (ImageType(max_width=679), "image.png", "invalid image width"),
        (ImageType(max_height=511), "image.tif", "invalid image height"),
        (ImageType(max_file_size=50_000), "image.jpg", "invalid image size"),
        (ImageType(max_file_size=900_000), "image.zip", "invalid image size"),
        (ImageType(max_width=100), "image.zip", "invalid image width"),
        (ImageType(), b"not an image at all", "invalid image format"),
        (ImageType(), b"\x89PNG\r\n\x1a\ntruncated", "invalid image"),
        (ImageType(), b"\0" * 128 + b"DICMgarbage", "invalid image dimension"),
    ],
)
def test_images_are_checked(
    tmp_path: Path, run_inputs: Path, kind: ImageType, fixture: str | bytes, message: str
) -> None:
    with pytest.raises(AppEngineError) as raised:
        store_binary_input(kind, _upload(tmp_path, fixture), run_inputs, "input", None)
    assert raised.value.message == message
    assert raised.value.details == {"type": "parameter", "parameterName": "input"}
    assert not (run_inputs / "input").exists()


def test_files(tmp_path: Path, run_inputs: Path) -> None:
    data = os.urandom(1000)
    assert store_binary_input(FileType(), _upload(tmp_path, data), run_inputs, "input", None) == {
        "input": zlib.crc32(data)
    }
    with pytest.raises(AppEngineError, match="max_file_size"):
        store_binary_input(FileType(max_file_size=999), _upload(tmp_path, data), run_inputs, "big", None)
    with pytest.raises(AppEngineError, match="text"):
        store_binary_input(FileType(formats=("text",)), _upload(tmp_path, b"\xff\xfe"), run_inputs, "t", None)
    text = "é\n" * 10
    store_binary_input(FileType(formats=("text",)), _upload(tmp_path, text.encode()), run_inputs, "t", None)
    assert (run_inputs / "t").read_text() == text
    assert store_binary_input(FileType(), _upload(tmp_path, b"item"), run_inputs, "0", None) == {
        "0": zlib.crc32(b"item")
    }


def test_bad_sources_and_sidecars(tmp_path: Path, run_inputs: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(IMAGES / "image.png")
    with pytest.raises(AppEngineError, match="regular"):
        store_binary_input(ImageType(), link, run_inputs, "input", None)
    for sidecar in (b"{not json", b"[1, 2]", b'{"no": "type"}', b" " * (16 * 2**20 + 1)):
        with pytest.raises(AppEngineError):
            store_binary_input(ImageType(), _upload(tmp_path, "image.png"), run_inputs, "input", sidecar)
    with pytest.raises(TypeError):
        store_binary_input(IntegerType(), _upload(tmp_path, b"1"), run_inputs, "input", None)


# -- zip bombs and hostile archives ----------------------------------------------------------------------

DICOM = max((IMAGES / "image").iterdir(), key=lambda p: p.stat().st_size).read_bytes()


def _zip(tmp_path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], name: str = "upload") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members:
            archive.writestr(member, data)
    return path


def _link(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    "members",
    [
        [("../escape.dcm", DICOM)],
        [("/etc/cron.d/x", DICOM)],
        [("a/../../x", DICOM)],
        [("c:\\x", DICOM)],
        [("ok.dcm", DICOM), (_link("link", "/etc/shadow"), b"/etc/shadow")],
        [(f"{i}.dcm", b"") for i in range(files.MAX_ZIP_ENTRIES + 1)],
    ],
    ids=["dotdot", "absolute", "inner-dotdot", "windows", "symlink", "entries"],
)
def test_hostile_archives_are_refused(
    tmp_path: Path, run_inputs: Path, members: list[tuple[Any, bytes]]
) -> None:
    with pytest.raises(AppEngineError) as raised:
        store_binary_input(ImageType(), _zip(tmp_path, members), run_inputs, "input", None)
    assert raised.value.code in (
        "APPE-internal-image-validation-error",
        "APPE-internal-request-validation-error",
    )
    assert not (run_inputs / "input").exists()
    assert not (tmp_path / "escape.dcm").exists()


def test_a_zip_bomb_is_refused_before_it_fills_the_disk(
    tmp_path: Path, run_inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_UNZIPPED", 8 * 2**20)
    bomb = _zip(tmp_path, [("big.dcm", b"\0" * (9 * 2**20))])
    assert bomb.stat().st_size < 20_000
    with pytest.raises(AppEngineError, match="invalid image size"):
        store_binary_input(ImageType(), bomb, run_inputs, "input", None)
    assert not (run_inputs / "input").exists()


def test_a_member_larger_than_it_says_is_refused(tmp_path: Path, run_inputs: Path) -> None:
    path = _zip(tmp_path, [("a.dcm", DICOM)])
    data = bytearray(path.read_bytes())
    # lower the uncompressed size in the central directory: inflating yields more than announced
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(AppEngineError):
        store_binary_input(ImageType(), path, run_inputs, "input", None)
    assert not (run_inputs / "input").exists()


def test_a_zip_without_dicom_is_refused(tmp_path: Path, run_inputs: Path) -> None:
    with pytest.raises(AppEngineError, match="invalid image format"):
        store_binary_input(ImageType(), _zip(tmp_path, [("a.txt", b"text")]), run_inputs, "input", None)
    with pytest.raises(AppEngineError):
        store_binary_input(ImageType(), _zip(tmp_path, [("empty/", b"")]), run_inputs, "input", None)


# -- hostile outputs ---------------------------------------------------------------------------------------


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    folder.mkdir()
    return folder


def _refused(kind: ParameterType, folder: Path, name: str = "output") -> AppEngineError:
    with pytest.raises(AppEngineError) as raised:
        read_output(kind, folder, name)
    assert raised.value.status == 400
    assert raised.value.details == {"type": "parameter", "parameterName": name}
    return raised.value


def test_links_are_never_followed(tmp_path: Path, outputs: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("42")
    (outputs / "output").symlink_to(secret)
    assert "symbolic link" in _refused(IntegerType(), outputs).message
    assert "symbolic link" in _refused(FileType(), outputs).message
    assert "symbolic link" in _refused(ImageType(), outputs).message
    (outputs / "output").unlink()
    (outputs / "output").symlink_to("/etc/passwd")
    assert "symbolic link" in _refused(StringType(), outputs).message


def test_links_inside_arrays_are_never_followed(tmp_path: Path, outputs: Path) -> None:
    platform = tmp_path / "platform"
    platform.mkdir()
    (platform / "array.yml").write_text("size: 1")
    (platform / "0").write_text("7")
    kind = ArrayType(IntegerType())
    (outputs / "output").symlink_to(platform)  # the folder itself
    assert "symbolic link" in _refused(kind, outputs).message
    (outputs / "output").unlink()
    (outputs / "output").mkdir()
    (outputs / "output" / "array.yml").symlink_to(platform / "array.yml")
    assert _refused(kind, outputs).code == "APPE-internal-invalid-metadata"
    (outputs / "output" / "array.yml").unlink()
    (outputs / "output" / "array.yml").write_text("size: 1")
    (outputs / "output" / "0").symlink_to(platform / "0")
    assert "symbolic link" in _refused(kind, outputs).message
    wsi = outputs / "wsi"
    wsi.mkdir()
    (wsi / "a.dcm").write_bytes(DICOM)
    (wsi / "b.dcm").symlink_to(platform / "0")
    assert "link" in _refused(ImageType(), outputs, "wsi").message


def test_special_files_are_refused_without_blocking(outputs: Path) -> None:
    os.mkfifo(outputs / "output")
    started = time.monotonic()
    assert "regular" in _refused(StringType(), outputs).message
    assert "regular" in _refused(FileType(), outputs).message
    assert time.monotonic() - started < 5
    (outputs / "output").unlink()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(outputs / "output"))
        assert "regular" in _refused(StringType(), outputs).message


def test_wsi_output_folders_are_bounded(outputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_FOLDER_ENTRIES", 10)
    wsi = outputs / "output"
    (wsi / "level").mkdir(parents=True)
    (wsi / "level" / "a.dcm").write_bytes(DICOM)
    assert read_output(ImageType(), outputs, "output") is None
    for i in range(10):
        (wsi / f"{i}.dcm").write_bytes(b"")
    assert "entries" in _refused(ImageType(), outputs).message
    shutil.rmtree(wsi)
    (wsi / "level").mkdir(parents=True)
    os.mkfifo(wsi / "level" / "fifo")
    assert "special" in _refused(ImageType(), outputs).message
    assert "invalid image format" in _refused(ImageType(formats=("png",)), outputs).message


def test_huge_outputs_are_refused(outputs: Path) -> None:
    with open(outputs / "output", "wb") as stream:
        stream.truncate(MAX_TEXT + 1)  # sparse: no disk used
    assert "larger" in _refused(StringType(), outputs).message
    (outputs / "array").mkdir()
    with open(outputs / "array" / "array.yml", "wb") as stream:
        stream.truncate(10**9)
    assert "larger" in _refused(ArrayType(IntegerType()), outputs, "array").message
    (outputs / "many").mkdir()
    (outputs / "many" / "array.yml").write_text("size: 100000000")
    assert "items" in _refused(ArrayType(IntegerType()), outputs, "many").message


def test_names_are_checked(outputs: Path) -> None:
    for name in ("../outputs/x", "/etc/passwd", "a/b"):
        with pytest.raises(ValueError):
            read_output(IntegerType(), outputs, name)


def test_missing_blank_and_misshapen_outputs(outputs: Path) -> None:
    assert _refused(IntegerType(), outputs).code == "APPE-internal-missing-output-files"
    assert "output output is missing" in _refused(IntegerType(), outputs).message
    (outputs / "output").mkdir()
    assert _refused(IntegerType(), outputs).code == "APPE-internal-is-directory"
    assert _refused(ArrayType(IntegerType()), outputs).code == "APPE-internal-missing-metadata"
    (outputs / "output" / "array.yml").write_text("size: two")
    assert _refused(ArrayType(IntegerType()), outputs).code == "APPE-internal-invalid-metadata"
    (outputs / "output" / "array.yml").write_text("size: 2")
    (outputs / "output" / "0").write_text("1")
    assert _refused(ArrayType(IntegerType()), outputs).code == "APPE-internal-missing-output-files"
    (outputs / "output" / "1").write_text("2\n")
    (outputs / "output" / "extra").write_text("ignored")
    assert read_output(ArrayType(IntegerType()), outputs, "output") == [1, 2]
    assert (
        _refused(ArrayType(IntegerType(), max_size=1), outputs).message
        == "value does not match defined constraint."
    )
    (outputs / "n").write_text(" \n")
    assert _refused(IntegerType(), outputs, "n").code == "APPE-internal-is-blank"
    assert read_output(StringType(), outputs, "n") == ""
    (outputs / "n").write_bytes(b"\xff")
    assert _refused(StringType(), outputs, "n").message == "invalid parameter type"
    (outputs / "n").write_text("0x10")
    assert _refused(IntegerType(), outputs, "n").message == "invalid parameter type"
    (outputs / "n").write_text("5\n")
    assert _refused(IntegerType(lt=5), outputs, "n").message == "value must be less than defined constraint"
    (outputs / "n").write_text("yes")
    assert read_output(BooleanType(), outputs, "n") is False  # Boolean.parseBoolean
    (outputs / "n").write_text("C")
    assert (
        _refused(EnumerationType(("A",)), outputs, "n").message == "value does not match defined constraint."
    )
    (outputs / "img").write_text("not an image")
    assert _refused(ImageType(), outputs, "img").message == "invalid image format"
    (outputs / "img").write_bytes(b"PK\x03\x04")
    assert _refused(ImageType(), outputs, "img").message == "invalid image format"


def test_the_corpus_outputs(outputs: Path) -> None:
    """What the dummy tasks write (README: verified by running) reads back."""
    (outputs / "sum").write_text("42")
    assert read_output(IntegerType(), outputs, "sum") == 42
    (outputs / "output").write_text('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}')
    assert json.loads(read_output(GeometryType(), outputs, "output"))["type"] == "Polygon"
    (outputs / "number").write_text("2.25")
    assert read_output(NumberType(), outputs, "number") == 2.25


# -- matching arrays -------------------------------------------------------------------------------------


def test_check_matching() -> None:
    with zipfile.ZipFile(BUNDLES / "com.cytomine.dummy.identity.integer.collection-0.1.0.zip") as archive:
        descriptor = parse_descriptor(archive.read("descriptor.yml"))
    check_matching(descriptor, {"input": [1, 2]}, outputs=False)
    check_matching(descriptor, {"output": [1, 2], "inputs/input": [3, 4]}, outputs=True)
    check_matching(descriptor, {"output": [1, 2, 3]}, outputs=True)  # the input not given: not checked
    with pytest.raises(AppEngineError) as raised:
        check_matching(descriptor, {"output": [1, 2, 3], "inputs/input": [3, 4]}, outputs=True)
    assert raised.value.code == "APPE-internal-not-matching"
    assert raised.value.message.startswith("collections don't have the same size")
    check_matching(
        descriptor, {"inputs/input": [1], "outputs/output": [1, 2]}, outputs=False
    )  # after, not before
    wire = [{"index": 0, "value": 1}, {"index": 1, "value": 2}]
    check_matching(descriptor, {"output": [5, 6], "inputs/input": wire}, outputs=True)


def test_check_matching_goes_down_nested_arrays() -> None:
    text = (BUNDLES.parent / "dummy-tasks" / "identity integer array" / "code" / "descriptor.yml").read_text()
    nested = "      subtype:\n        id: array\n        subtype:\n          id: integer\n"
    document = text.replace(
        "      subtype:\n        id: integer\n        leq: 300.0\n        geq: 0\n", nested
    )
    descriptor = parse_descriptor(document.encode())
    check_matching(descriptor, {"output": [[1, 2], []], "inputs/input": [[3, 4], []]}, outputs=True)
    with pytest.raises(AppEngineError) as raised:
        check_matching(descriptor, {"output": [[1, 2], [1]], "inputs/input": [[3, 4], []]}, outputs=True)
    assert "[1]" in raised.value.message
    wire = [{"index": 1, "value": [{"index": 0, "value": 1}]}, {"index": 0, "value": []}]
    check_matching(descriptor, {"output": [[], [5]], "inputs/input": wire}, outputs=True)
    with pytest.raises(AppEngineError):
        check_matching(descriptor, {"output": [[5], []], "inputs/input": wire}, outputs=True)


def test_check_matching_is_transitive() -> None:
    text = (BUNDLES.parent / "dummy-tasks" / "identity integer array" / "code" / "descriptor.yml").read_text()
    document = text.replace(
        "outputs:\n",
        "  second:\n    display_name: s\n    description: s\n"
        "    type:\n      id: array\n      subtype: integer\n"
        "    dependencies:\n      matching:\n        - inputs/input\n"
        "  third:\n    display_name: t\n    description: t\n"
        "    type:\n      id: array\n      subtype: integer\n"
        "    dependencies:\n      matching:\n        - inputs/second\n"
        "outputs:\n",
        1,
    )
    descriptor = parse_descriptor(document.encode())
    check_matching(descriptor, {"input": [1], "second": [2], "third": [3]}, outputs=False)
    with pytest.raises(AppEngineError):
        check_matching(descriptor, {"input": [1], "third": [3, 4]}, outputs=False)  # through second

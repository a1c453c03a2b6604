"""Provisioning a run's inputs: values checked against the task's descriptor, written where the task
reads them, recorded (value and CRC32s) in ``app_engine_runs.provisions``, and the run's state recomputed.

What a run's ``provisions`` column holds, one entry per provisioned input::

    {name: {"value": <wire value, null for a file or image>, "reference": bool,
            "checksums": {<path relative to the inputs folder>: <crc32>}}}

Arrays: ``value`` is Cytomine's ``[{"index": i, "value": v}, …]`` (nested for nested arrays), and a
referenced array (items given as absolute paths under ``app_engine_datasets``) holds the resolved paths
as its item values, with ``reference`` true: nothing is copied, the execution makes the symlinks.
An array provisioned item by item (``…/indexes?value=i[/j…]``) keeps ``array.yml`` at ``size:`` its
highest index + 1 at every level, and counts as provisioned once no index below that is missing and it
has at least ``min_size`` items.

Departures from upstream, on purpose:

* Upstream accepts provisioning in any state: a FINISHED run's inputs could be changed afterwards, and
  a provision could flip a QUEUING run back to PROVISIONED. Here inputs may change in CREATED and
  PROVISIONED only; later, 403 ``APPE-internal-task-run-state-error``: what a run was given is what it
  ran with.
* Upstream accepts an absolute path anywhere on its disk, as the value of a file or image (copied in)
  and as an array's items (referenced). Here a file or image input comes as a multipart file only,
  and an array's items are references to paths under the datasets folder (``app_engine_datasets``)
  only, resolved without leaving it through a symlink, each a regular file. Without that setting, no
  path is accepted.

Kept from upstream: a body that is not the JSON expected answers 403
``APPE-internal-task-run-state-error`` "unable to process json" (upstream's processing-error code is
the state error's).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runyard.appengine import files
from runyard.appengine import runs as runs_
from runyard.appengine.descriptor import Descriptor, Parameter
from runyard.appengine.errors import (
    PARAMETER_NOT_FOUND,
    RUN_STATE,
    AppEngineError,
    batch_error,
    parameter_error,
)
from runyard.appengine.storage import Storage
from runyard.appengine.types import INVALID_STRUCTURE_CODE, MAX_ITEMS, ArrayType, ParameterType
from runyard.store.schema import app_engine_runs

BATCH = "APPE-internal-batch-request-error"
INVALID_INDEXES = "APPE-internal-invalid-indexes"
NULL_PROVISION = "APPE-internal-null-provision"
PROVISIONS_NOT_FOUND = "APPE-internal-task-run-provisions-not-found"

#: Cytomine's regular expression of an array item's index (``i`` or ``i/j/…``).
INDEX = re.compile(r"^(0(/[0-9]+)*|[1-9][0-9]*(/[0-9]+)*)$")
#: Deepest nesting of an index path (``i/j/…``) accepted.
MAX_INDEX_DEPTH = 8
ARRAY_METADATA = "array.yml"
BODY_KEYS = frozenset({"parameterName", "param_name", "type", "value"})


@dataclass(frozen=True)
class Provision:
    """One input's value as a client sent it."""

    parameter: str
    value: Any
    type: str | None = None


def json_error() -> AppEngineError:
    """Upstream's answer to a body it cannot map: 403, the state error's code."""
    return AppEngineError(403, RUN_STATE, "unable to process json")


def parse_provision(body: Any, parameter: str | None = None) -> Provision:
    """A provision from a JSON body ``{"parameterName" (or "param_name"), "type"?, "value"}``; the
    path's ``parameter``, when there is one, names the input (as upstream, whatever the body says)."""
    if not isinstance(body, dict) or not set(body) <= BODY_KEYS or "value" not in body:
        raise json_error()
    named = body.get("parameterName", body.get("param_name"))
    name = parameter if parameter is not None else named
    wire_type = body.get("type")
    if not isinstance(name, str) or (wire_type is not None and not isinstance(wire_type, str)):
        raise json_error()
    return Provision(name, body["value"], wire_type)


def parse_batch(body: Any) -> list[Provision]:
    if not isinstance(body, list):
        raise json_error()
    return [parse_provision(item) for item in body]


# ---------------------------------------------------------------------------------------------------
# JSON provisions


def provision(
    connection: sa.Connection,
    storage: Storage,
    run: runs_.Run,
    descriptor: Descriptor,
    given: Sequence[Provision],
    *,
    datasets: Path | None,
    batch: bool,
) -> tuple[runs_.Run, list[dict[str, Any]]]:
    """Provision the inputs ``given`` (all checked first: one bad value and nothing is written) and
    recompute the run's state; the run as it is now and one echo per provision.

    A single provision's error is raised as is; a batch's errors come together in one 400
    ``APPE-internal-batch-request-error``."""
    check_provisionable(run)
    prepared: list[tuple[Parameter, _Value]] = []
    errors: list[AppEngineError] = []
    for item in given:
        try:
            parameter = input_parameter(descriptor, item.parameter)
            prepared.append((parameter, _checked(parameter, item, datasets)))
        except AppEngineError as error:
            if not batch:
                raise
            errors.append(error)
    if errors:
        raise batch_error(BATCH, "Error(s) occurred during a handling of a batch request.", errors)
    folder = storage.run_inputs(run["id"])
    recorded = dict(run["provisions"])
    for parameter, value in prepared:
        _remove(folder, parameter.name)
        if value.null:
            recorded[parameter.name] = {"value": None, "reference": False, "checksums": {}}
        elif value.reference:
            recorded[parameter.name] = {"value": value.wire, "reference": True, "checksums": {}}
        else:
            checksums = files.write_input(parameter.type, value.written, folder, parameter.name)
            recorded[parameter.name] = {"value": value.wire, "reference": False, "checksums": checksums}
    run = _record(connection, run, descriptor, recorded)
    echoes = [_echo(run, parameter, value.wire) for parameter, value in prepared]
    return run, echoes


@dataclass(frozen=True)
class _Value:
    wire: Any
    """As recorded and echoed (an array in ``[{index, value}]`` form)."""
    null: bool = False
    reference: bool = False
    plain: Any = None
    """An array as validated (plain lists), what :func:`files.write_input` takes."""

    @property
    def written(self) -> Any:
        return self.plain if self.plain is not None else self.wire


def _checked(parameter: Parameter, item: Provision, datasets: Path | None) -> _Value:
    """``item``'s value for ``parameter``, validated; an array in Cytomine's ``[{index, value}]`` form."""
    kind = parameter.type
    if item.type is not None and item.type.upper() != kind.wire_type:
        raise parameter_error(parameter.name, f"invalid parameter type: {parameter.name} is {kind.wire_type}")
    if item.value is None:
        if not parameter.optional:
            raise parameter_error(
                parameter.name, "a value is required: the parameter is not optional", NULL_PROVISION
            )
        return _Value(None, null=True)
    if kind.binary:
        raise parameter_error(
            parameter.name, f"a {kind.id} is provisioned as a multipart file (POST), not as JSON"
        )
    value = kind.validate(item.value, parameter.name)
    if not isinstance(kind, ArrayType):
        return _Value(value)
    if kind.leaf().binary:  # an array of files or images given as paths: references to dataset files
        resolved = _map_leaves(value, lambda path: str(dataset_file(path, datasets, parameter.name)))
        return _Value(indexed(resolved), reference=True, plain=resolved)
    return _Value(indexed(value), plain=value)


def indexed(value: Any) -> Any:
    """A validated array (plain lists, nested) in Cytomine's wire form ``[{index, value}, …]``."""
    if not isinstance(value, list):
        return value
    return [{"index": i, "value": indexed(item)} for i, item in enumerate(value)]


def _map_leaves(value: Any, function: Callable[[Any], Any]) -> Any:
    if isinstance(value, list):
        return [_map_leaves(item, function) for item in value]
    return function(value)


def dataset_file(path: str, datasets: Path | None, parameter: str) -> Path:
    """The regular file ``path`` names, which must lie under the datasets folder, every symlink on the
    way resolved and still under it (400 otherwise; always 400 when no datasets folder is set)."""
    if datasets is None:
        raise parameter_error(parameter, "dataset references are disabled on this server")
    if "\x00" in path or not os.path.isabs(path):
        raise parameter_error(parameter, f"a reference is an absolute path: {path!r}")
    try:
        root = datasets.resolve(strict=True)
    except OSError:
        raise parameter_error(parameter, "the datasets folder is unavailable") from None
    resolved = Path(os.path.realpath(path))
    if not resolved.is_relative_to(root):
        raise parameter_error(parameter, f"{path} is not under the datasets folder")
    if not resolved.is_file():
        raise parameter_error(parameter, f"{path} is not an existing regular file")
    return resolved


# ---------------------------------------------------------------------------------------------------
# Binary provisions (multipart) and array items


def provision_binary(
    connection: sa.Connection,
    storage: Storage,
    run: runs_.Run,
    descriptor: Descriptor,
    name: str,
    source: Path,
    sidecar: bytes | None,
) -> tuple[runs_.Run, dict[str, Any]]:
    """Provision the file or image input ``name`` with the file ``source`` (moved or copied in), and
    its optional GeoJSON sidecar (``{name}.geojson``)."""
    check_provisionable(run)
    parameter = input_parameter(descriptor, name)
    if not parameter.type.binary:
        raise parameter_error(name, f"{name} is {parameter.type.wire_type}: it is provisioned as JSON (PUT)")
    checksums = _store_staged(parameter.type, source, storage.run_inputs(run["id"]), name, sidecar)
    recorded = dict(run["provisions"])
    recorded[name] = {"value": None, "reference": False, "checksums": checksums}
    run = _record(connection, run, descriptor, recorded)
    return run, _echo(run, parameter, None)


@dataclass(frozen=True)
class Item:
    """Where an array item goes: the array input and the index path into it."""

    parameter: Parameter
    indexes: tuple[int, ...]
    type: ParameterType
    """The item's type (the array's subtype, once per index level)."""

    @property
    def path(self) -> str:
        return "/".join(str(i) for i in self.indexes)


def array_item(descriptor: Descriptor, name: str, index: str, *, outputs: bool = False) -> Item:
    """The item ``index`` (``i`` or ``i/j/…``) of the array input (or output) ``name``: the index
    checked against Cytomine's pattern and each level's ``max_size``."""
    parameter = (output_parameter if outputs else input_parameter)(descriptor, name)
    if not INDEX.match(index) or index.count("/") >= MAX_INDEX_DEPTH:
        raise parameter_error(name, f"invalid index {index!r}", INVALID_INDEXES)
    indexes = tuple(int(part) for part in index.split("/"))
    kind = parameter.type
    for depth, position in enumerate(indexes):
        if not isinstance(kind, ArrayType):
            raise parameter_error(
                name, f"index {index!r} is deeper than the array's {depth} level(s)", INVALID_INDEXES
            )
        limit = MAX_ITEMS if kind.max_size is None else min(kind.max_size, MAX_ITEMS)
        if position >= limit:
            raise parameter_error(
                name,
                f"index {position} is out of range: the array has at most {limit} items",
                INVALID_INDEXES,
            )
        kind = kind.subtype
    return Item(parameter, indexes, kind)


def provision_item(
    connection: sa.Connection,
    storage: Storage,
    run: runs_.Run,
    descriptor: Descriptor,
    item: Item,
    *,
    value: Any = None,
    source: Path | None = None,
    sidecar: bytes | None = None,
) -> tuple[runs_.Run, dict[str, Any]]:
    """Provision one item of an array input: a JSON ``value``, or a file ``source`` for a file or image
    item; every ``array.yml`` on its path kept to the number of items of its level."""
    check_provisionable(run)
    name = item.parameter.name
    binary = item.type.binary
    if binary != (source is not None):
        how = "a multipart file (POST)" if binary else "JSON (PUT)"
        raise parameter_error(name, f"an item of {name} is provisioned as {how}")
    if item.type.id == "array":
        raise parameter_error(
            name, "an item that is itself an array is provisioned item by item", INVALID_INDEXES
        )
    wire = None if binary else item.type.validate(value, name)
    folder = storage.run_inputs(run["id"])
    recorded = dict(run["provisions"])
    before = recorded.get(name)
    fresh = before is None or before["reference"] or not isinstance(before["value"], list)
    # a whole value, a reference or nothing before: a new array
    previous: dict[str, Any] = {"value": [], "checksums": {}} if fresh or before is None else before
    tree = _set_item(previous["value"], item.indexes, wire)
    if _count(tree) > MAX_ITEMS:
        raise parameter_error(name, f"an array holds at most {MAX_ITEMS} items", INVALID_STRUCTURE_CODE)
    if fresh:
        _remove(folder, name)
    parent = folder / name
    for position in item.indexes[:-1]:
        parent.mkdir(exist_ok=True)
        parent = parent / str(position)
    parent.mkdir(parents=True, exist_ok=True)
    leaf = str(item.indexes[-1])
    if source is not None:
        written = _store_staged(item.type, source, parent, leaf, sidecar)
    else:
        _remove(parent, leaf)
        written = files.write_input(item.type, wire, parent, leaf)
    prefix = parent.relative_to(folder).as_posix()
    stale = f"{prefix}/{leaf}"
    checksums = {
        k: v for k, v in previous["checksums"].items() if k != stale and not k.startswith(stale + "/")
    }
    checksums.update({f"{prefix}/{path}": crc for path, crc in written.items()})
    checksums.update(_write_metadata(folder, name, tree))
    recorded[name] = {"value": tree, "reference": False, "checksums": checksums}
    run = _record(connection, run, descriptor, recorded)
    return run, {"index": f"{name}/{item.path}", "value": wire, "taskRunId": run["id"]}


def _store_staged(
    kind: ParameterType, source: Path, folder: Path, name: str, sidecar: bytes | None
) -> dict[str, int]:
    """:func:`files.store_binary_input` into a staging folder, then moved in place of the former
    ``name`` (and its sidecar): a refused file leaves the former provision as it was."""
    staged = folder / f".{name}.staged"
    _remove(folder, staged.name)
    staged.mkdir()
    try:
        checksums = files.store_binary_input(kind, source, staged, name, sidecar)
        _remove(folder, name)
        for entry in staged.iterdir():
            entry.rename(folder / entry.name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return checksums


def _count(tree: list[dict[str, Any]]) -> int:
    return sum(1 + (_count(entry["value"]) if isinstance(entry["value"], list) else 0) for entry in tree)


def _set_item(tree: list[dict[str, Any]], indexes: tuple[int, ...], value: Any) -> list[dict[str, Any]]:
    """A copy of ``tree`` (``[{index, value}]``, nested) with ``value`` at ``indexes``."""
    items = {entry["index"]: entry["value"] for entry in tree}
    first, rest = indexes[0], indexes[1:]
    if rest:
        below = items.get(first)
        items[first] = _set_item(below if isinstance(below, list) else [], rest, value)
    else:
        items[first] = value
    return [{"index": i, "value": items[i]} for i in sorted(items)]


def _write_metadata(folder: Path, name: str, tree: list[dict[str, Any]]) -> dict[str, int]:
    """``array.yml`` (``size: N``, N = highest index + 1) in every folder of the array ``tree``; their
    CRC32s by path relative to ``folder``."""
    written: dict[str, int] = {}

    def walk(relative: str, level: list[dict[str, Any]]) -> None:
        size = max((entry["index"] for entry in level), default=-1) + 1
        data = f"size: {size}".encode()
        (folder / relative / ARRAY_METADATA).write_bytes(data)
        written[f"{relative}/{ARRAY_METADATA}"] = zlib.crc32(data)
        for entry in level:
            if isinstance(entry["value"], list) and (folder / relative / str(entry["index"])).is_dir():
                walk(f"{relative}/{entry['index']}", entry["value"])

    walk(name, tree)
    return written


# ---------------------------------------------------------------------------------------------------
# State


def discard_staging(storage: Storage, run_id: str) -> None:
    """Remove what a provision cut short (a server killed mid-way) left in the run's inputs folder:
    its staging folders, which the task would otherwise see. Call before the run starts."""
    for staged in storage.run_inputs(run_id).rglob(".*.staged"):
        if staged.is_dir() and not staged.is_symlink():
            shutil.rmtree(staged, ignore_errors=True)


def check_provisionable(run: runs_.Run) -> None:
    if run["state"] not in runs_.PROVISIONABLE:
        raise runs_.state_error(
            f"the run is {run['state']}: its inputs can change only while it is CREATED or PROVISIONED"
        )


def missing_inputs(descriptor: Descriptor, provisions: Mapping[str, Any]) -> list[str]:
    """The non-optional inputs not (completely) provisioned yet: absent, or an array provisioned item
    by item with a hole or fewer items than its minimum size."""
    return [
        name
        for name, parameter in descriptor.inputs.items()
        if not parameter.optional and not _provisioned(parameter, provisions.get(name))
    ]


def _provisioned(parameter: Parameter, entry: Mapping[str, Any] | None) -> bool:
    if entry is None:
        return False
    if parameter.type.binary or entry["reference"]:
        return True
    return entry["value"] is not None and _complete(parameter.type, entry["value"])


def _complete(kind: ParameterType, tree: Any) -> bool:
    if not isinstance(kind, ArrayType):
        return True
    if not isinstance(tree, list):
        return False
    indexes = [entry["index"] for entry in tree]
    if indexes != list(range(len(indexes))) or len(indexes) < (kind.min_size or 0):
        return False
    return all(_complete(kind.subtype, entry["value"]) for entry in tree)


def recompute(connection: sa.Connection, run: runs_.Run, descriptor: Descriptor) -> runs_.Run:
    """CREATED or PROVISIONED as the run's provisions say (a run in another state is left as it is)."""
    wanted = runs_.CREATED if missing_inputs(descriptor, run["provisions"]) else runs_.PROVISIONED
    if run["state"] != wanted and run["state"] in runs_.PROVISIONABLE:
        runs_.set_state(connection, run["id"], wanted, expected=runs_.PROVISIONABLE)
        run = _reread(connection, run["id"])
    return run


def _record(
    connection: sa.Connection, run: runs_.Run, descriptor: Descriptor, recorded: dict[str, Any]
) -> runs_.Run:
    """Store ``recorded`` as the run's provisions (if the run is still provisionable) and recompute
    its state."""
    moved = connection.execute(
        app_engine_runs.update()
        .where(app_engine_runs.c.id == run["id"], app_engine_runs.c.state.in_(list(runs_.PROVISIONABLE)))
        .values(provisions=recorded, updated_at=time.time())
    )
    if moved.rowcount != 1:
        raise runs_.state_error("the run left CREATED and PROVISIONED while being provisioned")
    return recompute(connection, _reread(connection, run["id"]), descriptor)


def _reread(connection: sa.Connection, run_id: str) -> runs_.Run:
    run = runs_.find_run(connection, run_id)
    if run is None:
        raise runs_.run_not_found()
    return run


# ---------------------------------------------------------------------------------------------------
# Parameters and echoes


def input_parameter(descriptor: Descriptor, name: str) -> Parameter:
    parameter = descriptor.inputs.get(name)
    if parameter is None:
        raise parameter_error(name, "parameter not found", PARAMETER_NOT_FOUND, 404)
    return parameter


def output_parameter(descriptor: Descriptor, name: str) -> Parameter:
    parameter = descriptor.outputs.get(name)
    if parameter is None:
        raise parameter_error(name, "parameter not found", PARAMETER_NOT_FOUND, 404)
    return parameter


def _echo(run: runs_.Run, parameter: Parameter, value: Any) -> dict[str, Any]:
    """Cytomine's provision echo: ``{parameterName, value, taskRunId}``, no value for a file or image."""
    echo: dict[str, Any] = {"parameterName": parameter.name, "taskRunId": run["id"]}
    if not parameter.type.binary:
        echo["value"] = value
    return echo


def _remove(folder: Path, name: str) -> None:
    """Remove the input ``name`` from ``folder``: its file or folder and its GeoJSON sidecar."""
    for path in (folder / name, folder / f"{name}.geojson"):
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


@contextmanager
def run_lock(run_id: str) -> Iterator[None]:
    """One change of a run's inputs at a time in this process: hold it around the transaction that
    reads the run (``get_run(..., for_update=True)``, which serializes servers on PostgreSQL),
    provisions and commits."""
    with _locks_guard:
        lock = _locks.get(run_id)
        if lock is None:
            lock = _locks[run_id] = threading.Lock()
    with lock:
        yield


def plain(value: Any) -> Any:
    """A recorded value with its arrays as plain lists (``[{index, value}]`` undone, nested)."""
    if isinstance(value, list):
        return [plain(entry["value"]) for entry in value]
    return value


def plain_values(provisions: Mapping[str, Any]) -> dict[str, Any]:
    """The run's provisioned values by input name, arrays as plain lists."""
    return {name: plain(entry["value"]) for name, entry in provisions.items()}

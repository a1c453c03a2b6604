"""One script's conversation with the JVM: the run request, then its output, its API calls and
their answers, and last its outcome (the frames are described in ``RunyardEvaluator.java``)."""

from __future__ import annotations

import base64
import codecs
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import runyard
from runyard.scripts.bindings import Bindings, ParentTaskResult, TaskResultError
from runyard.scripts.engine import ScriptFailure, ScriptOutput, ScriptSource
from runyard.scripts.jvm.frames import receive_frame, send_frame

#: Adapters of the task-side APIs for Groovy: ``<N>.groovy`` defines class ``N`` taking the raw bridge.
ADAPTERS = Path(runyard.__file__).parent / "taskapi" / "groovy"


def run_in_jvm(
    client: socket.socket, language: str, source: ScriptSource, bindings: Bindings
) -> ScriptOutput:
    """Run ``source`` in the JVM at the other end of ``client``; the bindings' maps are updated."""
    request = {
        "language": language,
        "source": source.text,
        "origin": source.origin,
        "bindings": _bindings(bindings),
        "apis": {name: _adapter(name) for name in bindings.apis},
    }
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # what Python printed so far comes first in the log
    send_frame(client, b"J", _encode(request))
    streams = {b"O": (sys.stdout, _decoder()), b"E": (sys.stderr, _decoder())}
    while True:
        frame = receive_frame(client)
        if frame is None:
            raise ScriptFailure(
                "the JVM running the script ended before the script did"
                " (Runtime.halt, a crash or out of memory): the next script gets a new JVM"
            )
        kind, payload = frame
        if kind in streams:
            stream, decoder = streams[kind]
            stream.write(decoder.decode(payload))
            stream.flush()
            continue
        message = _decode(payload)
        if message.get("type") == "call":
            send_frame(client, b"J", _encode(_answer(bindings.apis, message)))
        elif message.get("type") == "done":
            return _outcome(message, bindings)


def warm_up(runs: int = 20) -> None:
    """Hold ``runs`` conversations with a made-up JVM (a socket pair, its answers written ahead).

    For the node agent, before it forks: what a first run writes (CPython specialises the bytecode
    it runs in place, fills caches) is then done once for every task process instead of in each.
    """
    done = _encode({"type": "done", "values": {"result": None}, "variables": {}, "resultMap": {}})
    for _ in range(runs):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            send_frame(theirs, b"J", done)
            run_in_jvm(ours, "groovy", ScriptSource("result = null", "<warm-up>"), Bindings())


def _bindings(bindings: Bindings) -> dict[str, Any]:
    return {
        "variables": bindings.variables,
        "resultMap": bindings.result_map,
        "genericInformation": bindings.generic_information,
        "credentials": bindings.credentials,
        "results": [_parent(result) for result in bindings.results],
        "args": bindings.args,
        "localspace": bindings.localspace,
        "userspace": bindings.userspace,
        "globalspace": bindings.globalspace,
        "cachespace": bindings.cachespace,
        "inputspace": bindings.inputspace,
        "outputspace": bindings.outputspace,
        "extra": bindings.extra,
        "environment": dict(os.environ),  # for the script and the commands it starts
    }


def _parent(result: ParentTaskResult) -> dict[str, Any]:
    """A parent's result as the JVM gets it: its value (JSON, or its text when not JSON) or its error."""
    entry: dict[str, Any] = {"name": result.getTaskName()}
    try:
        entry["value"] = result.value()
    except TaskResultError as error:
        entry["error"] = str(error)
    except Exception as error:  # a value this process cannot unpickle
        entry["error"] = f"the result of task {result.getTaskName()!r} cannot be read: {error!r}"
    return entry


def _adapter(name: str) -> str | None:
    path = ADAPTERS / f"{name}.groovy"
    return str(path) if path.is_file() else None


def _answer(apis: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """Call ``api.method(*args)`` for the script: public methods only; a failure is an error text."""
    name, method, args = message.get("api"), message.get("method"), message.get("args")
    target = apis.get(name) if isinstance(name, str) else None
    if target is None or not isinstance(method, str) or not isinstance(args, list):
        return {"error": f"no task-side API named {name!r}"}
    function = getattr(target, method, None) if not method.startswith("_") else None
    if not callable(function):
        return {"error": f"{name} has no method {method!r}"}
    try:
        return {"value": function(*args)}
    except Exception as error:
        return {"error": f"{name}.{method}: {type(error).__name__}: {error}"}


def _outcome(message: dict[str, Any], bindings: Bindings) -> ScriptOutput:
    if "error" in message:
        raise ScriptFailure(str(message["error"]))
    for target, name in ((bindings.variables, "variables"), (bindings.result_map, "resultMap")):
        target.clear()
        target.update(message.get(name) or {})
    values = dict(message.get("values") or {})
    values["resultMetadata"] = message.get("resultMetadata") or {}
    return ScriptOutput(values=values)


def _encode(value: Any) -> bytes:
    return json.dumps(_tagged(value), default=_json_default, ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def _tagged(value: Any) -> Any:
    """``value`` with each dict whose keys are not all strings as ``{"$map": [[key, value]...]}``,
    so that ``{0: "a"}`` reaches the JVM with an integer key (JSON's keys are strings)."""
    if isinstance(value, dict):
        entries = {key: _tagged(item) for key, item in value.items()}
        if all(isinstance(key, str) for key in entries):
            return entries
        return {"$map": [[_tagged(key), item] for key, item in entries.items()]}
    if isinstance(value, list | tuple):
        return [_tagged(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    """Bytes travel as ``{"$bytes": base64}``; any other value that is not JSON as its text."""
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    return str(value)


def _decode(payload: bytes) -> dict[str, Any]:
    decoded = json.loads(payload, object_hook=_tagged_hook)
    return decoded if isinstance(decoded, dict) else {}


def _tagged_hook(entries: dict[str, Any]) -> Any:
    """The inverse of the JVM's tags: ``$bytes`` as bytes, ``$map`` as a dict with its keys' types."""
    if len(entries) == 1 and isinstance(entries.get("$bytes"), str):
        return base64.b64decode(entries["$bytes"])
    if len(entries) == 1 and isinstance(entries.get("$map"), list):
        return {_hashable(key): item for key, item in entries["$map"]}
    return entries


def _hashable(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        return json.dumps(key)
    return key


def _decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")(errors="replace")

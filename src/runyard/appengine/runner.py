"""The node side of an App Engine run: the platform's code that the run's task executes.

It runs outside the sandbox (:func:`runyard.appengine.execution.spec_hook`): it drives the node's
container engine (``DOCKER_HOST``); the task's own code runs only inside the container. With its job
token it asks the server what to run (``GET …/task-runs/{run}/execution``), then:

1. makes sure the image is on the engine (by id; a host without it pulls it from the App Engine's
   registry when the task was pushed to one, else, or when the pull fails, downloads the task's image tar
   and ``docker load``\\ s it; the id is checked either way: an image a registry swapped FAILS the run);
2. **local mode**: mounts the run's inputs (read-only) and outputs folders of the server's storage
   (shared file system) at the descriptor's ``input_folder`` and ``output_folder``, and the datasets
   folder read-only at its own path; **cluster mode**: downloads the inputs zip into its localspace,
   unpacks it (bounded, no traversal, no links) and mounts those folders;
3. starts the container (no network, no capability, ``no-new-privileges``, memory, CPUs, pids
   limits, a GPU request when asked), reports it RUNNING, streams its logs to the task's output;
4. reports its end: local mode, ``{"exitCode": N}`` (the server reads the outputs); cluster mode, the
   output folder zipped (regular files only, links never followed) and uploaded to the run's secret URL.

A watcher process in a session of its own removes the container if the runner dies first (a job kill
SIGKILLs the runner's process group, not the watcher's session).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import stat
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import httpx

from runyard.appengine.errors import RUN_STATE, AppEngineError
from runyard.tls import verification

RUN_VARIABLE = "RUNYARD_APP_ENGINE_RUN"
"""The runner's environment variable naming its run."""
INVALID_ARCHIVE = "APPE-internal-task_run-invalid-output-archive"
#: Bounds of the archives the runner unpacks or sends.
MAX_INPUTS_BYTES = 4 * 1024**3
MAX_INPUTS_MEMBERS = 100_000
MAX_OUTPUTS_BYTES = 4 * 1024**3
MAX_OUTPUTS_MEMBERS = 100_000
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
ENGINE_RETRIES = 2
"""Creations of a run's container that may find its image missing or its name taken, before the last."""


class RunnerError(Exception):
    """The run cannot be executed on this node (the task fails with this message)."""


def main() -> None:
    """Run the run named by ``RUNYARD_APP_ENGINE_RUN``, as the platform's job token allows."""
    url, token, run_id = (os.environ.get(name, "") for name in ("RUNYARD_URL", "RUNYARD_TOKEN", RUN_VARIABLE))
    if not (url and token and run_id):
        raise RunnerError("the App Engine runner runs only as a run's job, started by the platform")
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{url.rstrip('/')}/app-engine/v1/task-runs/{run_id}"
    with httpx.Client(headers=headers, timeout=TIMEOUT, verify=verification(url)) as client:
        execution = _answer(client.get(f"{base}/execution"))
        Runner(client, execution).run()


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        request = response.request
        raise RunnerError(
            f"{request.method} {request.url.path}: {response.status_code} {response.text[:500]}"
        )
    return response.json() if response.content else None


class Runner:
    def __init__(self, client: httpx.Client, execution: dict[str, Any]) -> None:
        import docker

        self.client, self.execution = client, execution
        self.engine = docker.from_env(timeout=300)
        self.name = execution["container"]
        self.work = Path.cwd()  # the execution's localspace, where the node made it (a Dask worker's own)

    def run(self) -> None:
        execution = self.execution
        cluster = execution["mode"] == "cluster"
        if cluster:
            inputs, outputs = self._fetch_inputs()
        else:
            inputs, outputs = Path(execution["inputs"]), Path(execution["outputs"])
        watcher = _watch(self.name)  # before the container exists: a kill at any point leaves none
        try:
            container = self._container(inputs, outputs)
            container.start()
            print(f"[app-engine] container {self.name} started ({execution['image']})", flush=True)
            _answer(self.client.post(f"{execution['urls']['execution']}/started"))
            for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            code = int(container.wait().get("StatusCode", -1))
            print(f"[app-engine] container {self.name} exited with code {code}", flush=True)
            if cluster and code == 0:
                state = self._send_outputs(outputs)
            else:
                state = _answer(
                    self.client.post(f"{execution['urls']['execution']}/finished", json={"exitCode": code})
                )
        finally:
            self._remove_container()
            os.write(watcher, b"done")
            os.close(watcher)
        print(
            f"[app-engine] run {execution['run']}: {state['state']}"
            + (f" ({state['reason']})" if state.get("reason") else ""),
            flush=True,
        )

    def _container(self, inputs: Path, outputs: Path) -> Any:
        """The run's container, created at once in the common case; the image fetched, or the container
        of an earlier execution of the run removed, only when the engine says so (two requests a run
        fewer than asking first)."""
        from docker.errors import APIError, ImageNotFound

        for _ in range(ENGINE_RETRIES):
            try:
                return self._create(inputs, outputs)
            except ImageNotFound:
                self._ensure_image()
            except APIError as error:
                if error.status_code != 409:  # 409: the name is taken
                    raise
                self._remove_container()
        return self._create(inputs, outputs)

    def _ensure_image(self) -> None:
        """The task's image on this node's engine, by id: pulled from the registry when the task was
        pushed to one (and checked to be that image: a registry is not trusted), else, or when the pull
        fails, loaded from the task's image tar downloaded from the server."""
        from docker.errors import ImageNotFound

        image_id = self.execution["imageId"]
        try:
            self.engine.images.get(image_id)
            return
        except ImageNotFound:
            pass
        reference = self.execution.get("registryImage")
        if reference:
            print(f"[app-engine] image {image_id} not on this node's engine: pulling {reference}", flush=True)
            if self._pull(reference, image_id):
                return
        print(f"[app-engine] image {image_id} not on this node's engine: loading its tar", flush=True)
        tar = self.work / "image.tar"
        with tar.open("wb") as out, self.client.stream("GET", self.execution["urls"]["image"]) as response:
            if response.status_code >= 400:
                raise RunnerError(f"the task's image could not be downloaded: {response.status_code}")
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
        with tar.open("rb") as source:
            self.engine.images.load(source)
        tar.unlink()
        try:
            self.engine.images.get(image_id)
        except ImageNotFound:
            raise RunnerError(f"the task's image tar did not load the image {image_id}") from None

    def _pull(self, reference: str, image_id: str) -> bool:
        """Pull ``reference``; whether it gave the image ``image_id`` (False: the pull failed, the tar is
        the fallback). Another image under the name (the registry's content swapped) fails the run, and
        that image's name is removed again: it never runs."""
        from docker.errors import APIError, DockerException

        repository, tag = reference.rsplit(":", 1)
        digest = None
        try:
            for message in self.engine.api.pull(repository, tag, stream=True, decode=True):
                if isinstance(message, dict) and message.get("error"):
                    raise DockerException(message["error"])
                status = message.get("status", "") if isinstance(message, dict) else ""
                if status.startswith("Digest: "):
                    digest = status.removeprefix("Digest: ").strip()
            # by the manifest this pull got (the tag may have moved since), else by the tag
            pulled = self.engine.api.inspect_image(f"{repository}@{digest}" if digest else reference)["Id"]
        except (DockerException, OSError) as error:
            print(f"[app-engine] pull of {reference} failed ({error}): loading the server's tar", flush=True)
            return False
        if pulled != image_id:
            with contextlib.suppress(APIError):  # its last name gone, the engine removes the image
                self.engine.api.remove_image(reference, force=False)
            raise RunnerError(
                f"the registry's {reference} is the image {pulled}, not the task's image {image_id}: "
                "the registry's content was changed; the image pulled is not run"
            )
        print(f"[app-engine] pulled {reference}: image {image_id}", flush=True)
        return True

    def _fetch_inputs(self) -> tuple[Path, Path]:
        inputs, outputs = self.work / "inputs", self.work / "outputs"
        for folder in (inputs, outputs):
            folder.mkdir(mode=0o755, exist_ok=True)
        outputs.chmod(0o777)  # an image's user may be any uid (the localspace is the runner's)
        archive = self.work / "inputs.zip"
        with (
            archive.open("wb") as out,
            self.client.stream("GET", self.execution["urls"]["inputs"]) as response,
        ):
            if response.status_code >= 400:
                said = response.read().decode(errors="replace")[:500]
                raise RunnerError(f"the run's inputs could not be downloaded: {response.status_code} {said}")
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
        with archive.open("rb") as source:
            unpack(source, inputs, max_members=MAX_INPUTS_MEMBERS, max_bytes=MAX_INPUTS_BYTES)
        archive.unlink()
        return inputs, outputs

    def _send_outputs(self, outputs: Path) -> dict[str, Any]:
        archive = self.work / "outputs.zip"
        with archive.open("wb") as out:
            zip_folder(outputs, out, max_members=MAX_OUTPUTS_MEMBERS, max_bytes=MAX_OUTPUTS_BYTES)
        with archive.open("rb") as source:
            answer = self.client.post(
                self.execution["urls"]["outputs"],
                files={"outputs": ("outputs.zip", source, "application/zip")},
                headers={"Authorization": ""},  # the secret in the URL is the authentication
            )
        archive.unlink()
        if answer.status_code >= 400:  # refused: the run FAILED with the reason (the state says it)
            print(f"[app-engine] outputs refused: {answer.status_code} {answer.text[:500]}", flush=True)
        state: dict[str, Any] = _answer(self.client.get(f"{self.execution['urls']['execution']}/state"))
        return state

    def _create(self, inputs: Path, outputs: Path) -> Any:
        from docker.types import DeviceRequest, Mount

        execution = self.execution
        resources = execution["resources"]
        mounts = [
            Mount(execution["inputFolder"], str(inputs), type="bind", read_only=True),
            Mount(execution["outputFolder"], str(outputs), type="bind", read_only=False),
        ]
        datasets = execution.get("datasets")
        if datasets and execution["mode"] != "cluster" and os.path.isdir(datasets):
            mounts.append(Mount(datasets, datasets, type="bind", read_only=True))
        devices = (
            [DeviceRequest(count=resources["gpus"], capabilities=[["gpu"]])] if resources["gpus"] else None
        )
        return self.engine.containers.create(
            execution["imageId"],
            name=self.name,
            labels={execution["label"]: execution["run"]},
            mounts=mounts,
            network_mode="none",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            privileged=False,
            mem_limit=int(resources["ram"]),
            memswap_limit=int(resources["ram"]),
            nano_cpus=int(resources["cpus"]) * 1_000_000_000,
            pids_limit=int(execution["pidsLimit"]),
            device_requests=devices,
            detach=True,
        )

    def _remove_container(self) -> None:
        _remove(self.engine, self.name)


def _remove(engine: Any, name: str) -> None:
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        engine.containers.get(name).remove(force=True)


def _watch(name: str) -> int:
    """Fork the watcher of container ``name``, in a session of its own: it removes the container when
    the runner dies without saying it is done (the pipe's write end closing unannounced). The runner's
    end of the pipe is returned."""
    read, write = os.pipe()
    pid = os.fork()
    if pid != 0:
        os.close(read)
        return write
    code = 0
    try:
        os.close(write)
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the pipe ends it
        said = b""
        while True:
            select.select([read], [], [])
            chunk = os.read(read, 16)
            if not chunk:
                break
            said += chunk
        if said != b"done":
            import docker

            for attempt in range(5):
                try:
                    _remove(docker.from_env(), name)
                    break
                except Exception:
                    time.sleep(0.5 * (attempt + 1))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


# -- archives (the server's outputs upload reads them with the same code) --------------------------


def safe_members(
    archive: zipfile.ZipFile, max_members: int, max_bytes: int
) -> Iterator[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The members of ``archive`` with their checked relative paths: no absolute path, no ``..``, no
    link, at most ``max_members`` members and ``max_bytes`` declared bytes (400 otherwise)."""
    members = archive.infolist()
    if len(members) > max_members:
        raise AppEngineError(400, INVALID_ARCHIVE, f"more than {max_members} members")
    total = 0
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in member.filename or not path.parts:
            raise AppEngineError(
                400,
                INVALID_ARCHIVE,
                f"invalid member name {member.filename!r}",
            )
        mode = member.external_attr >> 16
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # a link, a device...
            raise AppEngineError(400, INVALID_ARCHIVE, f"{member.filename!r} is not a file")
        total += member.file_size
        if total > max_bytes:
            raise AppEngineError(413, INVALID_ARCHIVE, f"more than {max_bytes} bytes")
        yield member, path


def unpack(archive: IO[bytes], target: Path, *, max_members: int, max_bytes: int) -> None:
    """Unzip ``archive`` into ``target`` (bounded, checked: :func:`safe_members`), never through a link."""
    try:
        with zipfile.ZipFile(archive) as opened:
            written = 0
            for member, path in safe_members(opened, max_members, max_bytes):
                destination = target.joinpath(*path.parts)  # in a folder only this writes to
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                with (
                    opened.open(member) as source,
                    os.fdopen(os.open(destination, flags, 0o644), "wb") as out,
                ):
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > max_bytes:  # the declared sizes may lie
                            raise AppEngineError(
                                413,
                                INVALID_ARCHIVE,
                                f"more than {max_bytes} bytes",
                            )
                        out.write(chunk)
    except zipfile.BadZipFile as error:
        raise AppEngineError(400, INVALID_ARCHIVE, f"not a zip archive: {error}") from None
    except FileExistsError as error:
        raise AppEngineError(400, INVALID_ARCHIVE, f"a member twice: {error.filename}") from None


def zip_folder(
    folder: Path,
    target: IO[bytes],
    *,
    max_members: int,
    max_bytes: int,
    extra: Mapping[str, Path | bytes] | None = None,
) -> None:
    """Zip what ``folder`` holds (stored, regular files and folders only: links and devices are left out,
    never followed), then ``extra`` at the names given: files read where they are (a run's dataset
    references; one that is no longer a regular file is a 409) or bytes. Bounded."""
    bound = _Bound(max_members, max_bytes)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for root, folders, files in os.walk(folder, followlinks=False):
            relative = Path(root).relative_to(folder)
            for name in sorted(folders):
                if not os.path.islink(os.path.join(root, name)):
                    archive.writestr(f"{(relative / name).as_posix()}/", b"")
            for name in sorted(files):
                _add_file(archive, os.path.join(root, name), (relative / name).as_posix(), bound)
        for name, content in (extra or {}).items():
            if isinstance(content, bytes):
                bound.add(len(content))
                archive.writestr(name, content)
            elif not _add_file(archive, str(content), name, bound):
                raise AppEngineError(409, RUN_STATE, f"{content} is not a regular file")


@dataclass
class _Bound:
    members: int
    bytes: int

    def add(self, size: int) -> None:
        self.members -= 1
        self.bytes -= size
        if self.members < 0 or self.bytes < 0:
            raise AppEngineError(413, INVALID_ARCHIVE, "the archive would be too large")


def _add_file(archive: zipfile.ZipFile, path: str, name: str, bound: _Bound) -> bool:
    """Add the regular file ``path`` as ``name``; whether it was one (a link, never followed, or a file
    gone meanwhile is left out)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode):
            return False
        bound.add(info.st_size)
        entry = zipfile.ZipInfo(name, time.localtime(info.st_mtime)[:6])
        entry.external_attr = (stat.S_IFREG | 0o644) << 16
        with archive.open(entry, "w", force_zip64=True) as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return True

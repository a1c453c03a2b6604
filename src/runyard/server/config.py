"""Server configuration: flags over ``RUNYARD_*`` environment variables over a TOML file over defaults.

The config file is TOML with the same keys as the flags (``host = "0.0.0.0"``, ``port = 8080``,
``data_dir``, ``nodes``, ``database_url``, ``session_ttl``, ``max_body_bytes``, ``login_failures_per_name``,
``login_failures_per_address``, ``service_ports``, ``app_engine_max_upload_bytes``,
``max_walltime``, ``max_replicas``, ``max_tasks_per_job``, ``data_space_roots``, ``event_log_max_bytes``,
``proxy_port``...),
and, in the file only, ``[[node_sources]]`` tables (docs/nodes.md).
Relative ``data_dir`` values in a file are relative to the file's folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import NoneType
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

from runyard.appengine.descriptor import parse_memory
from runyard.errors import InvalidRequestError
from runyard.services.ports import parse_port_range
from runyard.settings import NodeSourceConfig, Settings, parse_node_sources

if TYPE_CHECKING:
    from runyard.appengine.images import Registry

DEFAULT_DATA_DIR = Path("runyard-data")
ENV_PREFIX = "RUNYARD_"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = DEFAULT_DATA_DIR
    """SQLite store, logs, data spaces, the credentials key and the first admin's password file."""
    nodes: int = 2
    database_url: str | None = None
    session_ttl: float = 24 * 3600.0
    """Seconds a login token stays valid."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest request body accepted (413 above)."""
    login_failures_per_name: int = 10
    """Failed logins of one user name within 5 minutes before its logins are refused (429)."""
    login_failures_per_address: int = 100
    """Failed logins from one client address within 5 minutes before its logins are refused (429)."""
    public_url: str | None = None
    """Base URL tasks use to reach the server (``PA_SCHEDULER_REST_URL``...); default from host and port."""
    service_ports: str | None = None
    """Ports services take when started with ``SERVICE_PORT=-1``, as ``LOW-HIGH``; default: the OS's
    ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``)."""
    container_memory: str = "2g"
    """Most memory (and swap: none beyond it) of one container the platform starts for a service."""
    container_pids: int = 1024
    """Most processes of one such container."""
    container_cpus: float = 2.0
    """Most CPUs one such container uses (``docker run --cpus``)."""
    app_engine_storage: Path | None = None
    """Folder of the App Engine's files (Cytomine's ``STORAGE_BASE_PATH``: task descriptors and logos,
    runs' inputs and outputs); default ``<data_dir>/app-engine``."""
    app_engine_run_mode: str = "local"
    """``local`` (the task's container mounts the run's folders) or ``cluster`` (the node fetches the
    inputs and sends the outputs back over HTTP), as Cytomine's ``SCHEDULER_RUN_MODE``."""
    app_engine_max_upload_bytes: int = 2 * 1024**3
    """Largest body of the App Engine's uploads (a task bundle, a file or image input, a run's
    outputs.zip; 413 above): spooled to disk, never held in memory. Every other request keeps to
    ``max_body_bytes``."""
    app_engine_max_ram: str | None = None
    """Most memory an App Engine run's task may ask (a quantity as descriptors give it: ``8Gi``); a run
    asking more is refused at its start (400, it stays PROVISIONED). None: no cap but the nodes' own."""
    app_engine_datasets: Path | None = None
    """Folder under which App Engine inputs may reference files by absolute path (Cytomine's
    ``REF_STORAGE_BASE_PATH``); none: references are refused."""
    app_engine_registry: str | None = None
    """A registry, ``host:port[/prefix]`` (Cytomine's ``REGISTRY_URL``), task images are pushed to at
    their upload (as ``{registry}/{name}``) and that nodes without the image pull; none: nodes download
    the image's tar from the server."""
    app_engine_registry_user: str | None = None
    """The user uploads push to ``app_engine_registry`` as (Cytomine's ``REGISTRY_USER``), with
    ``app_engine_registry_password``; none: the credentials ``docker login`` left for the server's user."""
    app_engine_registry_password: str | None = field(default=None, repr=False)
    """That user's password (Cytomine's ``REGISTRY_PASSWORD``): ``RUNYARD_APP_ENGINE_REGISTRY_PASSWORD`` or
    the config file (no flag: a command line shows in ``ps``). Never logged."""
    max_walltime: float = Settings.max_walltime
    """Seconds; see ``Settings.max_walltime`` (as the next two)."""
    max_replicas: int = Settings.max_replicas
    max_tasks_per_job: int = Settings.max_tasks_per_job
    event_log_max_bytes: int = Settings.event_log_max_bytes
    """Size of the scheduler's event log file past which it is rotated (``Settings.event_log_max_bytes``)."""
    data_space_roots: str | None = None
    """Folders, separated by ``:``, a job's inputSpace/outputSpace may lie under besides its owner's
    userspace and the global space (``Settings.data_space_roots``)."""

    task_uid_base: int = Settings.task_uid_base
    """A server started as root runs user N's tasks as uid and gid ``task_uid_base + N``."""
    user_mapping: str | None = None
    """OS accounts of ``runAsMe`` tasks, as ``runyard-user=os-account`` pairs separated by commas."""
    portal: bool = True
    """Serve the web portal at ``/`` (without it ``/`` is a page linking the API's docs)."""
    proxy_port: int | None = None
    """With the portal: the port serving the service proxy, and nothing else, so that services' pages
    (user code) live on another origin than the portal; default ``port + 1``, ``0`` any free port."""
    proxy_public_url: str | None = None
    """How browsers reach that port (as ``public_url``, e.g. ``https://services.example.com``); default
    from host and proxy port."""

    node_sources: tuple[NodeSourceConfig, ...] = ()
    """The file's ``[[node_sources]]`` tables (``Settings.node_sources``)."""

    @property
    def service_port_range(self) -> tuple[int, int] | None:
        return parse_port_range(self.service_ports) if self.service_ports else None

    @property
    def app_engine_max_ram_bytes(self) -> int | None:
        return None if self.app_engine_max_ram is None else parse_memory(self.app_engine_max_ram)

    @property
    def app_engine_image_registry(self) -> Registry | None:
        """``app_engine_registry`` and its credentials, as uploads push to it."""
        if self.app_engine_registry is None:
            return None
        from runyard.appengine.images import Registry  # the engine's client, only with a registry

        user, password = self.app_engine_registry_user, self.app_engine_registry_password
        return Registry(self.app_engine_registry, user, password)

    @property
    def app_engine_folder(self) -> Path:
        """Where the App Engine keeps its files (``app_engine_storage``, or under the data folder)."""
        return (self.app_engine_storage or self.data_dir / "app-engine").absolute()

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def separate_proxy(self) -> bool:
        """Whether proxied service endpoints are served on their own origin (with the portal only)."""
        return self.portal

    @property
    def proxy_listen_port(self) -> int:
        """The port to bind for the proxy (``0``: any free one; see :meth:`with_proxy_port`)."""
        return self.port + 1 if self.proxy_port is None else self.proxy_port

    @property
    def proxy_base_url(self) -> str:
        """Base URL of the origin serving proxied endpoints: ``base_url`` without a separate proxy."""
        if not self.separate_proxy:
            return self.base_url
        if self.proxy_public_url:
            return self.proxy_public_url.rstrip("/")
        if self.proxy_listen_port == 0:
            raise ValueError("the proxy port is not known before its socket is bound")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.proxy_listen_port}"

    def with_proxy_port(self, port: int) -> ServerConfig:
        """This configuration with the port the proxy's socket was bound to (when it was ``0``)."""
        return replace(self, proxy_port=port)

    @property
    def local_url(self) -> str:
        """Where this host reaches the server (the portal's API calls go there, whatever ``public_url``)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def settings(self) -> Settings:
        """The platform's settings for this server (URLs given to tasks included)."""
        api = f"{self.base_url}/api/v1"
        return Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            nodes=self.nodes,
            node_sources=self.node_sources,
            max_walltime=self.max_walltime,
            max_replicas=self.max_replicas,
            max_tasks_per_job=self.max_tasks_per_job,
            event_log_max_bytes=self.event_log_max_bytes,
            data_space_roots=tuple(Path(p).absolute() for p in (self.data_space_roots or "").split(":") if p),
            scheduler_rest_url=api,
            catalog_rest_url=f"{api}/catalog",
            cloud_automation_rest_url=f"{self.base_url}/cloud-automation-service",
            contain_tasks=True,
            task_uid_base=self.task_uid_base,
            user_mapping=parse_user_mapping(self.user_mapping or ""),
        )


def parse_user_mapping(text: str) -> dict[str, str]:
    """``"alice=alice,bob=robert"`` -> ``{"alice": "alice", "bob": "robert"}``."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        user, equals, account = (part.strip() for part in pair.partition("="))
        if not equals or not user or not account:
            raise InvalidRequestError(f"user_mapping: expected runyard-user=os-account, got {pair!r}")
        mapping[user] = account
    return mapping


def load_config(
    flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ, config_file: Path | None = None
) -> ServerConfig:
    """Merge the sources; ``flags`` holds only options given on the command line (``None`` = not given).

    The file comes from ``config_file``, else ``RUNYARD_CONFIG``. Unknown keys and values of the
    wrong type are refused with the source named.
    """
    types = _SETTING_TYPES
    values: dict[str, Any] = {}
    path = config_file or (
        Path(environ[f"{ENV_PREFIX}CONFIG"]) if environ.get(f"{ENV_PREFIX}CONFIG") else None
    )
    if path is not None:
        for key, value in _read_file(path).items():
            if key == "node_sources":
                values[key] = parse_node_sources(value, str(path))
                for number, source in enumerate(values[key], 1):  # an unknown type said before the start
                    _check_type(source, f"{path}: [[node_sources]] #{number} ({source.name})")
                continue
            if key not in types:
                raise InvalidRequestError(f"{path}: unknown setting {key!r} (known: {', '.join(types)})")
            values[key] = _coerce(key, value, f"{path}: {key}")
            if key == "data_dir":
                values[key] = (path.parent / values[key]).absolute()
    for key in types:
        raw = environ.get(ENV_PREFIX + key.upper())
        if raw is not None and raw != "":
            values[key] = _coerce(key, raw, ENV_PREFIX + key.upper())
    for key, value in flags.items():
        if value is not None:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    config = ServerConfig(**values)
    if config.nodes < 1:
        raise InvalidRequestError("nodes: at least 1 node is needed")
    for key in ("max_body_bytes", "app_engine_max_upload_bytes"):
        if getattr(config, key) < 1:
            raise InvalidRequestError(f"{key}: at least 1 byte, got {getattr(config, key)}")
    for key in ("login_failures_per_name", "login_failures_per_address"):
        if getattr(config, key) < 1:
            raise InvalidRequestError(f"{key}: at least 1 failed login is needed before refusing")
    if config.app_engine_run_mode not in ("local", "cluster"):
        raise InvalidRequestError(
            f"app_engine_run_mode: local or cluster, got {config.app_engine_run_mode!r}"
        )
    try:
        config.app_engine_max_ram_bytes  # noqa: B018 - checked now rather than at the first run
    except ValueError as error:
        raise InvalidRequestError(f"app_engine_max_ram: {error}") from None
    if config.app_engine_registry is not None:
        from runyard.appengine.images import check_registry  # the engine's client, only with a registry

        try:
            config = replace(config, app_engine_registry=check_registry(config.app_engine_registry))
        except ValueError as error:
            raise InvalidRequestError(f"app_engine_registry: {error}") from None
    if (config.app_engine_registry_user is None) != (config.app_engine_registry_password is None):
        raise InvalidRequestError(
            "app_engine_registry_user and app_engine_registry_password: both, or neither (then the "
            "credentials `docker login` left for the server's user are used)"
        )
    if config.app_engine_registry_user is not None and config.app_engine_registry is None:
        raise InvalidRequestError("app_engine_registry_user: given without app_engine_registry")
    if config.event_log_max_bytes < 1:
        raise InvalidRequestError(f"event_log_max_bytes: at least 1 byte, got {config.event_log_max_bytes}")
    parse_user_mapping(config.user_mapping or "")  # checked now rather than at the server's start
    if not 0 < config.port < 65536:
        raise InvalidRequestError(f"port: {config.port} is not a TCP port")
    if config.separate_proxy and not 0 <= config.proxy_listen_port < 65536:
        raise InvalidRequestError(f"proxy_port: {config.proxy_listen_port} is not a TCP port")
    if config.separate_proxy and config.proxy_listen_port == config.port:
        raise InvalidRequestError("proxy_port: the proxy needs a port of its own (not the server's)")
    try:
        config.service_port_range  # noqa: B018 - checked now rather than at the first service start
    except ValueError as error:
        raise InvalidRequestError(f"service_ports: {error}") from None
    return config


def _check_type(source: NodeSourceConfig, where: str) -> None:
    from runyard.nodes.sources import source_factory  # the nodes' modules, only for a file naming sources

    try:
        source_factory(source.type, builtin_only=False)
    except InvalidRequestError as error:
        raise InvalidRequestError(f"{where}: {error}") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as error:
        raise InvalidRequestError(f"cannot read the config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidRequestError(f"{path}: not valid TOML: {error}") from None


def _setting_types() -> dict[str, type]:
    """Each setting and the type its values are converted to, read from ``ServerConfig`` itself."""
    hints = get_type_hints(ServerConfig)
    return {
        key: next(t for t in get_args(hint) or (hint,) if t is not NoneType) for key, hint in hints.items()
    }


_SETTING_TYPES = {key: t for key, t in _setting_types().items() if key != "node_sources"}  # file only


_BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def _coerce(key: str, value: Any, source: str) -> Any:
    converter = _SETTING_TYPES[key]
    if converter is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        raise InvalidRequestError(f"{source}: {value!r} is not true or false")
    try:
        if isinstance(value, bool) or (converter is int and isinstance(value, float)):
            raise TypeError
        return converter(value)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{source}: {value!r} is not a valid {converter.__name__}") from None

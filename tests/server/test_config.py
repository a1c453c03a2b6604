"""Server settings: flags over RUNYARD_* variables over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.errors import InvalidRequestError
from runyard.server.config import ServerConfig, load_config


def test_defaults() -> None:
    config = load_config({}, environ={})
    assert config == ServerConfig()
    assert config.base_url == "http://127.0.0.1:8080"
    settings = config.settings()
    assert settings.nodes == 2
    assert settings.resolved_database_url().startswith("sqlite:///")
    assert settings.catalog_rest_url == "http://127.0.0.1:8080/api/v1/catalog"


def test_precedence_flags_then_environment_then_file(tmp_path: Path) -> None:
    file = tmp_path / "runyard.toml"
    file.write_text('port = 9000\nnodes = 3\nhost = "0.0.0.0"\ndata_dir = "state"\n')
    environ = {"RUNYARD_PORT": "9100", "RUNYARD_CONFIG": str(file)}
    config = load_config({"port": None, "nodes": 5}, environ=environ)
    assert config.nodes == 5  # flag
    assert config.port == 9100  # environment over file
    assert config.host == "0.0.0.0"  # file
    assert config.data_dir == tmp_path / "state"  # relative to the file
    assert config.base_url == "http://127.0.0.1:9100"
    assert load_config({"port": 9200}, environ=environ).port == 9200


@pytest.mark.parametrize(
    ("flags", "environ", "file_text", "reason"),
    [
        ({}, {"RUNYARD_PORT": "eighty"}, None, "RUNYARD_PORT: 'eighty' is not a valid int"),
        ({}, {}, "port = true\n", "port: True is not a valid int"),
        ({}, {}, "colour = 'blue'\n", "unknown setting 'colour'"),
        ({}, {}, "port = [\n", "not valid TOML"),
        ({"nodes": 0}, {}, None, "at least 1 node"),
        ({}, {"RUNYARD_LOGIN_FAILURES_PER_ADDRESS": "0"}, None, "login_failures_per_address: at least 1"),
        ({}, {}, "login_failures_per_name = -3\n", "login_failures_per_name: at least 1"),
        ({}, {"RUNYARD_APP_ENGINE_MAX_UPLOAD_BYTES": "0"}, None, "app_engine_max_upload_bytes: at least 1"),
        ({}, {}, "max_body_bytes = -1\n", "max_body_bytes: at least 1 byte"),
        ({}, {}, "app_engine_max_ram = 'lots'\n", "app_engine_max_ram: not a memory quantity"),
        ({"port": 70000}, {}, None, "not a TCP port"),
        ({}, {"RUNYARD_PORTAL": "maybe"}, None, "RUNYARD_PORTAL: 'maybe' is not true or false"),
        ({}, {}, "portal = 1\n", "portal: 1 is not true or false"),
    ],
)
def test_bad_settings_are_refused_with_their_source(
    tmp_path: Path, flags: dict[str, object], environ: dict[str, str], file_text: str | None, reason: str
) -> None:
    file = None
    if file_text is not None:
        file = tmp_path / "bad.toml"
        file.write_text(file_text)
    with pytest.raises(InvalidRequestError, match=reason.replace("[", r"\[")):
        load_config(flags, environ=environ, config_file=file)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="cannot read the config file"):
        load_config({}, environ={}, config_file=tmp_path / "absent.toml")


@pytest.mark.parametrize(("raw", "portal"), [("false", False), ("0", False), ("No", False), ("true", True)])
def test_the_portal_is_switched_off_by_words_not_by_any_non_empty_string(raw: str, portal: bool) -> None:
    assert load_config({}, environ={"RUNYARD_PORTAL": raw}).portal is portal
    assert load_config({"portal": False}, environ={"RUNYARD_PORTAL": raw}).portal is False


def test_the_portal_reaches_the_api_on_loopback_whatever_the_public_url() -> None:
    config = load_config(
        {"host": "0.0.0.0", "port": 9300, "public_url": "https://runyard.example"}, environ={}
    )
    assert config.local_url == "http://127.0.0.1:9300"
    assert config.base_url == "https://runyard.example"


def test_with_the_portal_services_have_an_origin_of_their_own() -> None:
    config = load_config({"port": 9000}, environ={})
    assert config.separate_proxy and config.proxy_listen_port == 9001
    assert config.proxy_base_url == "http://127.0.0.1:9001"
    behind = load_config({}, environ={"RUNYARD_PROXY_PUBLIC_URL": "https://services.example.com/"})
    assert behind.proxy_base_url == "https://services.example.com"
    any_port = load_config({"proxy_port": 0}, environ={})
    with pytest.raises(ValueError, match="not known"):
        any_port.proxy_base_url  # noqa: B018 - only the bound socket knows it
    assert any_port.with_proxy_port(41000).proxy_base_url == "http://127.0.0.1:41000"


def test_without_the_portal_one_origin_as_before() -> None:
    config = load_config({"portal": False, "proxy_port": 9999}, environ={})
    assert not config.separate_proxy
    assert config.proxy_base_url == config.base_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"port": 9000, "proxy_port": 9000}, "proxy_port: the proxy needs a port of its own"),
        ({"port": 65535}, "proxy_port: 65536 is not a TCP port"),
        ({"proxy_port": -1}, "proxy_port: -1 is not a TCP port"),
    ],
)
def test_bad_proxy_ports_are_refused(flags: dict[str, int], reason: str) -> None:
    with pytest.raises(InvalidRequestError, match=reason):
        load_config(flags, environ={})

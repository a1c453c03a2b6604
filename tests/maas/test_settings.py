"""The command lines as the Service Automation workflows write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from maas.live import MASTER
from runyard.maas.settings import dl_settings, ml_settings

ENV = {"MAAS_MASTER_TOKEN": MASTER, "RUNYARD_NOTIFY_URL": "http://platform/api/v1/notifications"}


def test_ml_command_line() -> None:
    argv = ["--host", "0.0.0.0", "--port", "8080", "--state-dir", "/s", "--base-path", "/a/b/", "--no-drift"]
    argv += ["--drift-threshold", "2.5", "--no-trace", "--https", "--instance-name", "maas-ml-3"]
    settings = ml_settings(argv, ENV)
    assert (settings.host, settings.port, settings.state_dir, settings.prefix) == (
        "0.0.0.0",
        8080,
        Path("/s"),
        "/a/b",
    )
    assert (settings.drift, settings.drift_threshold, settings.trace, settings.https) == (
        False,
        2.5,
        False,
        True,
    )
    assert settings.instance_name == "maas-ml-3"
    assert settings.notify_url == ENV["RUNYARD_NOTIFY_URL"] and settings.notify_token is None
    defaults = ml_settings(["--host", "h", "--port", "1", "--state-dir", "s"], ENV)
    assert (defaults.drift, defaults.drift_threshold, defaults.trace, defaults.https) == (
        True,
        1.9,
        True,
        False,
    )
    assert defaults.prefix == ""


def test_dl_command_line() -> None:
    argv = ["--host", "h", "--port", "1", "--state-dir", "s", "--model-base-path", "/m", "--refresh", "5"]
    settings = dl_settings(argv, ENV)
    assert (settings.model_base_path, settings.refresh) == (Path("/m"), 5.0)


@pytest.mark.parametrize(
    "extra",
    [
        ["--base-path", "relative/"],
        ["--base-path", "/a/../b/"],
        ["--base-path", "/a b/"],
        ["--drift-threshold", "0"],
    ],
)
def test_wrong_values_are_refused(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        ml_settings(["--host", "h", "--port", "1", "--state-dir", "s", *extra], ENV)
    assert ended.value.code == 2
    assert "--" in capsys.readouterr().err

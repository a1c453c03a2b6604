"""``[[node_sources]]`` tables of the server's config file: read, checked, and the platform they build."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cli_remote.conftest import Cli
from runyard.errors import InvalidRequestError, RunyardError
from runyard.platform import NodeView, Platform
from runyard.server.config import load_config
from runyard.settings import NodeSourceConfig, Settings

GOOD = """
nodes = 5
[[node_sources]]
name = "cpu"
type = "local"
nodes = 2
tokens = { "cpu-2" = ["big"] }

[[node_sources]]
name = "cluster"
type = "dask"
scheduler = "tcp://10.0.0.1:8786"
shared_fs = true
"""


TWICE_A = '[[node_sources]]\nname = "a"\ntype = "local"\nnodes = 1\n' * 2


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runyard.toml"
    path.write_text(text)
    return path


def test_tables_become_node_sources_with_their_options_and_tokens(tmp_path: Path) -> None:
    config = load_config({}, environ={}, config_file=config_file(tmp_path, GOOD))
    settings = config.settings()
    assert settings.node_sources == (
        NodeSourceConfig("cpu", "local", {"nodes": 2}, {"cpu-2": ("big",)}),
        NodeSourceConfig("cluster", "dask", {"scheduler": "tcp://10.0.0.1:8786", "shared_fs": True}),
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("node_sources = 3", "node_sources: expected [[node_sources]] tables"),
        ('[[node_sources]]\ntype = "local"', "#1: name:"),
        ('[[node_sources]]\nname = "../up"\ntype = "local"', "#1 (../up): name:"),
        ('[[node_sources]]\nname = "a"', "#1 (a): type: missing"),
        (
            TWICE_A,
            "#2 (a): name: another node source is named 'a'",
        ),
        (
            '[[node_sources]]\nname = "a"\ntype = "local"\nnodes = 1\ntokens = { "b-1" = ["t"] }',
            "#1 (a): tokens: 'b-1' is not a node of this source",
        ),
        (
            '[[node_sources]]\nname = "a"\ntype = "local"\ntokens = { "a-1" = "t" }',
            "tokens: a-1: expected a list",
        ),
    ],
)
def test_a_bad_table_is_refused_naming_it_and_its_field(tmp_path: Path, text: str, said: str) -> None:
    path = config_file(tmp_path, text)
    with pytest.raises(InvalidRequestError) as raised:
        load_config({}, environ={}, config_file=path)
    assert f"{path}: " in str(raised.value)
    assert said in str(raised.value)


@pytest.mark.parametrize(
    ("source", "said"),
    [
        (NodeSourceConfig("a", "cloud", {}), "node source 'a': type: unknown node source type 'cloud'"),
        (NodeSourceConfig("a", "local", {}), "node source 'a': nodes: Field required"),
        (NodeSourceConfig("a", "local", {"nodes": 1, "cpus": 2}), "node source 'a': cpus: Extra inputs"),
        (
            NodeSourceConfig("a", "local", {"nodes": "2"}),
            "node source 'a': nodes: Input should be a valid integer",
        ),
        (NodeSourceConfig("a", "no.such.module:make", {}), "node source 'a': type: node source type"),
    ],
)
def test_a_source_its_type_refuses_stops_the_start(
    tmp_path: Path, source: NodeSourceConfig, said: str
) -> None:
    with pytest.raises(RunyardError) as raised:
        Platform(Settings(tmp_path, node_sources=(source,)))
    assert said in str(raised.value)


def test_a_config_file_may_name_its_own_type_and_give_tokens(tmp_path: Path) -> None:
    own = NodeSourceConfig("pair", "node_sources.factories:pair", {}, {"pair-2": ("gpu",)})
    with Platform(Settings(tmp_path, node_sources=(own,))) as platform:
        views = _views(platform, 2)
        assert [(v.name, v.source, v.tokens) for v in views] == [
            ("pair-1", "pair", ()),
            ("pair-2", "pair", ("gpu",)),
        ]
        [entry] = platform.node_sources()
        assert (entry.name, entry.type, entry.origin, entry.state) == ("pair", own.type, "config", "DEPLOYED")


def test_without_tables_one_local_source_of_nodes_as_before(tmp_path: Path) -> None:
    with Platform(Settings(tmp_path, nodes=2)) as platform:
        assert [v.name for v in _views(platform, 2)] == ["local-1", "local-2"]
        assert [(e.name, e.type, e.options) for e in platform.node_sources()] == [
            ("local", "local", {"nodes": 2})
        ]


def _views(platform: Platform, count: int) -> list[NodeView]:
    deadline = time.monotonic() + 30
    while len(views := sorted(platform.node_views(), key=lambda v: v.name)) < count:
        assert time.monotonic() < deadline, views
        time.sleep(0.05)
    return views


def test_the_server_refuses_an_unknown_type_before_it_starts(tmp_path: Path) -> None:
    path = config_file(tmp_path, '[[node_sources]]\nname = "x"\ntype = "cloud"\n')
    code, out, err = Cli(None, None, tmp_path / "config")("server", "--config", str(path), "--port", "1")
    assert code == 2, out
    assert f"{path}: [[node_sources]] #1 (x): type: unknown node source type 'cloud'" in " ".join(err.split())

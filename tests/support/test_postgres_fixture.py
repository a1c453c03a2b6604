"""The database fixtures give each test a working, empty database; the cluster helper starts and stops."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from support import postgres
from support.databases import fresh_postgres_database, libpq_url, unavailable


@pytest.mark.parametrize("round_", [1, 2])
def test_database_url_is_fresh_empty_and_writable(database_url: str, round_: int) -> None:
    # Two rounds per backend: the second would see the first's table if databases were reused.
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY, round INTEGER)"))
            connection.execute(sa.text("INSERT INTO probe VALUES (1, :round)"), {"round": round_})
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT round FROM probe")).scalar_one() == round_
    finally:
        engine.dispose()


def test_database_url_names_the_backend(database_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["database_url"]
    assert sa.make_url(database_url).get_backend_name() == backend


def test_postgres_url_accepts_psycopg_connections(postgres_url: str) -> None:
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as connection:
        assert connection.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone() == (
            15,
        )
        connection.execute("CREATE TABLE probe (name TEXT)")
        connection.execute("INSERT INTO probe VALUES ('ok')")
        assert connection.execute("SELECT name FROM probe").fetchall() == [("ok",)]


def test_fresh_database_is_dropped_even_when_the_test_leaks_a_connection(postgres_server_url: str) -> None:
    with fresh_postgres_database(postgres_server_url) as url:
        leaked = psycopg.connect(libpq_url(url))
        name = sa.make_url(url).database
    try:
        with psycopg.connect(libpq_url(postgres_server_url)) as admin:
            found = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()
        assert found == (0,)
    finally:
        leaked.close()


def test_fresh_database_on_an_unreachable_server_says_which_server() -> None:
    with (
        pytest.raises(
            RuntimeError, match=r"test PostgreSQL server postgresql\+psycopg://postgres@127\.0\.0\.1:1/"
        ),
        fresh_postgres_database("postgresql+psycopg://postgres@127.0.0.1:1/postgres"),
    ):
        pass


def test_cluster_starts_on_a_free_port_and_is_removed_on_stop() -> None:
    cluster = postgres.start()
    directory = cluster.directory
    try:
        assert postgres.start(directory) == cluster  # starting again reuses the running cluster
        assert postgres.read(directory) == cluster
        with psycopg.connect(libpq_url(cluster.url)) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        postgres.stop(directory)
    assert not directory.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(libpq_url(cluster.url), connect_timeout=2)


def test_reading_a_directory_without_a_cluster_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(postgres.PostgresUnavailable, match="no PostgreSQL cluster is running in"):
        postgres.read(tmp_path)


def test_missing_server_binaries_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_POSTGRES_BIN", str(tmp_path))
    with pytest.raises(postgres.PostgresUnavailable, match=r"initdb, pg_ctl.*RUNYARD_POSTGRES_BIN"):
        postgres.start(tmp_path / "cluster")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_unavailable_postgres_fails_under_ci(ci: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is needed and not available: gone"):
        unavailable("gone", {"CI": ci})


def test_unavailable_postgres_skips_outside_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="would fail under CI=true"):
        unavailable("gone", {})

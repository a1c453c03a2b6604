"""Servers started at the same moment on one fresh PostgreSQL database: each sets the store up in turn.

Each start migrates the schema, creates the first admin if there is no user and loads the built-in
buckets; two starts doing it at once each found the others' tables, admin or buckets absent, made them,
and one died on the other's (``the bucket name 'auto-ml-optimization' is not available``).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import sqlalchemy as sa

from runyard.store.schema import catalog_buckets, users
from support.databases import fresh_postgres_database
from support.server_process import free_port, launch, until_up

ANNOUNCED = re.compile(r"runyard: created user 'admin' with password (\S+) ")


def test_servers_started_at_once_on_a_new_database_start(postgres_server_url: str, tmp_path: Path) -> None:
    with fresh_postgres_database(postgres_server_url) as database_url:
        ports = [free_port() for _ in range(3)]
        servers = [launch(tmp_path / str(port), port, "--database-url", database_url) for port in ports]
        try:
            for server, port in zip(servers, ports, strict=True):
                until_up(server, port)
        finally:
            for server in servers:
                os.killpg(server.pid, signal.SIGTERM)  # the server and its nodes (its session)
            said = [server.communicate(timeout=30)[0] for server in servers]
        engine = sa.create_engine(database_url)
        with engine.connect() as connection:
            names = list(connection.execute(sa.select(users.c.name)).scalars())
            buckets = list(connection.execute(sa.select(catalog_buckets.c.name)).scalars())
        engine.dispose()
    passwords = [found.group(1) for output in said if (found := ANNOUNCED.search(output))]
    assert names == ["admin"] and len(passwords) == 1, said  # one start made it, and said so once
    assert len(buckets) == len(set(buckets)) and "auto-ml-optimization" in buckets

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from catalog.helpers import ALICE
from runyard import catalog


def test_concurrent_commits_get_consecutive_revision_numbers(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        catalog.create_bucket(connection, ALICE, "busy")
        catalog.put_object(connection, ALICE, "busy", "counter", b"0", kind="Text")

    def commit(n: int) -> int:
        with engine.begin() as connection:
            return catalog.put_object(connection, ALICE, "busy", "counter", str(n).encode()).revision

    with ThreadPoolExecutor(8) as pool:
        numbers = sorted(pool.map(commit, range(1, 41)))
    assert numbers == list(range(2, 42))
    with engine.connect() as connection:
        assert len(catalog.list_revisions(connection, ALICE, "busy", "counter")) == 41

"""Login benchmark: ``/health`` latency and login throughput under a flood of concurrent wrong logins.

Prints figures and asserts nothing. A real ``python -m runyard server`` (its own process, SQLite in
a fresh data folder holding one user) is started and measured from this process over 127.0.0.1:

- **idle**: ``/health`` latency (p50/p95/max over ``--samples`` requests, one at a time);
- **flood**: ``--logins`` (default 100) wrong logins sent at once (distinct unknown names, or one
  known name with ``--same-name``) while another thread asks ``/health`` every 20 ms, one request at a
  time: *answered in* (first login sent -> last answer), *logins/s* (answers / that time), the
  answers by status, and ``/health`` latency over the flood;
- **second flood**: the same again at once, when a throttle has something to say about it.

Usage::

    .venv/bin/python bench/login.py
    .venv/bin/python bench/login.py --logins 200 --same-name
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from api import PASSWORD, running_server
from report import load_line
from runyard.auth import add_user
from runyard.store.database import connect

USER = "alice"
#: Pause between two ``/health`` requests during a flood (the sampler must not be the load itself).
HEALTH_PERIOD = 0.02


@dataclass
class Flood:
    seconds: float
    statuses: Counter[int]
    health: list[float]


def health_latencies(url: str, samples: int) -> list[float]:
    latencies = []
    with httpx.Client(timeout=60) as client:
        for _ in range(samples):
            began = time.perf_counter()
            client.get(f"{url}/api/v1/health").raise_for_status()
            latencies.append(time.perf_counter() - began)
    return latencies


def flood(url: str, logins: int, same_name: bool, round_: int) -> Flood:
    """``logins`` wrong logins at once, with ``/health`` asked from another thread meanwhile."""
    health: list[float] = []
    done = threading.Event()

    def sample_health() -> None:
        with httpx.Client(timeout=60) as client:
            while not done.is_set():
                began = time.perf_counter()
                client.get(f"{url}/api/v1/health").raise_for_status()
                health.append(time.perf_counter() - began)
                time.sleep(HEALTH_PERIOD)

    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=logins)
        async with httpx.AsyncClient(timeout=300, limits=limits) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{url}/api/v1/sessions",
                        json={
                            "username": USER if same_name else f"nobody-{round_}-{i}",
                            "password": "wrong!wrong",
                        },
                    )
                    for i in range(logins)
                )
            )
        return [answer.status_code for answer in answers]

    sampler = threading.Thread(target=sample_health)
    sampler.start()
    began = time.perf_counter()
    statuses = asyncio.run(send_all())
    seconds = time.perf_counter() - began
    done.set()
    sampler.join()
    return Flood(seconds, Counter(statuses), health)


def latency_line(name: str, latencies: list[float]) -> str:
    if not latencies:
        return f"{name}: no sample"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{name}: p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms ({len(ordered)} requests)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=100, help="wrong logins sent at once")
    parser.add_argument("--samples", type=int, default=50, help="/health requests measured when idle")
    parser.add_argument("--same-name", action="store_true", help="every wrong login names the same user")
    args = parser.parse_args(argv)
    print(f"runyard login benchmark, {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}")
    print(f"at start: {load_line()} (the machine is shared: read the figures with it)", flush=True)
    with tempfile.TemporaryDirectory(prefix="runyard-login-bench-") as folder:
        data_dir = Path(folder)
        engine = connect(f"sqlite:///{data_dir / 'runyard.db'}")
        with engine.begin() as connection:
            add_user(connection, USER, PASSWORD)
        engine.dispose()
        with running_server(data_dir, None) as server:
            health_latencies(server.url, 5)  # warm up
            print(latency_line("idle /health", health_latencies(server.url, args.samples)))
            for round_, title in enumerate(("flood", "second flood"), start=1):
                result = flood(server.url, args.logins, args.same_name, round_)
                statuses = ", ".join(
                    f"{count} x {status}" for status, count in sorted(result.statuses.items())
                )
                print(
                    f"{title}: {args.logins} wrong logins answered in {result.seconds:.2f} s "
                    f"({args.logins / result.seconds:.1f} logins/s; {statuses})"
                )
                print(latency_line(f"  /health during the {title}", result.health))
    print(f"at end: {load_line()}")


if __name__ == "__main__":
    main()

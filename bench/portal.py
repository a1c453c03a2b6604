"""Portal benchmark: page times at 100,000 jobs, event-to-screen latency, server memory per portal session.

Prints figures and asserts nothing. Each store (SQLite, and PostgreSQL unless ``--no-postgres``) gets a
fresh data folder filled with ``--store-jobs`` ended jobs (default 100,000) written directly in its
tables as ``bench/api.py`` fills them (alice owns half, carol 15 %), then a real ``python -m runyard
server`` (portal included) runs on it and Debian's Chromium (headless, launched as the portal tests
launch it, 1280 by 800) measures, each ``--samples`` times after one unmeasured visit, a browser already
logged in:

- **floor**: the home page ``/`` (the frame and cards, no API call), to its heading: what any page costs
  here, with the machine's load at that moment;
- **jobs page** ``/jobs``: as the admin (every job), as carol (her own), sorted by name, and filtered
  (``status=FAILED&name=Train*``): from ``goto`` to the first content (the page's heading shown) and to
  the table filled (its first row shown);
- **job page** ``/jobs/{id}`` of a job in the middle of the store: to the heading, and to its task
  table's first row;
- **event to screen**: with ``/jobs`` open as the admin, a job whose task sleeps is submitted through the
  API, then killed once its row shows RUNNING; the time from sending ``POST …/kill`` to the row showing
  KILLED (the browser's clock, checked every 5 ms, against this process's: one machine, one wall clock).
  The time from the submission's 201 to the new row on screen is given too;
- **memory per session**: the server process's RSS (psutil; the API, the scheduler and the portal run
  in it, the nodes do not) before and after ``--sessions`` (default 20) more browser contexts logged in
  with ``/jobs`` open, divided by their number.

Figures are p50 and p95 in ms; PostgreSQL's are also given as a ratio of SQLite's, page times as a ratio
of the floor's (same backend, p50) and as a share of the issue's target (a usable page in < 1 s at
100,000 jobs).

Usage::

    .venv/bin/python bench/portal.py                        # SQLite and a throwaway PostgreSQL
    .venv/bin/python bench/portal.py --store-jobs 10000 --samples 5 --no-postgres
    .venv/bin/python bench/portal.py --database-url postgresql+psycopg://postgres@127.0.0.1:PORT/postgres

Progress goes to standard error, figures to standard output.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from api import (
    ADMIN,
    PASSWORD,
    REPO,
    TIMES,
    Server,
    fill_store,
    login,
    postgres_server,
    running_server,
    scratch_postgres,
)
from report import load_line, ms, print_table, verdict

sys.path.insert(0, str(REPO / "tests"))
from portal.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # the tests' launch options

TARGET_PAGE = 1.0  # seconds to a usable page, the target
FLOOR = "floor: home page (no API call)"
TIMEOUT_MS = 60_000
SLEEPER = """
name: Portal-bench-sleeper
tasks:
  - name: Nap
    script: {language: cpython, code: "import time; time.sleep(60)"}
"""
#: Whether the row of job ``id`` shows ``status``: the moment it does (the browser's wall clock), or null.
_ROW_SHOWS = """([id, status]) => {
  const link = document.querySelector(`a[aria-label="Job ${id}"]`);
  const row = link && link.closest('tr');
  return row && row.textContent.includes(status) ? Date.now() / 1000 : null;
}"""


@dataclass
class Timing:
    first: list[float] = field(default_factory=list)
    filled: list[float] = field(default_factory=list)


@dataclass
class Result:
    pages: dict[str, Timing] = field(default_factory=dict)
    kill_to_screen: list[float] = field(default_factory=list)
    submit_to_screen: list[float] = field(default_factory=list)
    rss_per_session: float = 0.0
    sessions: int = 0


def logged_in(browser: Browser, server: Server, user: str) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{server.url}/login?next=/jobs")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Jobs", exact=True).locator("tbody tr").first.wait_for()
    return context


def time_page(
    page: Page, url: str, first: Callable[[Page], None], filled: Callable[[Page], None]
) -> tuple[float, float]:
    began = time.perf_counter()
    page.goto(url, wait_until="commit")
    first(page)
    shown = time.perf_counter()
    filled(page)
    return shown - began, time.perf_counter() - began


def heading(page: Page) -> None:
    page.get_by_role("heading", level=1).wait_for()


def first_row(label: str) -> Callable[[Page], None]:
    return lambda page: page.get_by_label(label, exact=True).locator("tbody tr").first.wait_for()


def measure_pages(browser: Browser, server: Server, samples: int, job_id: int) -> dict[str, Timing]:
    pages: dict[str, tuple[str, str, str | None]] = {
        FLOOR: (ADMIN, "/", None),
        "jobs page, admin (all jobs)": (ADMIN, "/jobs", "Jobs"),
        "jobs page, carol (her own)": ("carol", "/jobs", "Jobs"),
        "jobs page, sorted by name": (ADMIN, "/jobs?sort=name", "Jobs"),
        "jobs page, FAILED Train*": (ADMIN, "/jobs?status=FAILED&name=Train*", "Jobs"),
        "job page (its task table)": (ADMIN, f"/jobs/{job_id}", "Tasks"),
    }
    contexts = {user: logged_in(browser, server, user) for user in {user for user, _, _ in pages.values()}}
    timings: dict[str, Timing] = {}
    for label, (user, path, table) in pages.items():
        page, timing = contexts[user].pages[0], Timing()
        for sample in range(1 + samples):
            try:
                first, filled = time_page(
                    page, server.url + path, heading, first_row(table) if table else heading
                )
            except Exception as error:  # a page that never fills is reported, the others still measured
                print(
                    f"  … {label}: {error.__class__.__name__}, its other samples left out",
                    file=sys.stderr,
                    flush=True,
                )
                break
            if sample:
                timing.first.append(first)
                timing.filled.append(filled)
        timings[label] = timing
        if timing.filled:
            print(f"  … {label}: p50 {ms(statistics.median(timing.filled))} ms", file=sys.stderr, flush=True)
    for context in contexts.values():
        context.close()
    return timings


def measure_events(browser: Browser, server: Server, samples: int) -> tuple[list[float], list[float]]:
    """(submission's 201 → new row shown, kill sent → KILLED shown), in seconds, ``samples`` times."""
    context = logged_in(browser, server, ADMIN)
    page = context.pages[0]
    to_row, to_killed = [], []
    with httpx.Client(base_url=server.api, headers=login(server, ADMIN), timeout=60) as http:
        for _ in range(samples):
            answer = http.post("/jobs", json={"workflow": SLEEPER})
            sent = time.time()
            answer.raise_for_status()
            job_id = answer.json()["id"]
            to_row.append(_shown(page, job_id, "Portal-bench-sleeper") - sent)
            _shown(page, job_id, "RUNNING")
            sent = time.time()
            http.post(f"/jobs/{job_id}/kill").raise_for_status()
            to_killed.append(_shown(page, job_id, "KILLED") - sent)
    context.close()
    return to_row, to_killed


def _shown(page: Page, job_id: int, text: str) -> float:
    moment: float = page.wait_for_function(_ROW_SHOWS, arg=[job_id, text], polling=5).json_value()
    return moment


def measure_memory(browser: Browser, server: Server, sessions: int) -> float:
    """Bytes of the server's RSS per open portal session (each a context with ``/jobs`` open)."""
    process = psutil.Process(server.process.pid)
    time.sleep(2)
    before = process.memory_info().rss
    contexts = [logged_in(browser, server, ADMIN if n % 2 else "carol") for n in range(sessions)]
    time.sleep(2)
    after = process.memory_info().rss
    for context in contexts:
        context.close()
    return (after - before) / sessions


def run_backend(label: str, database_url: str | None, browser: Browser, args: argparse.Namespace) -> Result:
    print(f"{label}: filling the store with {args.store_jobs:,} jobs", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="runyard-portal-bench-") as folder:
        began = time.perf_counter()
        fill_store(database_url or f"sqlite:///{Path(folder) / 'runyard.db'}", args.store_jobs)
        print(f"  … filled in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        with running_server(Path(folder), database_url) as server:
            result = Result(sessions=args.sessions)
            result.pages = measure_pages(browser, server, args.samples, args.store_jobs // 2)
            result.submit_to_screen, result.kill_to_screen = measure_events(browser, server, args.samples)
            result.rss_per_session = measure_memory(browser, server, args.sessions)
    return result


def p50_p95(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def print_results(results: dict[str, Result], args: argparse.Namespace) -> None:
    backends = list(results)
    peer = len(backends) > 1
    floors = [statistics.median(r.pages[FLOOR].first or [float("nan")]) for r in results.values()]
    headers = ["", *(f"{b} p50/p95 ms" for b in backends)]
    headers += [f"{backends[1]}/{backends[0]} p50"] if peer else []
    headers += ["p50 / floor's", "p95 of target 1 s"]
    rows = []

    def line(name: str, series: list[list[float]], target: float | None) -> None:
        cuts = [p50_p95(values) for values in series]
        cells = [name, *(f"{ms(p50)} / {ms(p95)}" for p50, p95 in cuts)]
        if peer:
            cells.append(_ratio(cuts[1][0], cuts[0][0]))
        cells.append(
            "" if target is None else " / ".join(_ratio(c[0], f) for c, f in zip(cuts, floors, strict=True))
        )
        worst = max(p95 for _, p95 in cuts)
        cells.append("" if target is None else f"{worst / target:.0%} {verdict(worst < target)}")
        rows.append(cells)

    for page in next(iter(results.values())).pages:
        stages = (
            (("first content", "first"),)
            if page == FLOOR
            else (("first content", "first"), ("table filled", "filled"))
        )
        for stage, pick in stages:
            line(f"{page}: {stage}", [getattr(r.pages[page], pick) for r in results.values()], TARGET_PAGE)
    line("new job: 201 → row shown", [r.submit_to_screen for r in results.values()], None)
    line("kill sent → KILLED shown", [r.kill_to_screen for r in results.values()], None)
    print(f"\nPortal at {args.store_jobs:,} jobs, {args.samples} samples per figure (Chromium, 1280 by 800)")
    print_table(headers, rows)
    for backend, result in results.items():
        print(
            f"  {backend}: server RSS per open portal session "
            f"{result.rss_per_session / 2**20:.2f} MiB ({result.sessions} sessions, /jobs open)"
        )


def _ratio(value: float, peer: float) -> str:
    return f"{value / peer:.2f}{TIMES}" if peer > 0 else "n/a"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store-jobs", type=int, default=100_000, help="ended jobs written into the store")
    parser.add_argument("--samples", type=int, default=10, help="visits per page, kills timed")
    parser.add_argument(
        "--sessions", type=int, default=20, help="portal sessions opened for the memory figure"
    )
    postgres = parser.add_mutually_exclusive_group()
    postgres.add_argument("--database-url", help="PostgreSQL server to use (a scratch database on it)")
    postgres.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    for option in ("store_jobs", "samples", "sessions"):
        if getattr(args, option) < 2:
            parser.error(f"--{option.replace('_', '-')} must be at least 2")
    return args


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    began = time.perf_counter()
    print(f"runyard portal benchmark, {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}")
    print(f"at start: {load_line()} (the machine is shared: read the figures with it)", flush=True)
    results: dict[str, Result] = {}
    with chromium() as browser, postgres_server(args) as postgres_url:
        results["SQLite"] = run_backend("SQLite", None, browser, args)
        if postgres_url is not None:
            with scratch_postgres(postgres_url) as url:
                results["PostgreSQL"] = run_backend("PostgreSQL", url, browser, args)
    print_results(results, args)
    print(f"\nat end: {load_line()}; whole run {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

"""The 71 job workflows of ProActive's public examples, tried as a new runyard user would try them.

A fresh server (``python -m runyard server``, SQLite, its local nodes) is started; an admin imports
the corpus' catalog (``../shared/corpus/proactive-examples``: every folder's ``METADATA.json``, as
``runyard catalog import`` does), so that ``${PA_CATALOG_REST_URL}/buckets/B/resources/N/raw`` scripts
resolve; then a new user, for each job workflow of the corpus (``tests/formats/workflow_corpus.py``
lists them): validates it (``POST /workflows/validate``), submits it with its defaults, and waits up to
``--timeout`` seconds. Each outcome is one of:

- ``FINISHED``: the job ended FINISHED with no failed task;
- ``refused at validate`` / ``refused at submission``: with the first problem;
- ``FAULTY or failed``: the job ended otherwise, with the first task error;
- ``timed out``: still running after ``--timeout`` s (then killed).

Beside each, what the workflow needs that this machine lacks, read from its text (internet, Windows,
GPU, docker, external images, a service left running, a signal someone must send...), so a refusal or
failure can be told apart from a gap in runyard. Prints the count per outcome, then one line per
workflow. ``--only SUBSTRING`` limits the run to matching paths; ``--json FILE`` writes the rows.

    .venv/bin/python bench/proactive_corpus.py [--timeout 30] [--only Controls]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from api import (
    ADMIN,
    PASSWORD,
    running_server,
)  # bench/api.py: the server it benchmarks, started the same way
from runyard.auth import add_user
from runyard.client import ApiError, Client, WaitTimeout
from runyard.client.catalog_import import import_catalog
from runyard.model import JobStatus
from runyard.store.database import connect

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "proactive-examples"
USER = "newcomer"

#: What a workflow needs, by what its text shows; checked in order, every match listed.
NEEDS = [
    ("Windows", re.compile(r'language="(powershell|cmd|vbscript)"|\.(bat|exe)\b', re.IGNORECASE)),
    ("GPU", re.compile(r"nvidia|\bgpu\b|cuda", re.IGNORECASE)),
    (
        "docker",
        re.compile(
            r"\bdocker (run|pull|exec|swarm|service|network|rm|stop)|docker-compose|CONTAINER_PLATFORM"
        ),
    ),
    ("external image", re.compile(r"activeeon/|CONTAINER_IMAGE|DOCKER_IMAGE", re.IGNORECASE)),
    (
        "internet",
        re.compile(r"https?://(?!localhost|127\.0\.0\.1|\$)[\w.-]+\.[a-z]{2,}[/\"']|pip install|wget |curl "),
    ),
    ("a Slurm cluster", re.compile(r"SLURM|\bsrun\b|\bsbatch\b")),
    ("MPI", re.compile(r"\bmpirun\b|\bmpiexec\b")),
    ("ping (raw sockets, refused to a sandboxed task account)", re.compile(r'staticCommand value="ping"')),
    ("a service left running", re.compile(r"pca\.states|Workflow/psa")),
    ("a node token its service's start gives", re.compile(r'"NODE_ACCESS_TOKEN" value="PSA_')),
    ("a signal to be sent", re.compile(r"signalapi\.(waitFor|waitForAny)|readyForSignal|SIGNALS")),
    ("Java classes", re.compile(r"<javaExecutable")),
    ("groovy", re.compile(r'language="groovy"|\.groovy\b|text/x-groovy')),
    ("javascript", re.compile(r'language="javascript"')),
    ("R", re.compile(r'language="R"')),
]


@dataclass
class Row:
    workflow: str
    outcome: str
    detail: str
    needs: list[str]
    seconds: float


def job_files() -> list[Path]:
    """The corpus' job workflows, as ``tests/formats/workflow_corpus.py`` selects them."""
    return sorted(p for p in CORPUS.rglob("*.xml") if b"<job" in p.read_bytes()[:2000])


#: Lines naming URLs that are never fetched: the XML schema, icons, documentation links.
_NOT_FETCHED = re.compile(r"^.*(xmlns|schemaLocation|icon|[Dd]ocumentation).*$", re.MULTILINE)


def needs(text: str) -> list[str]:
    text = _NOT_FETCHED.sub("", text)
    return [what for what, pattern in NEEDS if pattern.search(text)]


def first_problem(problems: list[dict[str, object]]) -> str:
    if not problems:
        return ""
    problem = problems[0]
    where = ", ".join(str(problem[k]) for k in ("task", "field") if problem.get(k))
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {problem['message']}{more}" if where else f"{problem['message']}{more}"


def try_workflow(client: Client, path: Path, timeout: float) -> Row:
    text = path.read_text(encoding="utf-8")
    name = str(path.relative_to(CORPUS))
    started = time.monotonic()

    def row(outcome: str, detail: str) -> Row:
        return Row(name, outcome, detail[:300], needs(text), round(time.monotonic() - started, 1))

    checked = client.validate_workflow(text)
    if not checked["valid"]:
        return row("refused at validate", first_problem(list(checked["problems"])))  # type: ignore[arg-type]
    try:
        job_id = client.submit(text)
    except ApiError as error:
        details = error.details if isinstance(error.details, list) else []
        return row("refused at submission", first_problem(details) or error.message)
    try:
        job = client.wait_for_job(job_id, timeout=timeout)
    except WaitTimeout:
        job = client.get_job(job_id)
        client.kill_job(job_id)
        waiting = ", ".join(f"{t['name']} {t['status']}" for t in job["tasks"] if t["status"] != "FINISHED")
        return row("timed out", f"job {job['status']} after {timeout:g} s: {waiting}")
    failed = [t for t in job["tasks"] if t["status"] in ("FAULTY", "FAILED", "IN_ERROR", "NOT_RESTARTED")]
    if job["status"] == JobStatus.FINISHED and not failed:
        return row("FINISHED", "")
    errors = client.get_job_result(job_id)["errors"]
    first = next(iter(errors.items()), None)
    detail = f"{first[0]}: {first[1]}" if first else f"job {job['status']}"
    return row("FAULTY or failed", " ".join(detail.split()))


def run(timeout: float, only: str | None) -> list[Row]:
    files = [p for p in job_files() if only is None or only in str(p)]
    with tempfile.TemporaryDirectory(prefix="runyard-corpus-") as folder:
        data_dir = Path(folder)
        engine = connect(f"sqlite:///{data_dir / 'runyard.db'}")
        with engine.begin() as connection:
            add_user(connection, ADMIN, PASSWORD, admin=True)
            add_user(connection, USER, PASSWORD)
        engine.dispose()
        with running_server(data_dir, None) as server:
            with Client(server.url) as admin:
                admin.login(ADMIN, PASSWORD)
                imported = Counter(o.outcome for o in import_catalog(admin, CORPUS))
                print(f"catalog import: {dict(imported)}", file=sys.stderr)
            with Client(server.url) as client:
                client.login(USER, PASSWORD)
                rows = []
                for path in files:
                    rows.append(try_workflow(client, path, timeout))
                    print(f"  … {rows[-1].workflow}: {rows[-1].outcome}", file=sys.stderr, flush=True)
    return rows


def report(rows: list[Row]) -> str:
    counts = Counter(r.outcome for r in rows)
    lines = [f"{len(rows)} workflows", "", "| outcome | count |", "|---|---:|"]
    lines += [f"| {outcome} | {count} |" for outcome, count in counts.most_common()]
    lines += ["", "| workflow | outcome | s | needs | first problem or error |", "|---|---|---:|---|---|"]
    for r in rows:
        detail = r.detail.replace("|", "\\|")
        lines.append(f"| {r.workflow} | {r.outcome} | {r.seconds:g} | {', '.join(r.needs)} | {detail} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each job (30)")
    parser.add_argument("--only", help="only the workflows whose path holds this text")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    rows = run(args.timeout, args.only)
    print(report(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()

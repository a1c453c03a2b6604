"""The 71 job workflows of ProActive's public examples, tried as a new runyard user would try them.

A fresh server (``python -m runyard server``, SQLite, its local nodes) is started; an admin imports
the corpus' catalog (``../shared/corpus/proactive-examples``: every folder's ``METADATA.json``, as
``runyard catalog import`` does), so that ``${PA_CATALOG_REST_URL}/buckets/B/resources/N/raw`` scripts
resolve; then a new user, for each job workflow of the corpus (``tests/formats/workflow_corpus.py``
lists them), ``--parallel`` at a time: validates it (``POST /workflows/validate``), submits it with its
defaults, and waits up to ``--timeout`` seconds, or the longer time of ``TIMEOUTS`` for the workflows
that legitimately take it. While it waits it acts as the user: a signal the job is ready for is sent
(``POST /jobs/{id}/signals/NAME``) with its variables' defaults, one ending the job first. A service
(its start workflow, ``pca.states`` ``(VOID,...)``) is started through Service Automation as its users
do, then its ``Pause_``/``Resume_``/``Finish_`` actions run on the instance. Each outcome is one of:

- ``FINISHED``: the job ended FINISHED with no failed task;
- ``RUNNING as designed``: an endless cron loop (``ENDLESS``) that ran as often as it should;
- ``refused at validate`` / ``refused at submission``: with the first problem;
- ``FAULTY or failed``: the job ended otherwise, with the first task error;
- ``timed out``: still running after its time (then killed), with why its tasks wait (a selection
  script no node satisfies, a node token no node holds);
- ``needs a running instance``: a service action whose start did not run here (with the start's reason).

Beside each, what is missing: diagnosed from the actual error, wait or job output (``DIAGNOSES``), else
guessed from the workflow's text (``NEEDS``, marked "from its text"), so a refusal or failure can be
told apart from a gap in runyard. Prints the count per outcome, then one line per workflow.
``--only SUBSTRING`` (repeatable) limits the run to matching paths; ``--json FILE`` writes the rows.

    .venv/bin/python bench/proactive_corpus.py [--timeout 30] [--parallel 6] [--only Controls]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from runyard import formats
from runyard.auth import add_user
from runyard.client import ApiError, Client, WaitTimeout
from runyard.client.catalog_import import import_catalog
from runyard.client.documents import Job
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


#: What an actual error or wait says is missing, checked in order: the "needs" column is this diagnosis
#: when one matches, else the text guess above (marked so).
DIAGNOSES = [
    ("a Windows node", re.compile(r"\.exe\b|powershell|cmd\.exe|\bWindows\b", re.IGNORECASE)),
    ("a GPU", re.compile(r"nvidia|\bgpu\b|cuda", re.IGNORECASE)),
    ("a Slurm cluster", re.compile(r"\bsbatch\b|\bsrun\b|\bsqueue\b|slurm", re.IGNORECASE)),
    ("MPI (mpirun)", re.compile(r"\bmpirun\b|\bmpiexec\b")),
    (
        "a docker daemon and the images it would pull",
        re.compile(
            r"docker daemon|docker: (command )?not found|Cannot connect to the Docker|image .* pull", re.I
        ),
    ),
    (
        "the internet",
        re.compile(
            r"Name or service not known|Temporary failure in name resolution|Network is unreachable|"
            r"Could not resolve host|UnknownHostException|Failed to establish a new connection|"
            r"No route to host|No matching distribution found|Could not find a version that satisfies",
            re.IGNORECASE,
        ),
    ),
    (
        "ICMP sockets for a task's account (ping; sysctl net.ipv4.ping_group_range)",
        re.compile(r"ping: .*(socket|permi)", re.IGNORECASE),
    ),
    (
        "a catalog object the corpus does not hold",
        re.compile(
            r"no (catalog )?(bucket|object)|not in the catalog|not found in (the )?catalog", re.IGNORECASE
        ),
    ),
    (
        "Java classes from a jar nobody has",
        re.compile(r"javaExecutable|unable to resolve class|ClassNotFoundException|NoClassDefFoundError"),
    ),
    (
        "a file the corpus does not hold",
        re.compile(
            r"No such file or directory|FileNotFoundException|does not exist|Can't read input file", re.I
        ),
    ),
    (
        "a corpus script without its syntax error (ProActive fails on it too)",
        re.compile(r"expecting '\)', found"),
    ),
    (
        "a node holding a token the workflow never defines",
        re.compile(r"holding the token \$NODE_ACCESS_TOKEN"),
    ),
    ("a node token its service's start gives", re.compile(r"node token|NODE_ACCESS_TOKEN|token .?PSA_")),
    (
        "the id of a running Docker_Swarm instance (swarm_service_instance_id)",
        re.compile(r'NumberFormatException: For input string: "xx"'),
    ),
    ("a node its selection script accepts", re.compile(r"its selection script accepts")),
    (
        "a schedulerapi method runyard does not offer (a gap in runyard)",
        re.compile(r"is not available in runyard"),
    ),
]

#: Seconds a workflow legitimately needs beyond ``--timeout``, and why.
TIMEOUTS: dict[str, tuple[float, str]] = {
    "Controls/resources/catalog/Cron.xml": (80, "a cron loop every minute: its second run comes within 60 s"),
    "Controls/resources/catalog/wait_for_any.xml": (60, "its three processes sleep 10-30 s each"),
    "Controls/resources/catalog/wait_for_any_replicate.xml": (60, "its replicas sleep 10-30 s each"),
    "Controls/resources/catalog/submit_and_wait_for_any.xml": (60, "it waits for the jobs it submits"),
    "Controls/resources/catalog/submit_job_and_wait.xml": (90, "it checks its sub-job once a minute"),
    "Controls/resources/catalog/Wait_For_Signals.xml": (130, "it checks for signals once a minute"),
    "Controls/resources/catalog/wait_for_signals_with_variables.xml": (
        130,
        "it checks for signals once a minute",
    ),
    "GetStarted/resources/catalog/External_Endpoints_with_Wait_For_Signal.xml": (
        130,
        "it checks once a minute",
    ),
    "GetStarted/resources/catalog/signal_with_variables_interactive_control.xml": (60, "it loops on signals"),
    "GetStarted/resources/catalog/Hybrid_Simulation_With_Interactive_Control.xml": (
        120,
        "its simulation runs NB_NODES processes of 20 s, then waits for a signal",
    ),
}

#: Workflows that never end by design (ProActive's neither): they pass once they ran this many times.
ENDLESS = {"Controls/resources/catalog/Cron.xml": 2}

#: A service's other workflows (``Finish_X``...) need its start first; run in this order after it.
SERVICE_ACTIONS = ("Pause_", "Resume_", "Finish_")
STARTS_SERVICE = re.compile(r'<info name="pca\.states" value="\(VOID,')
SERVICE_ID = re.compile(r'<info name="pca\.service\.id" value="([^"]+)"')


@dataclass
class Row:
    workflow: str
    outcome: str
    detail: str
    needs: list[str]
    seconds: float
    signals: list[str] = field(default_factory=list)


def job_files() -> list[Path]:
    """The corpus' job workflows, as ``tests/formats/workflow_corpus.py`` selects them."""
    return sorted(p for p in CORPUS.rglob("*.xml") if b"<job" in p.read_bytes()[:2000])


def chains(files: list[Path]) -> list[list[Path]]:
    """The workflows to run one after the other: a service's start, then its pause, resume and finish."""
    runs: list[list[Path]] = []
    for folder in sorted({p.parent for p in files}):
        here = [p for p in files if p.parent == folder]
        actions = [p for p in here if p.name.startswith(SERVICE_ACTIONS)]
        actions.sort(key=lambda p: next(i for i, a in enumerate(SERVICE_ACTIONS) if p.name.startswith(a)))
        starts = [p for p in here if p not in actions]
        if actions and len(starts) == 1:
            runs.append(starts + actions)
        else:
            runs += [[p] for p in here]
    return runs


#: Lines naming URLs that are never fetched: the XML schema, icons, documentation links.
_NOT_FETCHED = re.compile(r"^.*(xmlns|schemaLocation|icon|[Dd]ocumentation).*$", re.MULTILINE)


def needs(text: str) -> list[str]:
    text = _NOT_FETCHED.sub("", text)
    return [what for what, pattern in NEEDS if pattern.search(text)]


def diagnosis(detail: str) -> list[str]:
    """What the error or wait names as missing: the diagnosis matching first in the text (the first error
    comes before what waits on it), the earlier one of ``DIAGNOSES`` at the same place."""
    found = [
        (m.start(), i, what) for i, (what, pattern) in enumerate(DIAGNOSES) if (m := pattern.search(detail))
    ]
    return [min(found)[2]] if found else []


def first_problem(problems: list[dict[str, object]]) -> str:
    if not problems:
        return ""
    problem = problems[0]
    where = ", ".join(str(problem[k]) for k in ("task", "field") if problem.get(k))
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {problem['message']}{more}" if where else f"{problem['message']}{more}"


def timeout_for(name: str, default: float) -> float:
    return max(default, TIMEOUTS.get(name, (default, ""))[0])


#: Of the signals a job is ready for, the user sends the first whose name says it ends the job.
ENDING = re.compile(r"stop|terminate|kill|finish|continue", re.IGNORECASE)
SIGNAL_PAUSE = 3.0


def answer_signals(client: Client, job_id: int, sent: list[str]) -> None:
    """Act as the user: of the signals the job is ready for, send one (one that ends the job, if any) with
    its variables' defaults, and no other while the job has not taken it (some look once a minute)."""
    signals = client.list_signals(job_id)["signals"]
    ready = [s for s in signals if s["status"] == "ready"]
    if ready and not any(s["status"] == "received" for s in signals):
        signal = min(ready, key=lambda s: not ENDING.search(s["name"]))
        values = {v["name"]: str(v.get("value") or "") for v in signal["variables"]}
        client.send_signal(job_id, signal["name"], values)
        sent.append(signal["name"])
        time.sleep(SIGNAL_PAUSE)


def wait_as_user(client: Client, job_id: int, timeout: float, sent: list[str]) -> Job:
    """The job's final state, answering its signals meanwhile; ``WaitTimeout`` ``timeout`` s after its
    first task started (the workflows tried at once share the server's nodes), or twice that after now."""
    submitted = time.monotonic()
    started: float | None = None
    while True:
        job = client.get_job(job_id)
        if not JobStatus(job["status"]).is_alive:
            return job
        if started is None and any(t["started_at"] for t in job["tasks"]):
            started = time.monotonic()
        if time.monotonic() > min((started or submitted + timeout) + timeout, submitted + 2 * timeout):
            raise WaitTimeout(f"job {job_id} still {job['status']} after {timeout:g} s")
        answer_signals(client, job_id, sent)
        time.sleep(0.5)


def runs_of(job: Job, task: str) -> int:
    return sum(1 for t in job["tasks"] if t["name"].split("#")[0] == task and t["status"] == "FINISHED")


def make_row(path: Path, outcome: str, detail: str, started: float, sent: list[str]) -> Row:
    """The row of a workflow: what is missing diagnosed from its error, else guessed from its text."""
    text = path.read_text(encoding="utf-8")
    found = diagnosis(detail) if outcome != "FINISHED" else []
    guessed = needs(text) if outcome == "FINISHED" else [f"{n} (from its text)" for n in needs(text)]
    elapsed = round(time.monotonic() - started, 1)
    return Row(
        str(path.relative_to(CORPUS)),
        outcome,
        " ".join(detail.split())[:400],
        found or guessed,
        elapsed,
        sent,
    )


def evidence(client: Client, job_id: int, error: str) -> str:
    """When the error names nothing missing, the first line of the job's output that does (a docker
    command without its daemon, say, whose task went on and failed later)."""
    if diagnosis(error):
        return ""
    lines = client.get_job_output(job_id).splitlines()
    found = next((line.strip() for line in lines if diagnosis(line)), None)
    return f"; the job's output says: {found}" if found else ""


def selecting(path: Path, job: Job) -> str:
    """Why unstarted tasks wait, from the workflow: a node their selection script accepts, or one holding
    their node token (ProActive keeps them pending as runyard does)."""
    workflow = formats.load(path)
    unstarted = {t["name"].split("#")[0].split("*")[0] for t in job["tasks"] if t["started_at"] is None}
    said = []
    for task in workflow.tasks:
        code = (task.selection[0].script.code or "") if task.selection else ""
        token = task.generic_information.get(
            "NODE_ACCESS_TOKEN", workflow.generic_information.get("NODE_ACCESS_TOKEN")
        )
        if task.name not in unstarted:
            continue
        if code.strip():
            check = next((line.strip() for line in code.splitlines() if "selected" in line), "its script")
            said.append(f"{task.name} waits for a node its selection script accepts ({check})")
        elif token:
            said.append(f"{task.name} waits for a node holding the token {token}")
    return "".join(f"{s}; " for s in said)


def outcome_of(client: Client, path: Path, job_id: int, timeout: float, sent: list[str]) -> tuple[str, str]:
    """Wait for a submitted job as its user would (answering its signals): its outcome and first error."""
    name = str(path.relative_to(CORPUS))
    limit = timeout_for(name, timeout)
    try:
        job = wait_as_user(client, job_id, limit, sent)
    except WaitTimeout:
        job = client.get_job(job_id)
        client.kill_job(job_id)
        if name in ENDLESS:
            task = job["tasks"][0]["name"].split("#")[0]
            if runs_of(job, task) >= ENDLESS[name]:
                return (
                    "RUNNING as designed",
                    f"{task} ran {runs_of(job, task)} times in {limit:g} s, then killed",
                )
        stuck = sorted((t for t in job["tasks"] if t["status"] != "FINISHED"), key=lambda t: not t["error"])
        errors = " ".join(t["error"] for t in stuck if t["error"])  # the failed tasks first: they say why
        waiting = ", ".join(
            f"{t['name']} {t['status']}" + (f" ({t['error']})" if t["error"] else "") for t in stuck
        )
        said = f"{waiting}{evidence(client, job_id, errors) if errors else ''}; {selecting(path, job)}"
        return "timed out", f"job {job['status']} at its time limit ({limit:g} s from its start): {said}"
    failed = [t for t in job["tasks"] if t["status"] in ("FAULTY", "FAILED", "IN_ERROR", "NOT_RESTARTED")]
    if job["status"] == JobStatus.FINISHED and not failed:
        return "FINISHED", ""
    errors = client.get_job_result(job_id)["errors"]
    first = next(iter(errors.items()), None)
    if first is None:
        return "FAULTY or failed", f"job {job['status']}"
    task, error = first
    return "FAULTY or failed", f"{task}: {error}{evidence(client, job_id, error)}"


def try_workflow(client: Client, path: Path, timeout: float) -> Row:
    """Validate, submit with its defaults, wait."""
    started, sent = time.monotonic(), list[str]()
    text = path.read_text(encoding="utf-8")
    checked = client.validate_workflow(text)
    if not checked["valid"]:
        problem = first_problem(list(checked["problems"]))  # type: ignore[arg-type]
        return make_row(path, "refused at validate", problem, started, sent)
    try:
        job_id = client.submit(text)
    except ApiError as error:
        details = error.details if isinstance(error.details, list) else []
        return make_row(path, "refused at submission", first_problem(details) or error.message, started, sent)
    return make_row(path, *outcome_of(client, path, job_id, timeout, sent), started, sent)


def bucket_of(path: Path) -> str:
    """The catalog bucket of a corpus workflow (its folder's ``METADATA.json``)."""
    metadata = json.loads((path.parents[2] / "METADATA.json").read_text(encoding="utf-8"))
    return str(metadata["catalog"]["bucket"])


def try_service(client: Client, chain: list[Path], timeout: float) -> list[Row]:
    """A ProActive service as its users run it: started through Service Automation, then its actions
    (pause, resume, finish) on the instance, each once the one before FINISHED."""
    started, sent = time.monotonic(), list[str]()
    start = chain[0]
    service = SERVICE_ID.search(start.read_text(encoding="utf-8"))
    assert service is not None, start
    try:
        instance = client.start_service(service[1], bucket=bucket_of(start), workflow=start.stem)
    except ApiError as error:
        return [make_row(start, "refused at submission", error.message, started, sent)]
    rows: list[Row] = []
    try:
        for path in chain:
            if rows:
                started = time.monotonic()
                try:
                    instance = client.run_service_action(instance["id"], path.stem)
                except ApiError as error:
                    rows.append(make_row(path, "refused at submission", error.message, started, sent))
                    break
            job_id = instance["job_submissions"][-1]["job_id"]
            rows.append(make_row(path, *outcome_of(client, path, job_id, timeout, sent), started, sent))
            if rows[-1].outcome != "FINISHED":
                break
            instance = client.wait_for_service_instance(instance["id"], timeout)
    finally:
        if client.get_service_instance(instance["id"])["status"] not in ("FINISHED", "KILLED"):
            client.kill_service_instance(instance["id"])
    return rows


def try_chain(url: str, token: str, chain: list[Path], timeout: float) -> list[Row]:
    """A workflow alone, or a service's workflows in order: its actions run only once its start FINISHED."""
    with Client(url, token) as client:
        if STARTS_SERVICE.search(chain[0].read_text(encoding="utf-8")):
            rows = try_service(client, chain, timeout)
        else:
            rows = [try_workflow(client, path, timeout) for path in chain[:1]]
    start = rows[0]
    for path in chain[len(rows) :]:
        detail = f"its start {Path(start.workflow).name} did not run here ({start.outcome}: {start.detail})"
        rows.append(
            Row(str(path.relative_to(CORPUS)), "needs a running instance", detail[:300], start.needs, 0)
        )
    for done in rows:
        print(f"  … {done.workflow}: {done.outcome}", file=sys.stderr, flush=True)
    return rows


def run(timeout: float, only: list[str] | None, parallel: int) -> list[Row]:
    # bench/api.py (the server it benchmarks, started the same way), imported here only: the test suite
    # imports this module for try_workflow, where ``api`` is the package tests/api
    from api import ADMIN, PASSWORD, running_server

    files = [p for p in job_files() if only is None or any(text in str(p) for text in only)]
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
            with Client(server.url) as client, ThreadPoolExecutor(parallel) as pool:
                token = client.login(USER, PASSWORD)["token"]
                done = pool.map(lambda chain: try_chain(server.url, token, chain, timeout), chains(files))
                rows = [r for chain_rows in done for r in chain_rows]
    return sorted(rows, key=lambda r: r.workflow)


def report(rows: list[Row]) -> str:
    counts = Counter(r.outcome for r in rows)
    lines = [f"{len(rows)} workflows", "", "| outcome | count |", "|---|---:|"]
    lines += [f"| {outcome} | {count} |" for outcome, count in counts.most_common()]
    lines += ["", "| workflow | outcome | s | needs | first problem or error |", "|---|---|---:|---|---|"]
    for r in rows:
        detail = r.detail.replace("|", "\\|")
        if r.signals:
            detail = f"(sent {', '.join(r.signals)}) {detail}"
        lines.append(f"| {r.workflow} | {r.outcome} | {r.seconds:g} | {', '.join(r.needs)} | {detail} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each job (30)")
    parser.add_argument(
        "--only", action="append", help="only the workflows whose path holds this text (repeatable)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--parallel", type=int, default=6, help="workflows (or service chains) at once (6)")
    args = parser.parse_args()
    rows = run(args.timeout, args.only, args.parallel)
    print(report(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()

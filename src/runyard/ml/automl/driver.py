"""The tuner's loop, run by the tuner task of ``Multi_Tuners_AutoML``: ask ``PARALLEL_SAMPLES_PER_LOOP``
samples, run each as a job of ``WORKFLOW_TO_OPTIMIZE`` (a child of the tuner job, submitted with its
token), wait for them, read each job's ``LOSS``, tell the tuner; ``MAX_ITERATIONS`` times.

No sample is run twice: the study's seed and run id are stored before any sample; each batch is drawn
from the recorded study alone (a sampler seeded by the seed and the number of trials recorded), its
record sent while its jobs run, each job submitted with the idempotency key
``automl-<tuner job>-<study run>-<trial>`` (stored with the job, in one transaction) and its id recorded
once known. A restarted tuner (the server was killed) rebuilds its study from the finished trials and
draws the batch that was running again, the same: it waits for each trial's recorded job, or submits
the trial again with its key (the server answers with the job submitted before, which it resumed). A
finished sample is never run again.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
import uuid
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from runyard import formats
from runyard.client import ApiError, Client
from runyard.client.documents import Job
from runyard.ml.automl.journal import ServerJournal, read_record, recorded_study, study_entry
from runyard.ml.automl.search_space import SearchSpace, SearchSpaceError, parse_search_space
from runyard.ml.automl.tuners import Losses, Tuner, make_tuner
from runyard.ml.automl.visdom import TrialPlot
from runyard.ml.errors import TaskInputError

if TYPE_CHECKING:
    from runyard.ml.automl.tensorboard import TrialLog

TASK = "Multi_Tuners_AutoML"
MAX_SAMPLES = 10_000
"""MAX_ITERATIONS x PARALLEL_SAMPLES_PER_LOOP at most."""


@dataclass(frozen=True)
class Settings:
    """The tuner job's variables, read and checked."""

    algorithm: str
    bucket: str
    workflow: str
    iterations: int
    parallel: int
    objectives: int
    seed: int | None
    search_space: str
    tensorboard: bool
    tensorboard_instance: str
    tensorboard_path: str
    visdom: bool
    visdom_instance: str

    @classmethod
    def read(cls, variables: Mapping[str, Any]) -> Settings:
        algorithm = _text(variables, "TUNING_ALGORITHM") or "Bayes"
        reference = _text(variables, "WORKFLOW_TO_OPTIMIZE").strip("/").split("/")
        if len(reference) != 2 or not all(reference):
            raise TaskInputError("WORKFLOW_TO_OPTIMIZE", "expected the catalog path bucket/workflow")
        iterations = _integer(variables, "MAX_ITERATIONS", _text(variables, "MAX_ITERATIONS") or "2", 1)
        parallel = _integer(
            variables, "PARALLEL_SAMPLES_PER_LOOP", _text(variables, "PARALLEL_SAMPLES_PER_LOOP") or "2", 1
        )
        if iterations * parallel > MAX_SAMPLES:
            raise TaskInputError(
                "MAX_ITERATIONS",
                f"at most {MAX_SAMPLES} samples in all (MAX_ITERATIONS x PARALLEL_SAMPLES_PER_LOOP)",
            )
        objectives = _text(variables, "OBJECTIVES") or ("2" if algorithm == "MOCMAES" else "1")
        seed = _text(variables, "RANDOM_SEED")
        return cls(
            algorithm=algorithm,
            bucket=reference[0],
            workflow=reference[1],
            iterations=iterations,
            parallel=parallel,
            objectives=_integer(variables, "OBJECTIVES", objectives, 1),
            seed=None if not seed else _integer(variables, "RANDOM_SEED", seed, 0),
            search_space=_text(variables, "SEARCH_SPACE"),
            tensorboard=_text(variables, "TENSORBOARD_ENABLED").lower() in ("true", "1"),
            tensorboard_instance=_text(variables, "TENSORBOARD_INSTANCE_NAME") or "tensorboard-server",
            tensorboard_path=_text(variables, "TENSORBOARD_LOG_PATH"),
            visdom=_text(variables, "VISDOM_ENABLED").lower() in ("true", "1"),
            visdom_instance=_text(variables, "VISDOM_INSTANCE_NAME") or "visdom-server",
        )


FLUSH_EVERY = 5.0
"""Seconds between two sendings of the journal (and of the trials' log lines) while samples run: a restart
reads again, at most, the losses of the samples of the last five seconds (never runs them again), and a
sequential search of fast samples does not pay a journal request (2 ms of the task's CPU, more of the
server's) every few trials."""


def tune(variables: MutableMapping[str, Any], result_map: MutableMapping[str, Any]) -> dict[str, Any]:
    """Run (or resume) the search of the tuner job whose task calls it; fills ``result_map``."""
    settings = Settings.read(variables)
    job_id = int(variables["PA_JOB_ID"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with _client() as client:
        space = _search_space(client, settings)
        tuner = make_tuner(settings.algorithm, space, settings.parallel, settings.objectives)
        search = _Search(client, settings, space, tuner, ServerJournal(client, job_id), job_id)
        try:
            search.run()
        finally:
            search.close()
        summary = search.summary()
    result_map.update(summary)
    return summary


class _Search:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        space: SearchSpace,
        tuner: Tuner,
        journal: ServerJournal,
        job_id: int,
    ) -> None:
        self._client, self._settings, self._space, self._tuner = client, settings, space, tuner
        self._journal, self._job_id = journal, job_id
        record = read_record(journal.read())
        if record is None:
            seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
            run = uuid.uuid4().hex[:12]
            # Before any sample: a restart's keys and draws derive from them.
            journal.send([study_entry(seed, run, tuner.objectives, space.distributions())])
        elif record.objectives != tuner.objectives:
            raise TaskInputError("OBJECTIVES", f"this tuner's study has {record.objectives} objectives")
        elif record.distributions != space.distributions():
            raise TaskInputError("SEARCH_SPACE", "differs from the one this search started with")
        else:
            seed, run = record.seed, record.run
        self.study, self._storage = recorded_study(record, tuner.objectives, tuner.sampler(seed))
        self._study_id = self._storage.get_study_id_from_name(self.study.study_name)
        # The batch a restart found running, by trial: drawn again, its recorded jobs awaited.
        self._running = {} if record is None else record.running
        self._flushed = time.monotonic()
        self._progress: list[str] = []  # the trials' log lines, written with each flush
        self._run = run
        self._logs: list[TrialLog | TrialPlot] = []
        if settings.tensorboard:  # tensorboardX (15 ms of the tuner's start) only for a search that logs
            from runyard.ml.automl.tensorboard import TrialLog, log_folder

            folder = log_folder(client, settings.tensorboard_instance, settings.tensorboard_path)
            self._logs.append(TrialLog(folder, f"automl-{job_id}"))
        if settings.visdom:
            self._logs.append(TrialPlot(client, settings.visdom_instance, f"automl-{job_id}"))

    def run(self) -> None:
        wanted = self._tuner.budget(self._settings.iterations * self._settings.parallel)
        self._tuner.resume(self.study)
        while (recorded := len(self.study.get_trials(deepcopy=False))) < wanted:
            running = self._tuner.ask(self.study, min(self._settings.parallel, wanted - recorded))
            jobs = {number: self._submit(number) for number in running}
            # While the samples run, at most every FLUSH_EVERY seconds: the record of what changed. What a
            # crash loses of it, the restarted tuner draws again the same (seeded by the recorded study) and
            # finds the jobs by their keys (stored with each job); it only reads their losses again.
            if time.monotonic() - self._flushed >= FLUSH_EVERY:
                self._journal.send_later(self._storage.take_changes())
                self._write_progress()
                self._flushed = time.monotonic()
            losses = {number: self._loss(number, job) for number, job in jobs.items()}
            self._tuner.tell(self.study, losses)
            for log in self._logs:
                for number, values in losses.items():
                    log.record(number, values, self._values(self._trial(number)))

    def close(self) -> None:
        self._write_progress()
        try:
            self._journal.send(self._storage.take_changes())
        finally:
            self._journal.close()
        for log in self._logs:
            log.close()

    def summary(self) -> dict[str, Any]:
        trials = self.study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state is TrialState.COMPLETE]
        summary: dict[str, Any] = {
            "TRIALS": len(trials),
            "FAILED_TRIALS": sum(t.state is TrialState.FAIL for t in trials),
            "SAMPLE_JOB_IDS": json.dumps([t.user_attrs.get("job_id") for t in trials]),
        }
        if not complete:
            summary.update(BEST_PARAMETERS="", BEST_LOSS="")
        elif self._tuner.objectives == 1:
            best = self.study.best_trial
            summary.update(BEST_PARAMETERS=json.dumps(self._values(best)), BEST_LOSS=best.value)
        else:  # the Pareto front
            front = self.study.best_trials
            summary.update(
                BEST_PARAMETERS=json.dumps([self._values(t) for t in front]),
                BEST_LOSS=json.dumps([t.values for t in front]),
            )
        return summary

    def _values(self, trial: FrozenTrial) -> dict[str, Any]:
        return self._space.values(trial.params)

    def _trial_id(self, number: int) -> int:
        return self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def _trial(self, number: int) -> FrozenTrial:
        return self._storage.get_trial(self._trial_id(number))

    def _submit(self, number: int) -> int:
        """The job of trial ``number``: submitted now, or before a restart (its recorded id, or the one its
        key gets)."""
        trial = self._trial(number)
        known = self._running.pop(number, None)
        if known is not None and known.get("params") != {
            name: trial.distributions[name].to_internal_repr(value) for name, value in trial.params.items()
        }:
            raise TaskInputError(TASK, f"trial {number} is not drawn again as the journal recorded it")
        job = None if known is None else known.get("user_attrs", {}).get("job_id")
        if job is None:
            job = self._submit_sample(number, self._values(trial))
        self._storage.set_trial_user_attr(self._trial_id(number), "job_id", job)
        return int(job)

    def _submit_sample(self, number: int, values: dict[str, Any]) -> int:
        variables: dict[str, str | int | float | bool] = {k: _scalar(v) for k, v in values.items()}
        variables["INPUT_VARIABLES"] = json.dumps(values)
        try:
            return self._client.submit_from_catalog(
                self._settings.bucket,
                self._settings.workflow,
                variables,
                idempotency_key=f"automl-{self._job_id}-{self._run}-{number}",
            )
        except ApiError as error:  # a value its variable's model refuses: every sample would be
            if error.status != 400:
                raise
            raise TaskInputError("WORKFLOW_TO_OPTIMIZE", f"trial {number} refused: {error.message}") from None

    def _loss(self, number: int, job_id: int) -> Losses | None:
        """The losses sample ``number``'s job reported, or ``None`` (recorded why) when it failed."""
        job = self._client.wait_for_job(job_id)
        losses, error = _losses(job, self._tuner.objectives)
        if losses is None:
            self._storage.set_trial_user_attr(self._trial_id(number), "error", error)
            self._progress.append(f"trial {number} (job {job_id}) failed: {error}")
        else:
            loss = list(losses) if len(losses) > 1 else losses[0]
            self._progress.append(f"trial {number} (job {job_id}): LOSS {loss}")
        return losses

    def _write_progress(self) -> None:
        """The trials' lines in one write, at most every FLUSH_EVERY seconds: each write of a task's output
        travels through its node to the server's log, a cost a sequential search of fast samples would pay
        per trial."""
        if self._progress:
            print("\n".join(self._progress), flush=True)
            self._progress.clear()


def _losses(job: Job, objectives: int) -> tuple[Losses, None] | tuple[None, str]:
    """The ``LOSS`` of a job: the variable as its last task to set it left it."""
    if job["status"] != "FINISHED":
        return None, f"job {job['id']} ended {job['status']}{_first_error(job)}"
    setting = [t for t in job["tasks"] if "LOSS" in t["variables"] and t["finished_at"] is not None]
    if not setting:
        return None, f"job {job['id']} set no variable LOSS{_first_error(job)}"
    value = max(setting, key=lambda t: t["finished_at"] or 0.0)["variables"]["LOSS"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None, f"LOSS {value!r} is not a number"
    losses = value if isinstance(value, list) else [value]
    if len(losses) != objectives or not all(_finite(v) for v in losses):
        expected = "a number" if objectives == 1 else f"a list of {objectives} numbers"
        return None, f"LOSS {value!r} is not {expected}"
    return tuple(float(v) for v in losses), None


def _first_error(job: Job) -> str:
    errors = [f"{t['name']}: {t['error']}" for t in job["tasks"] if t["error"]]
    return f" ({errors[0]})" if errors else ""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _search_space(client: Client, settings: Settings) -> SearchSpace:
    """``SEARCH_SPACE`` (the tuner's, else the optimized workflow's own; JSON, or a catalog JSON object),
    checked against the variables the optimized workflow declares."""
    reference = f"{settings.bucket}/{settings.workflow}"
    content = client.pull_object(settings.bucket, settings.workflow)
    declared = {v.name: v.value for v in formats.loads(content, source=reference, validate=False).variables}
    text = settings.search_space.strip() or str(declared.get("SEARCH_SPACE") or "").strip()
    if not text:
        raise SearchSpaceError(f"empty, and {reference} declares none")
    if not text.startswith("{"):  # bucket/object[/revision] of a JSON file in the catalog
        parts = text.strip("/").split("/")
        if len(parts) not in (2, 3) or not all(parts) or (len(parts) == 3 and not parts[2].isdigit()):
            raise SearchSpaceError("neither a JSON object nor a catalog path bucket/object")
        text = client.pull_object(parts[0], parts[1], int(parts[2]) if len(parts) == 3 else None).decode()
    space = parse_search_space(text)
    missing = [name for name in [*space.names, "INPUT_VARIABLES"] if name not in declared]
    if missing:
        raise TaskInputError(
            "WORKFLOW_TO_OPTIMIZE",
            f"{reference} declares no variable {', '.join(missing)}: it must declare each parameter of "
            "SEARCH_SPACE and INPUT_VARIABLES, which its samples are given",
        )
    return space


def _client() -> Client:
    token, url = os.environ.get("RUNYARD_TOKEN"), os.environ.get("RUNYARD_URL")
    if not token or not url:
        raise TaskInputError(TASK, "no RUNYARD_TOKEN: the tuner runs in a task of a runyard server")
    return Client(url, token, timeout=60.0)


def _text(variables: Mapping[str, Any], name: str) -> str:
    value = variables.get(name)
    return "" if value is None else str(value).strip()


def _integer(variables: Mapping[str, Any], name: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise TaskInputError(name, f"{text!r} is not a whole number") from None
    if value < minimum:
        raise TaskInputError(name, f"must be at least {minimum}, got {value}")
    return value


def _scalar(value: Any) -> str | int | float | bool:
    """A sampled value as a job variable (``None``, a possible choice, as the empty text)."""
    return "" if value is None else value

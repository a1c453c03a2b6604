"""The tuner's record: its study, kept in the tuner job's tuning journal (``/jobs/{id}/tuning-journal``) in
the platform's database, written through the REST API with the job's token (task processes never open
the database) and read back by a restarted tuner task, which takes its search up from it.

While the tuner runs, its study lives in optuna's in-memory storage, where optuna's reads and writes cost
what they cost optuna alone; :class:`RecordedStorage` notes what changes in it, and the driver sends
those changes as entries while samples run. The entries, in order:

- ``{"study": {"seed": S, "run": R, "objectives": N, "distributions": {name: optuna's JSON}}}``, first,
  stored before any sample;
- ``{"trial": n, ...}``: what changed in trial ``n`` since the last entry about it: ``state`` (a
  ``TrialState`` name; a new trial is RUNNING), ``values``, ``params`` (optuna's internal
  representations), ``user_attrs``, ``system_attrs``, and ``study_system_attrs``, what the sampler set
  in the study while drawing it (QMC's position in its sequence).

A restarted tuner rebuilds the study from the finished trials (:func:`read_record`, :func:`recorded_study`)
and keeps, of the batch that was running, each trial's parameters and job: its seeded sampler draws that
batch again, the same (the driver checks it), and waits for the jobs recorded (or finds them by their
idempotency keys). An append that does not start at the server's end of the journal (another execution
wrote since) is refused by the server, and this tuner stops.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, distribution_to_json, json_to_distribution
from optuna.samplers import BaseSampler
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState, create_trial

from runyard.client import ApiError, Client
from runyard.client.tuning import MAX_BATCH
from runyard.ml.errors import TaskInputError

TASK = "Multi_Tuners_AutoML"
MAX_ENTRY = 60_000
"""Bytes of JSON in one entry at most (the server refuses over 64 KiB): a trial's system attributes past
it (CMA-ES's strategy for some 45 parameters or more) are sent one per entry."""


class RecordedStorage(InMemoryStorage):
    """optuna's in-memory storage, noting what changes in each trial until :meth:`take_changes`."""

    def __init__(self) -> None:
        super().__init__()
        self._changes: dict[int, dict[str, Any]] = {}
        self._drawing: int | None = None
        """The trial created last: what a sampler sets in the study now, it sets while drawing it."""

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        trial_id = super().create_new_trial(study_id, template_trial)
        self._drawing = trial_id
        change = self._change(trial_id)
        if template_trial is not None:
            trial = self.get_trial(trial_id)
            change["state"] = trial.state.name
            if trial.values is not None:
                change["values"] = list(trial.values)
            if trial.params:
                change["params"] = {
                    k: trial.distributions[k].to_internal_repr(v) for k, v in trial.params.items()
                }
            for name in ("user_attrs", "system_attrs"):
                if getattr(trial, name):
                    change[name] = dict(getattr(trial, name))
        return trial_id

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: BaseDistribution
    ) -> None:
        super().set_trial_param(trial_id, param_name, param_value_internal, distribution)
        self._change(trial_id).setdefault("params", {})[param_name] = param_value_internal

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        changed = super().set_trial_state_values(trial_id, state, values)
        if changed:
            change = self._change(trial_id)
            change["state"] = state.name
            if values is not None:
                change["values"] = list(values)
        return changed

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        super().set_trial_user_attr(trial_id, key, value)
        self._change(trial_id).setdefault("user_attrs", {})[key] = value

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        super().set_trial_system_attr(trial_id, key, value)
        self._change(trial_id).setdefault("system_attrs", {})[key] = value

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        super().set_study_system_attr(study_id, key, value)
        assert self._drawing is not None, "optuna's samplers set study attributes while drawing a trial"
        self._change(self._drawing).setdefault("study_system_attrs", {})[key] = value

    def take_changes(self) -> list[dict[str, Any]]:
        """The journal entries of what changed since the last call, in trial order."""
        entries: list[dict[str, Any]] = []
        for number, change in sorted(self._changes.items()):
            entries.extend(_entries(number, change))
        self._changes.clear()
        return entries

    def _change(self, trial_id: int) -> dict[str, Any]:
        return self._changes.setdefault(self.get_trial_number_from_id(trial_id), {})


def _entries(number: int, change: dict[str, Any]) -> list[dict[str, Any]]:
    """``change`` as one entry, or, too large for one, its system attributes one per entry first."""
    entry = {"trial": number, **change}
    if "system_attrs" not in change or len(json.dumps(entry)) <= MAX_ENTRY:
        return [entry]
    attrs = entry.pop("system_attrs")
    return [*({"trial": number, "system_attrs": {key: value}} for key, value in attrs.items()), entry]


def study_entry(
    seed: int, run: str, objectives: int, distributions: dict[str, BaseDistribution]
) -> dict[str, Any]:
    """The journal's first entry."""
    study = {
        "seed": seed,
        "run": run,
        "objectives": objectives,
        "distributions": {name: distribution_to_json(d) for name, d in distributions.items()},
    }
    return {"study": study}


@dataclass
class Record:
    """A study as its journal recorded it."""

    seed: int
    run: str
    objectives: int
    distributions: dict[str, BaseDistribution]
    finished: list[FrozenTrial] = field(default_factory=list)
    study_attrs: list[tuple[str, Any]] = field(default_factory=list)
    """What the samplers set in the study while drawing the finished trials, in order."""
    running: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The batch that was running, by trial number: each trial's ``params`` and ``user_attrs``."""


def recorded_study(
    record: Record | None, objectives: int, sampler: BaseSampler
) -> tuple[optuna.Study, RecordedStorage]:
    """A study in a new :class:`RecordedStorage`: ``record``'s finished trials and what their sampler set in
    the study (changes already recorded, so not taken again), or none."""
    storage = RecordedStorage()
    study = optuna.create_study(storage=storage, directions=["minimize"] * objectives, sampler=sampler)
    if record is not None:
        study.add_trials(record.finished)
        study_id = storage.get_study_id_from_name(study.study_name)
        for key, value in record.study_attrs:
            storage.set_study_system_attr(study_id, key, value)
        storage.take_changes()
    return study, storage


def read_record(entries: Sequence[dict[str, Any]]) -> Record | None:
    """The study ``entries`` record (``None`` for none); ``TaskInputError`` if they are not a tuner's."""
    if not entries:
        return None
    try:
        study = entries[0]["study"]
        distributions = {name: json_to_distribution(d) for name, d in study["distributions"].items()}
        record = Record(int(study["seed"]), str(study["run"]), int(study["objectives"]), distributions)
        trials: dict[int, dict[str, Any]] = {}
        for entry in entries[1:]:
            trial = trials.setdefault(int(entry["trial"]), {"state": "RUNNING"})
            for key, value in entry.items():
                if isinstance(value, dict):
                    trial.setdefault(key, {}).update(value)
                elif key != "trial":
                    trial[key] = value
        finished = [n for n, t in sorted(trials.items()) if TrialState[t["state"]].is_finished()]
        if finished != list(range(len(finished))):  # batches run one after the other
            raise ValueError("a trial finished after one still running")
        for number in finished:
            trial = trials.pop(number)
            record.finished.append(_frozen(trial, distributions))
            record.study_attrs.extend(trial.get("study_system_attrs", {}).items())
        record.running = trials
    except (KeyError, TypeError, ValueError) as error:
        raise TaskInputError(
            TASK, f"this tuner's journal is not one this runyard writes ({error!r})"
        ) from None
    return record


def _frozen(trial: dict[str, Any], distributions: dict[str, BaseDistribution]) -> FrozenTrial:
    params = trial.get("params", {})
    return create_trial(
        state=TrialState[trial["state"]],
        params={name: distributions[name].to_external_repr(value) for name, value in params.items()},
        distributions={name: distributions[name] for name in params},
        values=trial.get("values"),
        user_attrs=trial.get("user_attrs"),
        system_attrs=trial.get("system_attrs"),
    )


class ServerJournal:
    """The tuner job's tuning journal: read once, as the tuner starts, then appended to in the background."""

    def __init__(self, client: Client, job_id: int) -> None:
        self._client = client
        self._job_id = job_id
        self._length = 0
        self._sending: Future[None] | None = None
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="tuning-journal")

    def read(self) -> list[dict[str, Any]]:
        """The entries recorded so far (appends go after them)."""
        entries: list[dict[str, Any]] = []
        while True:
            page = self._client.read_tuning_journal(self._job_id, len(entries))
            entries.extend(page["entries"])
            if not page["entries"] or len(entries) >= page["length"]:
                break
        self._length = len(entries)
        return entries

    def send(self, entries: list[dict[str, Any]]) -> None:
        """Append ``entries`` and wait until they are stored."""
        self.send_later(entries)
        self.wait()

    def send_later(self, entries: list[dict[str, Any]]) -> None:
        """Start appending ``entries`` (after the sending under way, if any)."""
        self.wait()
        if entries:
            self._sending = self._sender.submit(self._send, entries)

    def wait(self) -> None:
        """Until what was sent is stored; raises what sending it raised."""
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._sender.shutdown()

    def _send(self, entries: list[dict[str, Any]]) -> None:
        for first in range(0, len(entries), MAX_BATCH):
            batch = entries[first : first + MAX_BATCH]
            try:
                self._client.append_tuning_journal(self._job_id, self._length, batch)
            except ApiError as error:
                if error.status != 409:
                    raise
                raise TaskInputError(
                    TASK, f"another execution writes this tuner's journal: {error}"
                ) from None
            self._length += len(batch)

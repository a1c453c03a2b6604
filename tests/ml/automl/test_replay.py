"""A tuner taking up a recorded study (a restart: a new process reads the journal back) goes on where the
search was: the batch still running is awaited, not sampled again, and the seeded tuners draw exactly
what an uninterrupted search draws (CMAES from the strategy optuna keeps in the study, MOCMAES by
replaying its deap strategy), also when the record of the batch under way was lost."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend
from optuna.trial import TrialState

from runyard.ml.automl.search_space import SearchSpace, parse_search_space
from runyard.ml.automl.tuners import ALGORITHMS, Losses, Tuner, make_tuner

CONTINUOUS = parse_search_space(
    json.dumps({"x": "uniform(-5, 5)", "y": "log(0.01, 10)", "k": "choice([1, 2, 3])"})
)
DISCRETE = parse_search_space(
    json.dumps({"x": "quantized_uniform(-5, 5, 1)", "y": "choice([0.1, 1])", "k": "choice([1, 2, 3])"})
)
LOOPS, BATCH, SEED = 5, 3, 4


class _Journal(BaseJournalBackend):
    """A journal in memory: what the tuning journal is to a new tuner process, its log read anew."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        return self.entries[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.entries.extend(logs)


def _losses(values: dict[str, float], objectives: int) -> Losses | None:
    if values["k"] == 3:
        return None  # a failed sample
    first = (values["x"] - 1) ** 2 + values["y"]
    return (first,) if objectives == 1 else (first, (values["x"] + 1) ** 2 + 1 / values["y"])


def _search(
    algorithm: str, interrupt_after: int | None, *, lost: bool = False, prepare: bool = True
) -> list[dict[str, float]]:
    """The points sampled in LOOPS loops; after ``interrupt_after`` loops, a new tuner on a new storage
    over the same journal takes the study up, the batch asked then still running (``lost``: the batch's
    record never reached the journal, as when a crash comes while it is being sent). While each batch
    runs, the tuner prepares the next one as the driver has it do (unless not ``prepare``): a restarted
    tuner has nothing prepared for the batch it draws first."""
    objectives = 2 if algorithm == "MOCMAES" else 1
    space = DISCRETE if algorithm == "Grid" else CONTINUOUS
    journal = _Journal()
    tuner, study = _open(algorithm, space, journal, objectives)
    assert tuner.resume(study) == []
    for loop in range(LOOPS):
        recorded = len(journal.entries)
        running = tuner.ask(study, BATCH)
        if loop == interrupt_after and lost:
            asked = [space.values(study.trials[n].params) for n in running]
            del journal.entries[recorded:]
            tuner, study = _open(algorithm, space, journal, objectives)
            assert tuner.resume(study) == []
            running = tuner.ask(study, BATCH)
            assert [space.values(study.trials[n].params) for n in running] == asked  # drawn again, the same
        elif loop == interrupt_after:
            tuner, study = _open(algorithm, space, journal, objectives)
            assert tuner.resume(study) == running
            if algorithm == "CMAES" and loop == 3:  # the strategy told the first generation is in the journal
                assert any(key.startswith("cma:optimizer") for t in study.trials for key in t.system_attrs)
        if prepare:
            tuner.prepare(study)
        tuner.tell(study, {n: _losses(space.values(study.trials[n].params), objectives) for n in running})
    assert sum(t.state is TrialState.FAIL for t in study.trials) > 0
    assert all(t.state is not TrialState.RUNNING for t in study.trials)
    return [space.values(t.params) for t in study.trials]


def _open(
    algorithm: str, space: SearchSpace, journal: _Journal, objectives: int
) -> tuple[Tuner, optuna.Study]:
    storage = JournalStorage(journal)
    tuner = make_tuner(algorithm, space, BATCH, objectives)
    trials = (
        len(storage.get_all_trials(storage.get_study_id_from_name("s"))) if storage.get_all_studies() else 0
    )
    study = optuna.create_study(
        storage=storage,
        study_name="s",
        directions=["minimize"] * objectives,
        sampler=tuner.sampler(SEED, trials),
        load_if_exists=True,
    )
    return tuner, study


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_resumed_tuner_goes_on_where_it_was(algorithm: str) -> None:
    uninterrupted = _search(algorithm, None)
    assert len(uninterrupted) == LOOPS * BATCH
    assert _search(algorithm, None, prepare=False) == uninterrupted  # a prepared batch is drawn the same
    for interrupted_after in (0, 3):
        assert _search(algorithm, interrupted_after) == uninterrupted


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_batch_whose_record_was_lost_is_drawn_again_the_same(algorithm: str) -> None:
    """The record of a batch is sent while its jobs run: a crash may lose it, never its jobs (their
    keys are stored with them). The restarted tuner must then draw that batch again, the same, so that
    the keys it submits with name the jobs already run with those very parameters."""
    uninterrupted = _search(algorithm, None)
    for lost_at in (0, 3):
        assert _search(algorithm, lost_at, lost=True) == uninterrupted


@pytest.mark.parametrize("algorithm", ["Bayes", "Random", "CMAES"])
def test_a_sampler_prepared_for_another_position_is_not_used(algorithm: str) -> None:
    """A batch that does not start where the prepared sampler was made for (a trial recorded meanwhile)
    is drawn by a sampler made for where it starts, as a tuner that prepared nothing draws it."""
    draws = []
    for prepare in (True, False):
        tuner, study = _open(algorithm, CONTINUOUS, _Journal(), 1)
        for _ in range(4):
            running = tuner.ask(study, BATCH)
            if prepare:
                tuner.prepare(study)
            tuner.tell(study, {n: (float(n),) for n in running})
        study.tell(study.ask(CONTINUOUS.distributions()), 1.0)  # the prepared sampler's position is past
        draws.append([study.trials[n].params for n in tuner.ask(study, BATCH)])
    assert draws[0] == draws[1]

"""A tuner taking up a recorded study (a restart: a new process reads the journal back) goes on where the
search was: the batch that was running is drawn again, the same, with its recorded jobs, and the seeded
tuners draw exactly what an uninterrupted search draws (CMAES from the strategy optuna keeps in the
study, MOCMAES by replaying its deap strategy), also when the record of the batch under way was lost."""

from __future__ import annotations

import json
from typing import Any

import optuna
import pytest
from optuna.samplers import BaseSampler, CmaEsSampler, RandomSampler, TPESampler
from optuna.trial import TrialState

from runyard.ml.automl.journal import MAX_ENTRY, RecordedStorage, read_record, recorded_study, study_entry
from runyard.ml.automl.search_space import SearchSpace, parse_search_space
from runyard.ml.automl.tuners import ALGORITHMS, Losses, Tuner, make_tuner, population
from runyard.ml.errors import TaskInputError

CONTINUOUS = parse_search_space(
    json.dumps({"x": "uniform(-5, 5)", "y": "log(0.01, 10)", "k": "choice([1, 2, 3])"})
)
DISCRETE = parse_search_space(
    json.dumps({"x": "quantized_uniform(-5, 5, 1)", "y": "choice([0.1, 1])", "k": "choice([1, 2, 3])"})
)
LOOPS, BATCH, SEED = 5, 3, 4
Entries = list[dict[str, Any]]


def _losses(values: dict[str, float], objectives: int) -> Losses | None:
    if values["k"] == 3:
        return None  # a failed sample
    first = (values["x"] - 1) ** 2 + values["y"]
    return (first,) if objectives == 1 else (first, (values["x"] + 1) ** 2 + 1 / values["y"])


class _Tuning:
    """A tuner on a study rebuilt from ``entries`` (the journal a new tuner process reads back), as the
    driver opens it."""

    def __init__(self, algorithm: str, space: SearchSpace, entries: Entries) -> None:
        objectives = 2 if algorithm == "MOCMAES" else 1
        record = read_record(entries)
        if record is None:
            entries.append(study_entry(SEED, "run", objectives, space.distributions()))
        self.space, self.objectives = space, objectives
        self.tuner: Tuner = make_tuner(algorithm, space, BATCH, objectives)
        self.study, self.storage = recorded_study(record, objectives, self.tuner.sampler(SEED))
        self.running = {} if record is None else record.running
        self.tuner.resume(self.study)

    def params(self, numbers: list[int]) -> list[dict[str, Any]]:
        return [self.space.values(self.study.trials[n].params) for n in numbers]

    def submit(self, numbers: list[int]) -> None:
        """What the driver records of a batch's submission: each trial's job."""
        for number in numbers:
            self.storage.set_trial_user_attr(self.study.trials[number]._trial_id, "job_id", 100 + number)

    def tell(self, numbers: list[int]) -> None:
        values = self.params(numbers)
        self.tuner.tell(
            self.study, {n: _losses(v, self.objectives) for n, v in zip(numbers, values, strict=True)}
        )


def _search(algorithm: str, interrupt_after: int | None, *, lost: bool = False) -> list[dict[str, float]]:
    """The points sampled in LOOPS loops; after ``interrupt_after`` loops, a new tuner on a new storage
    rebuilt from the journal takes the study up, the batch asked then still running (``lost``: the batch's
    record never reached the journal, as when a crash comes while it is being sent)."""
    space = DISCRETE if algorithm == "Grid" else CONTINUOUS
    entries: Entries = []
    tuning = _Tuning(algorithm, space, entries)
    assert tuning.running == {}
    for loop in range(LOOPS):
        numbers = tuning.tuner.ask(tuning.study, BATCH)
        tuning.submit(numbers)
        sent = tuning.storage.take_changes()
        if loop == interrupt_after:
            asked = tuning.params(numbers)
            if not lost:
                entries += sent
            tuning = _Tuning(algorithm, space, entries)
            assert tuning.tuner.ask(tuning.study, BATCH) == numbers
            assert tuning.params(numbers) == asked  # drawn again, the same
            if lost:
                assert tuning.running == {}
            else:  # what the driver checks the batch drawn again against, and the jobs it waits for
                for number in numbers:
                    trial = tuning.study.trials[number]
                    internal = {
                        k: trial.distributions[k].to_internal_repr(v) for k, v in trial.params.items()
                    }
                    assert tuning.running[number]["params"] == internal
                    assert tuning.running[number]["user_attrs"]["job_id"] == 100 + number
                tuning.submit(numbers)
        else:
            entries += sent
        tuning.tell(numbers)
        entries += tuning.storage.take_changes()
    trials = tuning.study.trials
    assert sum(t.state is TrialState.FAIL for t in trials) > 0
    assert all(t.state is not TrialState.RUNNING for t in trials)
    rebuilt = _Tuning(algorithm, space, entries)  # the whole journal: the same study
    assert rebuilt.running == {}
    assert [(t.params, t.values, t.user_attrs, t.system_attrs) for t in rebuilt.study.trials] == [
        (t.params, t.values, t.user_attrs, t.system_attrs) for t in trials
    ]
    return [space.values(t.params) for t in trials]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_resumed_tuner_goes_on_where_it_was(algorithm: str) -> None:
    uninterrupted = _search(algorithm, None)
    assert len(uninterrupted) == LOOPS * BATCH
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


#: What the tuners draw each batch with, made anew with the seed and the number of trials recorded.
NEW_SAMPLERS: dict[str, Any] = {
    "Random": lambda seed: RandomSampler(seed=seed),
    "Bayes": lambda seed: TPESampler(seed=seed),
    "CMAES": lambda seed: CmaEsSampler(
        seed=seed, popsize=population(BATCH, 2), warn_independent_sampling=False
    ),
}


@pytest.mark.parametrize("algorithm", NEW_SAMPLERS)
def test_a_reseeded_sampler_draws_what_a_new_one_draws(algorithm: str) -> None:
    """The tuners reseed one sampler in place for each batch (making one costs a millisecond): it must
    draw what a sampler made anew for the batch draws, or a restarted tuner would draw another batch."""
    draws = []
    for reseeded in (True, False):
        tuner = make_tuner(algorithm, CONTINUOUS, BATCH, 1)
        sampler: BaseSampler = tuner.sampler(SEED)
        study = optuna.create_study(sampler=sampler)
        for _ in range(LOOPS):
            if reseeded:
                numbers = tuner.ask(study, BATCH)
            else:
                study.sampler = NEW_SAMPLERS[algorithm](SEED + len(study.trials))
                numbers = [study.ask(CONTINUOUS.distributions()).number for _ in range(BATCH)]
            tuner.tell(study, {n: _losses(CONTINUOUS.values(study.trials[n].params), 1) for n in numbers})
        draws.append([t.params for t in study.trials])
    assert draws[0] == draws[1]


def test_a_large_strategy_is_recorded_in_entries_the_server_takes() -> None:
    """CMA-ES's strategy (optuna pickles it in a trial's system attributes) outgrows one journal entry
    past some 45 parameters: its attributes then go one per entry, and the study is rebuilt the same."""
    space = parse_search_space(json.dumps({f"p{i}": "uniform(0, 1)" for i in range(50)}))
    tuner = make_tuner("CMAES", space, 1, 1)
    study, storage = recorded_study(None, 1, tuner.sampler(SEED))
    entries: Entries = [study_entry(SEED, "run", 1, space.distributions())]
    for _ in range(1 + population(1, 50) + 1):  # random, a generation, the next records the strategy told
        (number,) = tuner.ask(study, 1)
        tuner.tell(study, {number: (sum(study.trials[number].params.values()),)})
    entries += storage.take_changes()
    assert len(json.dumps(study.trials[-1].system_attrs)) > MAX_ENTRY
    assert all(len(json.dumps(entry)) <= MAX_ENTRY for entry in entries)
    rebuilt, _ = recorded_study(read_record(entries), 1, tuner.sampler(SEED))
    assert [t.system_attrs for t in rebuilt.trials] == [t.system_attrs for t in study.trials]


@pytest.mark.parametrize(
    "entries",
    [
        [{"op_code": 0, "worker_id": "w", "study_name": "automl", "directions": [1]}],  # optuna's journal
        [study_entry(SEED, "run", 1, CONTINUOUS.distributions()), {"trial": 1, "state": "COMPLETE"}],
        [study_entry(SEED, "run", 1, CONTINUOUS.distributions()), {"trial": 0, "state": "DONE"}],
    ],
)
def test_a_journal_this_tuner_did_not_write_is_refused(entries: Entries) -> None:
    with pytest.raises(TaskInputError, match="not one this runyard writes"):
        read_record(entries)


def test_the_study_records_only_what_changed() -> None:
    """Each flush sends what changed since the last one: a trial's parameters once, then its end."""
    tuner = make_tuner("Random", CONTINUOUS, 1, 1)
    study, storage = recorded_study(None, 1, tuner.sampler(SEED))
    assert isinstance(storage, RecordedStorage)
    (number,) = tuner.ask(study, 1)
    (asked,) = storage.take_changes()
    assert asked.keys() == {"trial", "params"} and asked["params"].keys() == {"x", "y", "k"}
    tuner.tell(study, {number: (1.5,)})
    assert storage.take_changes() == [{"trial": 0, "state": "COMPLETE", "values": [1.5]}]
    assert storage.take_changes() == []

"""CMAES and MOCMAES keep their deap strategy in memory: a tuner taking up a recorded study (a restart)
rebuilds it by replaying the journal, and goes on drawing the points an uninterrupted run draws."""

from __future__ import annotations

import json

import optuna
import pytest

from runyard.ml.automl.search_space import parse_search_space
from runyard.ml.automl.tuners import Losses, make_tuner

SPACE = parse_search_space(
    json.dumps({"x": "uniform(-5, 5)", "y": "log(0.01, 10)", "k": "choice([1, 2, 3])"})
)
LOOPS, BATCH, SEED = 5, 3, 4


def _losses(values: dict[str, float], objectives: int) -> Losses | None:
    if values["k"] == 3 and values["x"] > 2:
        return None  # a failed sample
    first = (values["x"] - 1) ** 2 + values["y"]
    return (first,) if objectives == 1 else (first, (values["x"] + 1) ** 2 + 1 / values["y"])


def _search(algorithm: str, objectives: int, interrupt_after: int | None) -> list[dict[str, float]]:
    """The points sampled in LOOPS loops; after ``interrupt_after`` loops, a new tuner takes the study up
    (the batch asked then still running, as when the server was killed while its samples ran)."""
    storage = optuna.storages.InMemoryStorage()
    tuner = make_tuner(algorithm, SPACE, BATCH, objectives)
    study = optuna.create_study(
        storage=storage, study_name="s", directions=["minimize"] * objectives, sampler=tuner.sampler(SEED, 0)
    )
    running = tuner.resume(study)
    for loop in range(LOOPS):
        if not running:
            running = tuner.ask(study, BATCH)
        if loop == interrupt_after:
            tuner = make_tuner(algorithm, SPACE, BATCH, objectives)
            study = optuna.load_study(
                study_name="s", storage=storage, sampler=tuner.sampler(SEED, len(study.trials))
            )
            assert tuner.resume(study) == running
        tuner.tell(study, {n: _losses(SPACE.values(study.trials[n].params), objectives) for n in running})
        running = []
    assert sum(t.state is optuna.trial.TrialState.FAIL for t in study.trials) > 0
    return [SPACE.values(t.params) for t in study.trials]


@pytest.mark.parametrize(("algorithm", "objectives"), [("CMAES", 1), ("MOCMAES", 2)])
def test_a_resumed_cma_es_draws_what_an_uninterrupted_one_draws(algorithm: str, objectives: int) -> None:
    uninterrupted = _search(algorithm, objectives, None)
    assert len(uninterrupted) == LOOPS * BATCH
    assert _search(algorithm, objectives, 0) == uninterrupted
    assert _search(algorithm, objectives, 3) == uninterrupted

"""The six tuners of ``TUNING_ALGORITHM``, behind one interface: ask a batch of trials, tell their losses.

All record their trials in one optuna study (kept in the platform's database, :mod:`.journal`):

- ``Bayes``: optuna's ``TPESampler`` (a Bayesian optimiser; optuna's ``GPSampler`` needs PyTorch);
- ``Grid``: optuna's ``GridSampler`` over every value of discrete parameters (a continuous one is refused);
- ``Random``: optuna's ``RandomSampler``; ``QuasiRandom``: optuna's ``QMCSampler`` (scrambled Sobol);
- ``CMAES``: optuna's ``CmaEsSampler`` (over the ``cmaes`` package), a generation being whole batches;
- ``MOCMAES``: deap's ``cma.StrategyMultiObjective`` (MO-CMA-ES, one CMA-ES per parent), a generation per
  batch (optuna has no multi-objective CMA-ES).

The optuna samplers keep what they need in the study (CmaEsSampler its strategy, pickled in the trials'
system attributes; QMCSampler its position in its sequence). The deap strategy lives in memory: a restarted
tuner rebuilds it by replaying it from its seed and the recorded losses, checking that each generation it
regenerates is the one recorded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import optuna
from deap import base, cma, tools
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, CmaEsSampler, GridSampler, QMCSampler, RandomSampler, TPESampler
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.trial import FrozenTrial, TrialState, create_trial

from runyard.ml.automl.search_space import SearchSpace
from runyard.ml.errors import TaskInputError

ALGORITHMS = ("Bayes", "Grid", "Random", "QuasiRandom", "CMAES", "MOCMAES")
Losses = tuple[float, ...]
SIGMA = 0.2
"""Initial step of MO-CMA-ES in the unit cube the parameters are mapped to: a fifth of each range (0.3
explored too far for small budgets, 0.1 too little, on the shipped objectives)."""
PENALTY = 1.0
"""Weight of the squared distance to the unit cube added to the loss of a point MO-CMA-ES drew outside it
(deap's ``ClosestValidPenalty``; the point evaluated is the closest one inside)."""


class Tuner(Protocol):
    objectives: int

    def sampler(self, seed: int) -> BaseSampler:
        """The optuna sampler of the study."""

    def budget(self, wanted: int) -> int:
        """How many trials to run, of the ``wanted`` MAX_ITERATIONS x PARALLEL_SAMPLES_PER_LOOP."""

    def resume(self, study: optuna.Study) -> None:
        """Take up a study rebuilt from the record of its finished trials (a restart)."""

    def ask(self, study: optuna.Study, count: int) -> list[int]:
        """Record ``count`` new RUNNING trials; their numbers."""

    def tell(self, study: optuna.Study, losses: Mapping[int, Losses | None]) -> None:
        """Record the batch's losses (``None``: the sample failed)."""


class _OptunaTuner:
    """A tuner that is an optuna sampler.

    Each batch is drawn as a new sampler seeded with the seed and the number of trials recorded would
    draw it: what it draws depends on the recorded study only, so a restarted tuner draws what an
    uninterrupted one would, even for a batch whose record was lost (its jobs, submitted with a key per
    trial, are found again). The sampler is made once and :func:`reseed`-ed at each batch: making one
    seeds a numpy random state from the system's entropy before seeding it as asked (about 1 ms, two
    for TPE, on the shared test machine), reseeding one in place a few microseconds."""

    objectives = 1

    def __init__(self, space: SearchSpace, make: Callable[[int], BaseSampler]) -> None:
        self._make = make
        self._seed: int | None = None
        self._sampler: BaseSampler | None = None
        self._distributions = space.distributions()

    def sampler(self, seed: int) -> BaseSampler:
        self._seed, self._sampler = seed, self._make(seed)
        return self._sampler

    def budget(self, wanted: int) -> int:
        return wanted

    def resume(self, study: optuna.Study) -> None:
        """Nothing: the samplers keep what they need in the study."""

    def ask(self, study: optuna.Study, count: int) -> list[int]:
        assert self._seed is not None and self._sampler is not None, "sampler() seeds the tuner first"
        reseed(self._sampler, self._seed + len(study.get_trials(deepcopy=False)))
        return [study.ask(self._distributions).number for _ in range(count)]

    def tell(self, study: optuna.Study, losses: Mapping[int, Losses | None]) -> None:
        for number, values in sorted(losses.items()):
            if values is None:
                study.tell(number, state=TrialState.FAIL)
            else:
                study.tell(number, list(values))


def reseed(sampler: BaseSampler, seed: int) -> None:
    """Make ``sampler`` draw from now on what the same sampler made anew with ``seed`` would: each of
    its random states (its own and its inner samplers', as TPE's and CMA-ES's random sampler) seeded
    again in place. optuna seeds every random state of a sampler with the sampler's seed; the other
    state samplers keep (search-space caches) is computed from the study alone. A test compares the
    draws with new samplers', for each tuner."""
    for value in vars(sampler).values():
        if isinstance(value, LazyRandomState):
            value.rng.seed(seed)
        elif isinstance(value, BaseSampler):
            reseed(value, seed)


class _Grid(GridSampler):
    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        """Nothing: optuna's stops the study once the grid is done, which only works inside ``optimize``;
        the budget stops at the grid's size here."""


class _GridTuner(_OptunaTuner):
    def __init__(self, space: SearchSpace) -> None:
        grid = space.grid()  # refuses a continuous parameter, naming it
        # The grid's order is drawn from the seed when the sampler is made; trial n takes its n-th point.
        super().__init__(space, lambda seed: _Grid(grid, seed=seed))
        self._size = space.grid_size()

    def budget(self, wanted: int) -> int:
        return min(wanted, self._size)


class _CmaEsTuner(_OptunaTuner):
    """optuna's ``CmaEsSampler``, with a population of whole batches (:func:`population`).

    Its strategy is in the study (pickled with the trials drawn from it); its random states are reseeded
    for each batch, as every optuna tuner's. ``choice`` parameters (and those of one value) are not
    CMA-ES's: its independent sampler, optuna's ``RandomSampler``, draws them."""

    def __init__(self, space: SearchSpace, batch: int) -> None:
        size = population(batch, len(_cma_parameters(space)))
        super().__init__(
            space,
            lambda seed: CmaEsSampler(seed=seed, popsize=size, warn_independent_sampling=False),
        )


def population(batch: int, dimensions: int) -> int:
    """CMA-ES's population for batches of ``batch`` trials over ``dimensions`` parameters: the smallest
    multiple of ``batch`` that is at least Hansen's default, ``4 + floor(3 ln dimensions)``.

    Whole batches: optuna's ``CmaEsSampler`` draws every trial asked from the generation under way until
    that generation has ``popsize`` complete trials, then tells it the first ``popsize`` and starts the
    next. All the trials of a batch, asked at once, belong to one generation; with whole batches per
    generation none is drawn past its population (a trial the strategy never learns from), unless a sample
    fails (a failed trial does not count, so its generation takes one more batch).

    At least the default: ``cmaes`` refuses fewer than 4 (with 2 or 3 it keeps one parent, whose rank-mu
    learning rate is 0, and divides by it), and a population under the default loses robustness: on the
    2-D objective of the tests, 24 samples in batches of 4 missed a loss of 1 for 1 seed in 40 with a
    population of 4, for none with 8."""
    return batch * math.ceil((4 + math.floor(3 * math.log(max(dimensions, 1)))) / batch)


def _cma_parameters(space: SearchSpace) -> list[str]:
    """The parameters ``CmaEsSampler`` searches: the numeric ones of more than one value."""
    return [
        p.name
        for p in space.parameters
        if isinstance(p.distribution, FloatDistribution | IntDistribution) and not p.distribution.single()
    ]


class _MoCmaEsTuner:
    """MO-CMA-ES from deap, one generation per batch.

    Each trial records its batch and its point (``user_attrs``); its parameters are the point
    clipped to the unit cube, mapped onto the search space."""

    def __init__(self, space: SearchSpace, objectives: int, batch: int) -> None:
        if batch < 2:
            raise TaskInputError("PARALLEL_SAMPLES_PER_LOOP", "MOCMAES needs at least 2 samples per loop")
        self.objectives = objectives
        self._space = space
        self._batch = batch
        self._fitness = type("Fitness", (base.Fitness,), {"weights": (-1.0,) * objectives})
        self._rng: dict[str, Any] | None = None
        self._strategy: cma.StrategyMultiObjective | None = None
        self._pending: list[Any] = []  # the individuals of the batch asked and not told yet
        self._penalised = tools.ClosestValidPenalty(_inside, _closest, PENALTY, _squared_distance)

    def sampler(self, seed: int) -> BaseSampler:
        """Unused for parameters (every trial's are fixed); seeds the strategy's random draws."""
        self._rng = np.random.RandomState(seed).get_state(legacy=False)
        return RandomSampler(seed=seed)

    def budget(self, wanted: int) -> int:
        return wanted

    def resume(self, study: optuna.Study) -> None:
        """Rebuild the strategy from the recorded batches (all finished)."""
        batches: dict[int, list[FrozenTrial]] = {}
        for trial in study.get_trials(deepcopy=False):
            batches.setdefault(int(trial.user_attrs["batch"]), []).append(trial)
        for number in sorted(batches):
            recorded = batches[number]
            self._pending = self._generate()
            for individual, trial in zip(self._pending, recorded, strict=True):
                if not np.allclose(list(individual), trial.user_attrs["point"], rtol=0, atol=1e-12):
                    raise TaskInputError(
                        "Multi_Tuners_AutoML", "the MO-CMA-ES replay differs from the journal"
                    )
            self._update(study, [trial.number for trial in recorded])

    def ask(self, study: optuna.Study, count: int) -> list[int]:
        assert count == self._batch, "a MO-CMA-ES batch is a generation"
        self._pending = self._generate()
        batch = len({t.user_attrs["batch"] for t in study.get_trials(deepcopy=False)})
        storage = study._storage  # a trial with its point and parameters in one journal entry
        study_id = storage.get_study_id_from_name(study.study_name)
        numbers = []
        for individual in self._pending:
            point = [float(x) for x in individual]
            template = create_trial(
                state=TrialState.RUNNING,
                params=self._space.from_unit(point),
                distributions=self._space.distributions(),
                user_attrs={"batch": batch, "point": point},
            )
            trial_id = storage.create_new_trial(study_id, template_trial=template)
            numbers.append(storage.get_trial_number_from_id(trial_id))
        return numbers

    def tell(self, study: optuna.Study, losses: Mapping[int, Losses | None]) -> None:
        for number, values in sorted(losses.items()):
            if values is None:
                study.tell(number, state=TrialState.FAIL)
            else:
                study.tell(number, list(values))
        self._update(study, sorted(losses))

    def _generate(self) -> list[Any]:
        if self._strategy is None:  # the first generation: the initial population
            return [
                self._individual(x)
                for x in self._draw(
                    lambda: np.random.uniform(0, 1, (self._batch, len(self._space.parameters)))
                )
            ]
        strategy = self._strategy
        return list(self._draw(lambda: strategy.generate(self._individual)))

    def _update(self, study: optuna.Study, numbers: Sequence[int]) -> None:
        """Give the pending generation the losses its trials ``numbers`` recorded (a failed sample's: worse
        than any recorded up to then) and update the strategy."""
        trials = study.get_trials(deepcopy=False)
        worst = _worst(trials[: max(numbers) + 1], self.objectives)
        for individual, number in zip(self._pending, numbers, strict=True):
            recorded = _losses(trials[number]) or worst
            individual.fitness.values = self._penalised(lambda _closest, v=recorded: v)(individual)
        if self._strategy is None:
            self._strategy = cma.StrategyMultiObjective(
                self._pending, sigma=SIGMA, mu=self._batch, lambda_=self._batch
            )
        else:
            strategy, pending = self._strategy, self._pending
            self._draw(lambda: strategy.update(pending))
        self._pending = []

    def _individual(self, values: Sequence[float]) -> Any:
        individual = _Individual(values)
        individual.fitness = self._fitness()
        return individual

    def _draw(self, make: Callable[[], Any]) -> Any:
        """``make()`` with numpy's global random state (what deap draws from) set to this strategy's."""
        assert self._rng is not None, "sampler() seeds the strategy first"
        saved = np.random.get_state(legacy=False)
        np.random.set_state(self._rng)
        try:
            return make()
        finally:
            self._rng = np.random.get_state(legacy=False)
            np.random.set_state(saved)


class _Individual(list[float]):
    fitness: base.Fitness


def _inside(individual: Sequence[float]) -> bool:
    return all(0.0 <= x <= 1.0 for x in individual)


def _closest(individual: Sequence[float]) -> list[float]:
    return [min(max(x, 0.0), 1.0) for x in individual]


def _squared_distance(closest: Sequence[float], individual: Sequence[float]) -> float:
    return float(sum((a - b) ** 2 for a, b in zip(closest, individual, strict=True)))


def _losses(trial: FrozenTrial) -> Losses | None:
    return None if trial.state is not TrialState.COMPLETE or trial.values is None else tuple(trial.values)


def _worst(trials: Sequence[FrozenTrial], objectives: int) -> Losses:
    """A failed sample's losses for MO-CMA-ES: 1 more than the worst loss of ``trials``, per objective."""
    done = [t.values for t in trials if t.state is TrialState.COMPLETE and t.values]
    return tuple(max((v[i] for v in done), default=0.0) + 1.0 for i in range(objectives))


def _qmc(seed: int) -> QMCSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since optuna 3.0
        return QMCSampler(scramble=True, seed=seed, warn_independent_sampling=False)


def make_tuner(algorithm: str, space: SearchSpace, batch: int, objectives: int) -> Tuner:
    """The tuner ``TUNING_ALGORITHM`` names."""
    if algorithm == "MOCMAES":
        if objectives < 2:
            raise TaskInputError("OBJECTIVES", "MOCMAES optimises 2 objectives or more (LOSS is then a list)")
        return _MoCmaEsTuner(space, objectives, batch)
    if objectives != 1:
        raise TaskInputError(
            "TUNING_ALGORITHM", f"{algorithm} optimises one loss: use MOCMAES for {objectives}"
        )
    if algorithm == "CMAES":
        return _CmaEsTuner(space, batch)
    if algorithm == "Grid":
        return _GridTuner(space)
    samplers: dict[str, Callable[[int], BaseSampler]] = {
        "Bayes": lambda seed: TPESampler(seed=seed),
        "Random": lambda seed: RandomSampler(seed=seed),
        # QMC's sequence goes on from its position, kept in the study; only its first trial is random.
        "QuasiRandom": _qmc,
    }
    if algorithm not in samplers:
        raise TaskInputError("TUNING_ALGORITHM", f"{algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    return _OptunaTuner(space, samplers[algorithm])

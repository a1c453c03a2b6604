"""The planner: what users do with plans, and the thread that submits their workflows when it is time.

Each turn (:meth:`Planner.tick`, the thread's step and the tests' seam, with the clock injected) takes
the plans whose next time has come, works out which times to run under the plan's policy for missed
times, claims them while moving the plan's next time on (one transaction, compare-and-set: another
planner on the same database that read the same plan claims nothing), then submits each as the plan's
owner, with the owner's rights at that moment, and records its job or why there is none.

A time is *missed* when it is more than ``late_after`` seconds past when a planner first sees it: no
planner was running then (a server outage). ``skip`` (the default) runs none of them, ``run-once``
runs the latest, ``run-all`` runs them all up to :data:`MAX_CATCH_UP` (the latest ones); the others
are recorded as one skipped run. A claim whose planner stopped before recording the outcome is taken
over after :data:`CLAIM_LEASE` seconds: its job is found by the submission key it was stored with,
else it is submitted then (or, missed under ``skip``, recorded as failed).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from itertools import islice, takewhile
from types import TracebackType

import sqlalchemy as sa

from runyard.auth import User
from runyard.credentials import Vault
from runyard.errors import InvalidRequestError, RunyardError, WorkflowError
from runyard.planner import plans as store
from runyard.planner import runs
from runyard.planner.plans import MAX_PLANS_PER_OWNER, Plan, PlanDraft
from runyard.planner.runs import Run
from runyard.planner.schedule import ScheduleSpec, read_schedule
from runyard.planner.submission import read_as_owner
from runyard.platform import Platform
from runyard.store.submission_keys import job_of_key

log = logging.getLogger(__name__)

LATE_AFTER = 60.0
"""Seconds past its time after which a time not handled yet counts as missed."""
MAX_CATCH_UP = 100
"""Missed times ``run-all`` runs at most (the latest ones)."""
MAX_LOOK_BACK = 10_000
"""Missed times counted at most (an outage of a plan running every minute for weeks)."""
CLAIM_LEASE = 120.0
"""Seconds after which a claimed run its planner never finished is taken over."""
MAX_SLEEP = 30.0
"""Longest wait between turns (plans another server's users made or changed are seen by then)."""
RETRY_AFTER = 5.0
"""Seconds before the turn after one that failed (the store unreachable)."""
SUBMIT_TIMEOUT = 60.0
"""Seconds to wait for the scheduler to store a planned job."""
MAX_PREVIEW = 100
"""Next times a preview answers at most."""
_DUE_PER_TURN = 100


class Planner:
    """``with Planner(platform, vault):`` runs the thread; the commands work without it."""

    def __init__(
        self,
        platform: Platform,
        vault: Vault,
        *,
        clock: Callable[[], float] = time.time,
        late_after: float = LATE_AFTER,
    ) -> None:
        self.platform, self.vault, self.clock, self.late_after = platform, vault, clock, late_after
        self._engine: sa.Engine = platform.engine
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-planner", daemon=True)
        self._recovered_at: float | None = None

    def __enter__(self) -> Planner:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=SUBMIT_TIMEOUT)

    # What users do (rights checked in runyard.planner.plans: the owner or an admin).

    def create(self, user: User, draft: PlanDraft) -> Plan:
        """A plan owned by ``user``, its workflow and variables checked as a submission would be."""
        now = self.clock()
        next_at = self._check(user.name, draft, now)
        with self._engine.begin() as connection:
            if store.count_plans(connection, user.name) >= MAX_PLANS_PER_OWNER:
                raise InvalidRequestError(f"a user has at most {MAX_PLANS_PER_OWNER} plans")
            plan = store.insert_plan(connection, user.name, draft, next_at=next_at, now=now)
        self._wake.set()
        return plan

    def update(self, user: User, plan_id: int, draft: PlanDraft) -> Plan:
        """Replace what the plan submits and when (checked as its owner); its next time starts from now."""
        now = self.clock()
        owner = self.get(user, plan_id).owner
        next_at = self._check(owner, draft, now)
        with self._engine.begin() as connection:
            plan = store.replace_plan(connection, user, plan_id, draft, next_at=next_at, now=now)
        self._wake.set()
        return plan

    def pause(self, user: User, plan_id: int) -> Plan:
        """Nothing is submitted until :meth:`resume`; the times in between are not run."""
        with self._engine.begin() as connection:
            plan = store.get_plan(connection, user, plan_id)
            return store.set_paused(
                connection, user, plan_id, paused=True, next_at=plan.next_at, now=self.clock()
            )

    def resume(self, user: User, plan_id: int) -> Plan:
        """Run again from the next time after now."""
        now = self.clock()
        with self._engine.begin() as connection:
            plan = store.get_plan(connection, user, plan_id)
            next_at = _first(plan.read_schedule().next_times(now, 1))
            plan = store.set_paused(connection, user, plan_id, paused=False, next_at=next_at, now=now)
        self._wake.set()
        return plan

    def delete(self, user: User, plan_id: int) -> None:
        """The plan and its runs (the jobs it submitted stay)."""
        with self._engine.begin() as connection:
            store.delete_plan(connection, user, plan_id)

    def get(self, user: User, plan_id: int) -> Plan:
        with self._engine.connect() as connection:
            return store.get_plan(connection, user, plan_id)

    def plans(self, user: User, owner: str | None = None, *, limit: int, after_id: int = 0) -> list[Plan]:
        with self._engine.connect() as connection:
            return store.list_plans(connection, user, owner, limit=limit, after_id=after_id)

    def runs(self, user: User, plan_id: int, *, limit: int, before: float | None = None) -> list[Run]:
        with self._engine.connect() as connection:
            store.get_plan(connection, user, plan_id)
            return runs.list_runs(connection, plan_id, limit=limit, before=before)

    def next_times(self, user: User, plan_id: int, count: int) -> list[float]:
        """The plan's next ``count`` times (none while it is paused)."""
        plan = self.get(user, plan_id)
        if plan.paused or plan.next_at is None:
            return []
        return plan.read_schedule().next_times(plan.next_at - 1e-6, min(count, MAX_PREVIEW))

    def preview(self, spec: ScheduleSpec, count: int) -> list[float]:
        """The next ``count`` times of a schedule not saved yet (``InvalidRequestError`` if it is wrong)."""
        return read_schedule(spec).next_times(self.clock(), min(count, MAX_PREVIEW))

    def _check(self, owner: str, draft: PlanDraft, now: float) -> float:
        """The plan's first time; refused if its schedule has none, its workflow cannot be read by
        ``owner`` or its variables would refuse a submission."""
        next_at = _first(read_schedule(draft.schedule).next_times(now, 1))
        if next_at is None:
            raise InvalidRequestError("schedule: it has no time after now")
        with self._engine.connect() as connection:
            found = read_as_owner(connection, self.vault, owner, draft.bucket, draft.workflow, draft.revision)
        self.platform.prepare(
            found.workflow,
            draft.variables,
            draft.generic_information,
            owner=owner,
            credentials=found.credentials,
        )
        return next_at

    # The thread.

    def wake(self) -> None:
        """Look at the plans again now (one was made or changed)."""
        self._wake.set()

    def tick(self) -> None:
        """One turn: stale claims taken over (at most every ``CLAIM_LEASE`` seconds), due plans run."""
        now = self.clock()
        if self._recovered_at is None or now - self._recovered_at >= CLAIM_LEASE:
            self._recovered_at = now
            self._recover(now)
        with self._engine.connect() as connection:
            due = store.due_plans(connection, now, _DUE_PER_TURN)
        for plan in due:
            self._handle(plan, now)

    def _loop(self) -> None:
        recovered = self.platform.scheduler.recovered  # nothing is decided before: submit nothing either
        recovered.add_done_callback(lambda _: self._wake.set())
        while not self._stopping.is_set():
            if not recovered.done():  # a submission would wait for it (SUBMIT_TIMEOUT) and be left claimed
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                self.tick()
                with self._engine.connect() as connection:
                    earliest = store.earliest_next(connection)
                wait = MAX_SLEEP if earliest is None else min(MAX_SLEEP, max(0.01, earliest - self.clock()))
            except Exception:  # the store is down, or a bug: the thread must outlive both
                log.exception("planner turn failed; trying again in %s s", RETRY_AFTER)
                wait = RETRY_AFTER
            self._wake.wait(wait)
            self._wake.clear()

    def _handle(self, plan: Plan, now: float) -> None:
        assert plan.next_at is not None
        try:
            schedule = plan.read_schedule()
        except InvalidRequestError as error:  # stored valid, unreadable now (a time zone gone from tzdata)
            with self._engine.begin() as connection:
                if store.advance(connection, plan, None):
                    runs.claim(connection, plan.id, [plan.next_at], now=now)
                    runs.finish(connection, plan.id, plan.next_at, now=now, error=f"not submitted: {error}")
            return
        later = takewhile(lambda t: t <= now, schedule.times(plan.next_at))
        times = [plan.next_at, *islice(later, MAX_LOOK_BACK - 1)]
        missed = [t for t in times if now - t > self.late_after]
        on_time = times[len(missed) :]
        kept = {"skip": 0, "run-once": 1, "run-all": MAX_CATCH_UP}[plan.missed]
        split = max(0, len(missed) - kept)
        skipped, run = missed[:split], missed[split:] + on_time
        try:
            with self._engine.begin() as connection:
                if not store.advance(connection, plan, _first(schedule.next_times(now, 1))):
                    return  # another planner handled these times, or the plan changed meanwhile
                runs.claim(connection, plan.id, run, now=now)
                runs.record_skipped(connection, plan.id, skipped, _skipped(skipped, plan), now=now)
        except sa.exc.IntegrityError:
            log.warning("plan %s: its times were claimed by another planner", plan.id)
            return
        for at in run:
            self._submit(plan, at)

    def _submit(self, plan: Plan, at: float) -> None:
        """Submit the claimed time ``at`` as the plan's owner; record the job or the reason."""
        try:
            with self._engine.connect() as connection:
                found = read_as_owner(
                    connection, self.vault, plan.owner, plan.bucket, plan.workflow, plan.revision
                )
            stored = self.platform.submit_later(
                found.workflow,
                plan.variables,
                plan.generic_information,
                owner=plan.owner,
                credentials=found.credentials,
                submission_key=_key(plan.id, at),
            )
            job_id, error = stored.result(timeout=SUBMIT_TIMEOUT).id, None
        except concurrent.futures.TimeoutError:
            return  # left claimed: taken over later, its job found by its key if it was stored
        except WorkflowError as problem:
            job_id, error = None, f"refused: {problem}"
        except RunyardError as problem:
            job_id, error = None, f"not submitted: {problem}"
        except Exception as problem:  # a bug: recorded, so that the claim is not taken over again and again
            log.exception("plan %s: submitting the time %s failed", plan.id, at)
            job_id, error = None, f"not submitted: internal error ({type(problem).__name__})"
        with self._engine.begin() as connection:
            runs.finish(connection, plan.id, at, now=self.clock(), job_id=job_id, error=error)

    def _recover(self, now: float) -> None:
        with self._engine.connect() as connection:
            stale = runs.stale_claims(connection, claimed_before=now - CLAIM_LEASE)
        for run in stale:
            with self._engine.begin() as connection:
                plan = store.find_plan(connection, run.plan_id)
                if plan is None or not runs.reclaim(connection, run, now=now):
                    continue
                key = _key(plan.id, run.scheduled_at)  # kept by the scheduler's clock:
                known = job_of_key(connection, plan.owner, key, now=self.platform.scheduler.clock())
                late = now - run.scheduled_at > self.late_after
                if known is None and late and plan.missed == "skip":
                    error = "not submitted: the planner stopped while submitting it, and it is missed (skip)"
                    runs.finish(connection, plan.id, run.scheduled_at, now=now, error=error)
                    continue
                if known is not None:
                    runs.finish(connection, plan.id, run.scheduled_at, now=now, job_id=known.id)
                    continue
            self._submit(plan, run.scheduled_at)


def _first(times: list[float]) -> float | None:
    return times[0] if times else None


def _key(plan_id: int, at: float) -> str:
    """The submission key of a plan's time: finds its job after a crash."""
    return f"plan:{plan_id}:{at!r}"


def _skipped(times: list[float], plan: Plan) -> str:
    counted = f"{len(times)}" if len(times) < MAX_LOOK_BACK else f"{MAX_LOOK_BACK} or more"
    return f"{counted} times missed while no planner ran, not run (policy {plan.missed})"

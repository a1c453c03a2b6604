"""The job planner: catalog workflows submitted on a schedule (a cron expression or a calendar), as
their owner, durably (docs/job-planner.md)."""

from runyard.planner.planner import LATE_AFTER as LATE_AFTER
from runyard.planner.planner import MAX_CATCH_UP as MAX_CATCH_UP
from runyard.planner.planner import Planner as Planner
from runyard.planner.plans import MISSED_POLICIES as MISSED_POLICIES
from runyard.planner.plans import Missed as Missed
from runyard.planner.plans import Plan as Plan
from runyard.planner.plans import PlanDraft as PlanDraft
from runyard.planner.runs import Run as Run
from runyard.planner.schedule import MAX_DATES as MAX_DATES
from runyard.planner.schedule import MAX_EXCLUSIONS as MAX_EXCLUSIONS
from runyard.planner.schedule import Schedule as Schedule
from runyard.planner.schedule import ScheduleSpec as ScheduleSpec
from runyard.planner.schedule import read_schedule as read_schedule

__all__ = [
    "LATE_AFTER",
    "MAX_CATCH_UP",
    "MAX_DATES",
    "MAX_EXCLUSIONS",
    "MISSED_POLICIES",
    "Missed",
    "Plan",
    "PlanDraft",
    "Planner",
    "Run",
    "Schedule",
    "ScheduleSpec",
    "read_schedule",
]

"""The planner's public names, listed once in ``runyard.planner``."""

from __future__ import annotations

from runyard import planner

PUBLIC = [
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


def test_the_public_names_are_pinned_and_sorted() -> None:
    assert planner.__all__ == PUBLIC
    assert all(hasattr(planner, name) for name in PUBLIC)

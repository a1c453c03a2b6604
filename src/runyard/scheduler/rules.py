"""The settings the scheduler's core decides with (logged at each start, so that a replay uses them)."""

from __future__ import annotations

from dataclasses import dataclass

from runyard.settings import JobLimits, Settings


@dataclass(frozen=True)
class Rules:
    """The settings the core decides with."""

    max_failures_per_task: int = 2
    selection_retry_delay: float = 1.0
    job_limits: JobLimits | None = None

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(settings.max_failures_per_task, settings.selection_retry_delay, settings.job_limits)

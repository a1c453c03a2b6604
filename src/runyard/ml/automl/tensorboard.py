"""TensorBoard logging of a tuner's trials: each trial's losses and numeric parameters as scalars (step =
trial number), in the log folder of the Tensorboard service instance ``TENSORBOARD_INSTANCE_NAME`` (what
it shows: its ``MOUNT_LOG_PATH``, else its instance folder's ``logs``), one run per tuner job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tensorboardX import SummaryWriter

from runyard.client import Client
from runyard.ml.errors import TaskInputError
from runyard.ml.services import running_instance
from runyard.services import launch


def log_folder(client: Client, instance_name: str, log_path: str) -> Path:
    """Where the Tensorboard instance named ``instance_name`` reads its event files (the newest running
    one of that name), else ``log_path``."""
    instance = running_instance(client, "Tensorboard", instance_name)
    if instance is not None:
        mount = instance["variables"].get("MOUNT_LOG_PATH")
        if mount:
            return Path(mount)
        return (
            launch.service_dir({"PCA_INSTANCE_ID": instance["id"], "INSTANCE_NAME": instance_name}) / "logs"
        )
    if log_path:
        return Path(log_path)
    raise TaskInputError(
        "TENSORBOARD_INSTANCE_NAME",
        f"no running Tensorboard service instance is named {instance_name!r}: start one (runyard service "
        f"start Tensorboard --var INSTANCE_NAME={instance_name}) or give TENSORBOARD_LOG_PATH",
    )


class TrialLog:
    """Scalars of the trials of one tuner job, under ``folder/run``."""

    def __init__(self, folder: Path, run: str) -> None:
        self.path = folder / run
        self._writer = SummaryWriter(logdir=str(self.path))

    def record(self, number: int, losses: tuple[float, ...] | None, values: Mapping[str, Any]) -> None:
        if losses is not None:
            for i, loss in enumerate(losses):
                self._writer.add_scalar("loss" if len(losses) == 1 else f"loss/{i}", loss, number)
        for name, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._writer.add_scalar(f"parameters/{name}", value, number)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

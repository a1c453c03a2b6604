"""The tuner's start: its task imports what the search needs, not the server's store (SQLAlchemy, 0.1 s of
CPU) nor TensorBoard's writer unless the search logs there."""

from __future__ import annotations

import subprocess
import sys


def test_the_tuner_task_imports_neither_the_store_nor_tensorboard() -> None:
    probe = (
        "import sys; from runyard.ml.automl import tune; "
        "print(sorted(m for m in ('sqlalchemy', 'tensorboardX') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"

"""The task-side APIs cost a task that never touches them nothing: making them imports no HTTP client."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from runyard.nodes import executor
from runyard.taskapi import TaskApis
apis = TaskApis({"PA_JOB_ID": "1"}, userspace="/nowhere")
apis.close()
print(sorted(apis), "httpx" in sys.modules, "runyard.client" in sys.modules)
"""


def test_making_the_apis_imports_no_client() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    names = "['globalspaceapi', 'rmapi', 'schedulerapi', 'signalapi', 'synchronizationapi', 'userspaceapi']"
    assert done.stdout.strip() == f"{names} False False"

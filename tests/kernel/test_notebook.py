"""The example notebook of the docs, run end to end with nbclient on the runyard kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kernel.conftest import kernel_environment
from support.server import LiveServer

NOTEBOOK = Path(__file__).parents[2] / "docs" / "notebooks" / "replicate-tour.ipynb"


def test_the_example_notebook_runs(
    server: LiveServer,
    user: tuple[str, str],
    jupyter_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in kernel_environment(tmp_path, RUNYARD_URL=server.url, RUNYARD_TOKEN=user[1]).items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    NotebookClient(
        notebook, timeout=120, kernel_name="runyard", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = {
        cell.source.splitlines()[0]: cell.outputs for cell in notebook.cells if cell.cell_type == "code"
    }
    assert f"as {user[0]}" in outputs["#%connect()"][0]["text"]
    assert "image/svg+xml" in outputs["#%draw_job()"][0]["data"]
    results = "".join(output["text"] for output in outputs["#%get_job_result()"])
    assert "(FINISHED)" in results and "Total: 9" in results and "Measure*3: 3" in results
    assert outputs["#%print_task_output(task_name=Total)"][0]["text"].strip() == "total 9"

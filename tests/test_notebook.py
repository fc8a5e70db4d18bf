"""The exploration notebook runs from top to bottom against the package's code."""

from __future__ import annotations

import time
from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "exploration.ipynb"
BUDGET_SECONDS = 60


def test_exploration_notebook_executes_without_errors(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel runs in an empty folder, so the notebook can rely on nothing but
    # the installed package.
    client = nbclient.NotebookClient(
        notebook,
        timeout=BUDGET_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )

    started = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the failing cell
    elapsed = time.perf_counter() - started

    assert elapsed < BUDGET_SECONDS, f"the notebook took {elapsed:.0f} s"
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 3, "the timeline, feature and explanation plots"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]

    assert code and all(
        not cell.outputs and cell.execution_count is None for cell in code
    )

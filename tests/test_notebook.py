"""examples/rbac_tour.ipynb runs top to bottom in a Jupyter kernel, and its results draw as HTML tables."""

from __future__ import annotations

import json
import sys

import pytest
from rbac_testing import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = ROOT / "examples" / "rbac_tour.ipynb"
KERNEL = "milvus-rbac-tests"


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec running this interpreter (the one with milvus_rbac installed), whatever `python` is on PATH."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    return KERNEL


def html_outputs(cell):
    return [output["data"]["text/html"] for output in cell.get("outputs", []) if "text/html" in output.get("data", {})]


def test_the_tour_runs_and_draws_tables(kernel_name, tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name=kernel_name, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.km = client.create_kernel_manager()
        client.start_new_kernel()
        client.start_new_kernel_client()
    except Exception as error:  # no kernel here (no ZeroMQ, no sockets): nothing to test it with
        pytest.skip(f"a Jupyter kernel cannot start: {error!r}")
    client.execute()  # a failing cell raises CellExecutionError, naming it
    cells = {cell.source: cell for cell in notebook.cells if cell.cell_type == "code"}
    overview = html_outputs(cells["client"])
    assert len(overview) == 1
    assert "<td>alice</td><td>reader</td>" in overview[0]
    assert "<strong>role reader</strong>: reads the books collection" in overview[0]
    assert "<td>CollectionReadOnly</td>" in overview[0]
    [user] = html_outputs(cells['client.describe_user(user_name="alice")'])
    assert "<td>alice</td><td>reader</td>" in user
    [role] = html_outputs(cells['client.describe_role(role_name="reader")'])
    assert "<td>Global</td><td>books</td><td>default</td><td>CollectionReadOnly</td><td>root</td>" in role
    [groups] = html_outputs(cells["client.list_privilege_groups()[:4]"])
    assert "<th>privilege group</th>" in groups
    printed = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "alice may search books: True\nbob may search books: False" in printed
    assert "65535 PrivilegeCreateOwnership: permission deny to bob" in printed
    assert "['admin', 'public', 'writer']" in printed


def test_the_tour_is_stored_without_outputs():
    """The notebook in the repository is clean: outputs come from running it."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")

"""Run the example notebooks and save them with their outputs, so that every bokeh_nb output
carries a current snapshot wherever the notebook is opened (a code host, nbviewer, an
nbconvert export; docs/snapshots.md).

    .venv/bin/python scripts/refresh_notebooks.py              # every notebook in notebooks/
    .venv/bin/python scripts/refresh_notebooks.py 01_quickstart.ipynb

Each notebook runs headless (nbclient, the way nbconvert --execute runs it), in notebooks/ so
its relative paths hold. The kernel writes the snapshots itself, in the same format a
JupyterLab save writes (``bokeh_nb/kernel/headless.py``), and the result does not depend on
a browser: no server URLs, kernel ids or share tokens end up in the committed outputs, and
no ipywidgets state is stored (an export would load its manager from a CDN).
``tests/browser/test_notebooks.py`` checks the committed result.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


#: The snapshot bound for committed notebooks: a larger document (10_large_data's million
#: points, about 20 MB of snapshot) is committed with the note that says so, to keep the
#: repository small.
COMMITTED_LIMIT = 8 * 1024 * 1024
SETUP = f"import bokeh_nb\nbokeh_nb.snapshot_limit({COMMITTED_LIMIT})"


def refresh(path: Path) -> int:
    """Run one notebook in place; returns its new size in bytes."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP))  # run first, not saved
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    client.execute()
    del nb.cells[0]
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.execution_count:
            cell.execution_count -= 1
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.execution_count = cell.execution_count
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return path.stat().st_size


def main(names: list[str]) -> int:
    paths = [NOTEBOOKS / n for n in names] if names else sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        started = time.monotonic()
        size = refresh(path)
        took = time.monotonic() - started
        print(f"{path.name}: {size:,} bytes ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

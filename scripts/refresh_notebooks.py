"""Run the example notebooks and save them with their outputs, so that every bokeh_nb output
carries a current snapshot and a picture wherever the notebook is opened (a code host,
nbviewer, an nbconvert export; docs/snapshots.md).

    .venv/bin/python scripts/refresh_notebooks.py              # every notebook in notebooks/
    .venv/bin/python scripts/refresh_notebooks.py 01_quickstart.ipynb
    .venv/bin/python scripts/refresh_notebooks.py --headless   # without a browser

By default each notebook runs in a real JupyterLab, in Chromium (``/usr/bin/chromium``,
driven by Playwright through the browser tests' harness, ``tests/browser/jupyter.py``), from
a copy of notebooks/ so its relative paths hold, and is saved there: the save writes each
output's snapshot and its ``image/png`` (``labextension/src/snapshot.ts``, ``png.ts``). With
``--headless`` it runs without a page (nbclient, the way nbconvert --execute runs it): the
kernel writes the snapshots, and outputs get no picture.

Either way no server URL, kernel id or token ends up in the committed outputs (the script
replaces them and fails if one is left), no ipywidgets state is stored (an export would
load its manager from a CDN), and cell sources stay as they are.
``tests/browser/test_notebooks.py`` checks the committed result.

The shipped notebooks carry the newest bokeh *release* (``tests/kernel_env.py``
``SUPPORTED[0]``): where ``./dev.sh`` installed a pre-release, install that release in
``.venv`` first (``pip install bokeh==<it>``), or the script refuses.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: The snapshot bound for committed notebooks: a larger document (10_large_data's million
#: points, about 20 MB of snapshot) is committed with the note that says so (and its
#: picture), to keep the repository small.
COMMITTED_LIMIT = 8 * 1024 * 1024
SETUP = f"import bokeh_nb\nbokeh_nb.snapshot_limit({COMMITTED_LIMIT})"
OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
#: What a URL of the Jupyter server that ran the notebook reads as in committed outputs.
URL_PLACEHOLDER = "<a URL of the Jupyter server that ran this notebook>"


def with_setup(nb: Any) -> Any:
    """The notebook with the setup cell first (run, then dropped) and no outputs."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def without_setup(nb: Any) -> Any:
    """Drop the setup cell again and number the cells as if it had never run."""
    del nb.cells[0]
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.execution_count:
            cell.execution_count -= 1
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.execution_count = cell.execution_count
    nb.metadata.pop("widgets", None)
    return nb


def refresh_headless(path: Path) -> int:
    """Run one notebook in place without a page; returns its new size in bytes."""
    nb = with_setup(nbformat.read(path, as_version=4))
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    client.execute()
    nbformat.write(without_setup(nb), path)
    return path.stat().st_size


def scrub(nb: Any, secrets: dict[str, str]) -> None:
    """Replace each secret (a URL prefix, kernel id or token) in every output, and fail if
    one is left; a bokeh_nb output keeps its snapshot, not its ipywidgets view."""
    patterns = [(re.compile(re.escape(k) + (r"[^\s\"'<>]*" if k.startswith("http") else "")), v)
                for k, v in secrets.items()]  # fmt: skip

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            for pattern, replacement in patterns:
                value = pattern.sub(replacement, value)
            return value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = output.get("data", {})
            if OUTPUT_MIME in data:
                data.pop(WIDGET_VIEW_MIME, None)
            outputs.append(nbformat.from_dict(clean(output)))
        cell.outputs = outputs
        left = [k for k in secrets if k in json.dumps(outputs)]
        assert not left, f"an output still holds {len(left)} server URL, kernel id or token"


def refresh_in_lab(paths: list[Path], report: Callable[[Path, int, float], None]) -> None:
    """Run each notebook in JupyterLab in Chromium, save it there, write it back."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.browser.jupyter import (
        PageLog,
        cell_count,
        instrument_context,
        open_notebook,
        run_cell,
        save_notebook,
        start_jupyter_server,
        stop_jupyter_server,
    )
    from tests.browser.plugin import CHROMIUM, CHROMIUM_ARGS

    base = Path(tempfile.mkdtemp(prefix="bokeh-nb-refresh-"))
    server = start_jupyter_server("lab", base)
    try:
        # every output laid out when the notebook is saved, so each gets its picture
        settings = base / "config" / "lab" / "user-settings" / "@jupyterlab"
        tracker = settings / "notebook-extension" / "tracker.jupyterlab-settings"
        tracker.parent.mkdir(parents=True, exist_ok=True)
        tracker.write_text(json.dumps({"windowingMode": "none"}))
        shutil.copytree(NOTEBOOKS, server.root_dir, dirs_exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for path in paths:
                    started = time.monotonic()
                    copy = server.root_dir / path.name
                    nbformat.write(with_setup(nbformat.read(path, as_version=4)), copy)
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    instrument_context(context, PageLog())
                    page = context.new_page()
                    try:
                        open_notebook(page, server, path.name)
                        # one cell at a time, as a person runs them: what a cell's page
                        # answers (app.url, a share link) is there for the next cell
                        for index in range(cell_count(page)):
                            assert run_cell(page, index, timeout=600), f"{path.name}: cell {index}"
                            page.wait_for_timeout(300)
                        settle(page)
                        save_notebook(page)
                        kernels = [k["id"] for k in server.api("GET", "api/kernels")]
                    finally:
                        context.close()
                    for kernel in kernels:
                        server.api("DELETE", f"api/kernels/{kernel}")
                    nb = without_setup(nbformat.read(copy, as_version=4))
                    secrets = {server.origin: URL_PLACEHOLDER, server.token: "<token>"}
                    secrets |= {k: "<kernel id>" for k in kernels}
                    scrub(nb, secrets)
                    nbformat.write(nb, path)
                    report(path, path.stat().st_size, time.monotonic() - started)
            finally:
                browser.close()
    finally:
        stop_jupyter_server(server)
        shutil.rmtree(base, ignore_errors=True)


def settle(page: Any, timeout: float = 120.0) -> None:
    """Wait until every live bokeh_nb output has drawn its document (bounded)."""
    deadline = time.monotonic() + timeout
    views = page.locator(".bokeh-nb-output")
    while time.monotonic() < deadline:
        total = views.count()
        drawn = page.locator(".bokeh-nb-output[data-bokeh-nb-rendered='true']").count()
        if drawn >= total:
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(1000)  # BokehJS paints on its next frames


def main(argv: list[str]) -> int:
    import bokeh

    sys.path.insert(0, str(ROOT))
    from tests import kernel_env

    release = kernel_env.SUPPORTED[0]
    if bokeh.__version__ != release:
        print(
            f"refresh_notebooks: the shipped notebooks carry bokeh {release}, the newest "
            f"release; this environment has bokeh {bokeh.__version__}: "
            f'pip install "bokeh=={release}" first',
            file=sys.stderr,
        )
        return 2
    headless = "--headless" in argv
    names = [a for a in argv if a != "--headless"]
    paths = [NOTEBOOKS / n for n in names] if names else sorted(NOTEBOOKS.glob("*.ipynb"))

    def report(path: Path, size: int, took: float) -> None:
        print(f"{path.name}: {size:,} bytes ({took:.0f} s)", flush=True)

    if headless:
        for path in paths:
            started = time.monotonic()
            report(path, refresh_headless(path), time.monotonic() - started)
    else:
        refresh_in_lab(paths, report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Every example notebook in notebooks/, run in JupyterLab as a user would run it.

Each notebook is opened from a fresh copy of notebooks/ (with its apps/ and data/, which the
notebooks reach by relative paths) in the lab server's root and run with *Run All*. The test
fails on any error or stderr output, on any bokeh_nb output that did not render (or showed
an error box), and on any browser console error. Some notebooks promise more, and that is
checked in the page too (see ``EXTRA_CHECKS``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Page, expect

from tests import kernel_env
from tests.conftest import FIGURES

from .bokeh import bokeh_output, kernel_json
from .jupyter import (
    JupyterServer,
    assert_no_console_errors,
    assert_no_foreign_requests,
    cell_count,
    cell_output,
    cell_outputs,
    execute_command,
    frontend_state,
    get_cell_source,
    notebook_locator,
    open_notebook,
    run_all_cells,
    select_cell,
    wait_for_execution,
)
from .pngpixels import decode_png
from .test_headless import assert_only_template_requests_failed, open_offline

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))

#: What a BokehWidget shows as text/plain, and how ipywidgets containers name it.
BOKEH_TEXT = ("Bokeh output of bokeh_nb", "BokehWidget(")


@pytest.fixture
def examples(lab_server: JupyterServer) -> str:
    """A fresh copy of notebooks/ in the lab server's root; returns its folder name."""
    folder = f"examples-{uuid.uuid4().hex[:8]}"
    shutil.copytree(
        NOTEBOOKS_DIR,
        lab_server.root_dir / folder,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    return folder


# ---------------------------------------------------------------- generic checks


def code_cells(page: Page) -> list[int]:
    return [
        i
        for i in range(cell_count(page))
        if page.evaluate(
            "(i) => window.__harness.nb().content.model.cells.get(i).type === 'code'", i
        )
    ]


def bad_outputs(page: Page) -> list[str]:
    """Error outputs and stderr streams of every cell, as readable lines."""
    found = []
    for i in code_cells(page):
        for out in cell_outputs(page, i):
            if out.get("output_type") == "error":
                found.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append(f"cell {i} stderr: {out.get('text')}")
    return found


def expected_bokeh_outputs(page: Page) -> int:
    """How many outputs of the notebook show a BokehWidget (alone or inside ipywidgets)."""
    count = 0
    for i in code_cells(page):
        for out in cell_outputs(page, i):
            data = out.get("data", {})
            view = data.get("application/vnd.jupyter.widget-view+json")
            text = data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            # a widget closed by the notebook has no view any more (ipywidgets empties its id)
            if view and view.get("model_id") and any(t in text for t in BOKEH_TEXT):
                count += 1
    return count


def check_bokeh_outputs(page: Page) -> int:
    """Every bokeh_nb output rendered by BokehJS, none shows an error box; returns their count."""
    # every example shows at least one (inside ipywidgets its text/plain may not say so)
    expected = max(expected_bokeh_outputs(page), 1)
    views = notebook_locator(page).locator(".bokeh-nb-output")
    deadline = time.monotonic() + 60
    while views.count() < expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert views.count() >= expected, f"{expected} bokeh outputs, {views.count()} views in the page"
    for i in range(views.count()):
        views.nth(i).scroll_into_view_if_needed()
        expect(views.nth(i)).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=90_000)
    errors = notebook_locator(page).locator(".bokeh-nb-error, .bokeh-nb-missing")
    assert errors.count() == 0, "\n".join(errors.all_inner_texts())
    widget_errors = notebook_locator(page).get_by_text("Error displaying widget")
    assert widget_errors.count() == 0, "an ipywidgets output failed to display"
    return views.count()


# ---------------------------------------------------------------- what some notebooks promise


def cell_with(page: Page, text: str) -> int:
    """The index of the first code cell whose source contains text."""
    for i in code_cells(page):
        if text in get_cell_source(page, i):
            return i
    raise AssertionError(f"no cell contains {text!r}")


#: (name, column) => the length of that column of the named ColumnDataSource in the page's
#: BokehJS documents, or null
COLUMN_LENGTH = """(name, column) => {
  for (const el of document.querySelectorAll('.bokeh-nb-output')) {
    const doc = el.bokehNbModel && el.bokehNbModel.document;
    if (!doc) continue;
    const src = [...doc._all_models.values()].find(m => m.name === name);
    if (src) return src.get_column(column).length;
  }
  return null;
}"""


def browser_column_length(page: Page, source_name: str, column: str) -> int | None:
    """Length of a column of the named ColumnDataSource in the page's BokehJS documents."""
    return page.evaluate(
        f"([name, column]) => ({COLUMN_LENGTH})(name, column)", [source_name, column]
    )


def check_streaming_loop_is_live(page: Page, server: JupyterServer) -> None:
    """03: the loop cell's updates reach the page while the cell is still running."""
    index = cell_with(page, "for i in range(60)")
    select_cell(page, index)
    page.evaluate("() => window.__harness.exec('notebook:run-cell')")
    # the column's lengths while the cell runs, looked at every 10 ms by the page itself (a
    # poll from here, two calls into the page a time, is slow on a loaded machine)
    seen: list[int] = page.evaluate(
        f"""([name, column]) => new Promise((resolve) => {{
          const length = {COLUMN_LENGTH};
          const seen = [];
          const started = performance.now();
          const timer = setInterval(() => {{
            const running = window.__harness.running();
            const n = length(name, column);
            if (running && n !== null && (seen.length === 0 || seen[seen.length - 1] !== n)) {{
              seen.push(n);
            }}
            const elapsed = performance.now() - started;
            if ((!running && elapsed > 1000) || elapsed > 60000) {{
              clearInterval(timer);
              resolve(seen);
            }}
          }}, 10);
        }})""",
        ["walk", "x"],
    )
    wait_for_execution(page)
    # 60 updates of 20 points over ~3 s: the page saw many of them before the cell ended
    partial = [n for n in seen if 0 < n < 1200]
    assert len(partial) >= 10, f"lengths seen in the page while the cell ran: {seen}"
    assert partial == sorted(partial), seen
    deadline = time.monotonic() + 30
    while browser_column_length(page, "walk", "x") != 1200 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert browser_column_length(page, "walk", "x") == 1200


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)


def check_upload_process_download(page: Page, server: JupyterServer) -> None:
    """05: a real upload through FileInput, the plot, the download, refused files, and the
    uploaded table freed once the output is cleared."""
    index = cell_with(page, "bokeh_nb.show(upload_app)")
    out = bokeh_output(page, index)
    out.scroll_into_view_if_needed()
    file_input = out.locator("input[type=file]")
    file_input.set_input_files(NOTEBOOKS_DIR / "data" / "anscombe.csv")
    expect(out.get_by_text("Processed anscombe.csv: 44 rows.")).to_be_visible()
    assert browser_column_length(page, "points", "x") == 44
    assert kernel_json(page, "len(uploads)") == 1

    with page.expect_download() as download:
        out.get_by_role("button", name="Download processed CSV").click()
    assert download.value.suggested_filename == "anscombe-fitted.csv"
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "group,x,y,y_fit,residual" and len(lines) == 45, lines[:3]
    assert lines[1] == "I,10,8.04,8.001,0.039"

    for name, data, text in [
        ("photo.png", PNG, "photo.png is not a CSV file: it is not text (UTF-8)."),
        ("empty.csv", b"", "empty.csv is empty."),
        ("prices.csv", b"date,price\n2024-01-02,101.5\n", "needs the columns x and y"),
    ]:
        file_input.set_input_files({"name": name, "mimeType": "text/csv", "buffer": data})
        expect(out.get_by_text(text)).to_be_visible()
        expect(out.get_by_text("The plot still shows anscombe.csv.")).to_be_visible()
        assert browser_column_length(page, "points", "x") == 44, "the plot keeps the good upload"
    assert kernel_json(page, "len(uploads)") == 1

    clear_and_wait_upload_freed(page, index)


def clear_and_wait_upload_freed(page: Page, index: int) -> None:
    """Clear notebook 05's upload output: the session ends once its output is gone (after
    bokeh_nb's linger), and its uploaded table must be freed."""
    select_cell(page, index)
    execute_command(page, "notebook:clear-cell-output")
    deadline = time.monotonic() + 60
    while kernel_json(page, "[gc.collect(), len(uploads)][1]") != 0:
        assert time.monotonic() < deadline, "the uploaded table outlived its session"
        page.wait_for_timeout(1000)


def cell_text(page: Page, index: int) -> str:
    """The stream and text outputs of a cell, joined."""
    parts = []
    for out in cell_outputs(page, index):
        text = out.get("text") or out.get("data", {}).get("text/plain", "")
        parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)


def check_client_ran(page: Page, server: JupyterServer) -> None:
    """07: under a Jupyter server the client process really pulled a session of the app."""
    url = cell_text(page, cell_with(page, "url = await app_url(app)"))
    assert "the app is at /bokeh-nb/kernels/" in url and url.strip().endswith("/thermostat"), url
    client = cell_text(page, cell_with(page, "client = await asyncio.create_subprocess_exec"))
    assert "pulled: client.py: heating to 20.0 °C" in client, client
    assert "after the change: client.py: heating to 22.5 °C" in client, client
    kernel = cell_text(page, cell_with(page, "print(*changes"))
    assert "client.py moved the setpoint from 20 to 22.5" in kernel, kernel


def check_million_points_round_trip(page: Page, server: JupyterServer) -> None:
    """10: the send button's round trip is measured and shown, with all points in the page."""
    out = bokeh_output(page, cell_with(page, "plot_widget = bokeh_nb.BokehWidget("))
    out.scroll_into_view_if_needed()
    out.get_by_role("button", name="send a new million points").click()
    shown = out.get_by_text("the browser had all 1,000,000 points")
    expect(shown).to_be_visible(timeout=90_000)
    assert browser_column_length(page, "points", "x") == 1_000_000
    kernel_side = cell_text(page, cell_with(page, "took = send(seed=1)"))
    FIGURES.append(f"10_large_data.ipynb: {kernel_side.splitlines()[0]}; {shown.inner_text()}")


def browser_titles(page: Page) -> list[str]:
    """The texts of every plot title in the page's BokehJS documents."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.bokeh-nb-output')].flatMap(el => {
          const doc = el.bokehNbModel && el.bokehNbModel.document;
          return doc ? [...doc._all_models.values()]
            .filter(m => m.type === 'Title').map(m => m.text) : [];
        })"""
    )


def check_ipywidgets_drive_bokeh(page: Page, server: JupyterServer) -> None:
    """09: moving the ipywidgets slider in the page runs its observe callback, which changes
    the bokeh plot in the same page."""
    index = cell_with(page, "widgets.VBox([")
    handle = cell_output(page, index).locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")  # frequency 3 (set by the last cell) -> 4
    expect(cell_output(page, index).locator(".widget-readout").first).to_have_text("4")
    deadline = time.monotonic() + 30
    while "cos(4·x)" not in browser_titles(page):
        assert time.monotonic() < deadline, browser_titles(page)
        page.wait_for_timeout(100)
    assert kernel_json(page, "[frequency.value, plot.title.text]") == [4, "cos(4·x)"]


def check_dask_keeps_sessions_responsive(page: Page, server: JupyterServer) -> None:
    """11: the button's async callback runs the tasks on the Dask cluster; its session shows
    the progress task by task while the app's other session still answers at once."""
    first = bokeh_output(page, cell_with(page, 'app = bokeh_nb.App(estimator, name="dask-pi")'))
    second = bokeh_output(
        page, next(i for i in code_cells(page) if get_cell_source(page, i) == "app")
    )
    progress = first.get_by_text(re.compile(r"tasks done|^idle$"))
    first.get_by_role("button", name="Estimate π on the cluster").click()
    expect(progress).to_contain_text("of 32 tasks done")
    seen: list[str] = []
    echo_ms: list[float] = []
    handle = second.locator(".noUi-handle").nth(1)  # the echo slider (tasks is the first)
    deadline = time.monotonic() + 120
    while not (text := progress.inner_text()).startswith("32 of 32"):
        assert time.monotonic() < deadline, f"progress seen: {seen}"
        if not seen or seen[-1] != text:
            seen.append(text)
        if len(echo_ms) < 3 and not text.startswith("0 of"):
            # while the cluster works, the other session's Python callback answers
            handle.focus()
            t0 = time.perf_counter()
            handle.press("ArrowRight")
            expect(second.get_by_text(f"echo: {len(echo_ms) + 1}", exact=True)).to_be_visible()
            echo_ms.append((time.perf_counter() - t0) * 1000)
        page.wait_for_timeout(50)
    done = [t for t in seen if not t.startswith("0 of")]
    assert len(done) >= 3, f"the progress should show tasks finishing one by one: {seen}"
    assert len(echo_ms) == 3, f"the echo slider was only moved {len(echo_ms)}x during the run"
    estimate = float(text.rsplit("≈", 1)[1])
    assert abs(estimate - math.pi) < 0.01, text
    FIGURES.append(
        f"11_dask.ipynb: {len(seen)} progress states seen in the page; the other session's echo "
        f"answered in {', '.join(f'{ms:.0f}' for ms in echo_ms)} ms during the run; {text}"
    )


EXTRA_CHECKS: dict[str, Callable[[Page, JupyterServer], Any]] = {
    "03_streaming.ipynb": check_streaming_loop_is_live,
    "05_upload_process_download.ipynb": check_upload_process_download,
    "07_client_api.ipynb": check_client_ran,
    "09_ipywidgets.ipynb": check_ipywidgets_drive_bokeh,
    "10_large_data.ipynb": check_million_points_round_trip,
    "11_dask.ipynb": check_dask_keeps_sessions_responsive,
}


def wait_for_saved_outputs(page: Page, name: str) -> None:
    """Let the committed outputs finish rendering from their snapshots, as a person sees
    them before running the notebook (bounded; Run All replaces them either way)."""
    expected = sum(
        bool(SNAPSHOT.search(o["data"]["text/html"])) for o in committed_bokeh_outputs(name)
    )
    # drawn, or an error, or (saved with a bokeh this server lacks, untrusted) the saved
    # picture or the trust button
    done = notebook_locator(page).locator(
        ".bokeh-nb-static:is([data-bokeh-nb-rendered='true'], :has(.bokeh-nb-error),"
        " :has(img.bokeh-nb-picture), :has(.bokeh-nb-trust))"
    )
    deadline = time.monotonic() + 60
    while done.count() < expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)


@pytest.mark.timeout(400)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_lab(name, lab_server, page, page_log, examples):
    server = lab_server
    open_notebook(page, server, f"{examples}/{name}")
    wait_for_saved_outputs(page, name)
    ran = run_all_cells(page, timeout=240)
    problems = bad_outputs(page)
    assert ran and not problems, "\n".join(problems) or f"Run All failed: {frontend_state(page)}"
    check_bokeh_outputs(page)
    extra = EXTRA_CHECKS.get(name)
    if extra is not None:
        extra(page, server)
        assert not bad_outputs(page), "\n".join(bad_outputs(page))
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


# ---------------------------------------------------------------- the committed notebooks

OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"
#: The entry of an ipywidgets container's output that holds bokeh_nb outputs.
CONTAINER_MIME = "application/vnd.bokeh-nb.container+json"
SNAPSHOT = re.compile(r'<script type="application/vnd\.bokeh-nb\.snapshot\+json">(.*?)</script>')


def committed_bokeh_outputs(name: str) -> list[dict[str, Any]]:
    """The bokeh_nb outputs of a notebook as committed in notebooks/."""
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    return [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if OUTPUT_MIME in o.get("data", {})
    ]


def committed_snapshot_outputs(name: str) -> list[dict[str, Any]]:
    """The outputs of a committed notebook that keep snapshots: those of bokeh_nb outputs
    and those of ipywidgets containers that hold bokeh_nb outputs."""
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    return [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if OUTPUT_MIME in o.get("data", {}) or CONTAINER_MIME in o.get("data", {})
    ]


def entry_of(data: dict[str, Any]) -> dict[str, Any]:
    """An output's bokeh_nb entry: its own, or its ipywidgets container's."""
    return dict(data[OUTPUT_MIME] if OUTPUT_MIME in data else data[CONTAINER_MIME])


def documents_of(data: dict[str, Any]) -> int:
    """How many bokeh_nb documents an output shows (a container's: those it holds)."""
    return len(data[CONTAINER_MIME]["models"]) if CONTAINER_MIME in data else 1


#: What a committed output over the bound of scripts/refresh_notebooks.py says instead.
OVER_BOUND = "over this output's snapshot bound"


SHARE_MIME = "application/vnd.bokeh-nb.share+json"
#: A URL of the Jupyter server that ran a notebook, a share link's path, a kernel id.
SESSION_TRACES = re.compile(
    r"https?://(127\.0\.0\.1|localhost)|bokeh-nb/s/"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


#: A plot in a snapshot: what a picture draws.
PLOT_MODEL = re.compile(r'"type":"object","name":"(Figure|Plot|GMap|GMapPlot)"')


def assert_a_picture(name: str, data: dict[str, Any]) -> None:
    """A committed bokeh_nb output with a plot has an image/png of it, as a JupyterLab save
    writes it (scripts/refresh_notebooks.py), shown also by its text/html's fallback; one
    with widgets only says that it has no picture."""
    snapshot = SNAPSHOT.search(data["text/html"])
    if snapshot is not None and PLOT_MODEL.search(snapshot.group(1)) is None:
        assert "image/png" not in data, f"{name}: a picture of widgets only"
        assert "it shows no plot" in data["text/plain"], data["text/plain"][:200]
        return
    assert "image/png" in data, (
        f"{name}: a bokeh output without a picture: {data.get('text/plain', '')[:200]} "
        "(run scripts/refresh_notebooks.py, which saves the notebooks from JupyterLab)"
    )
    picture = decode_png(data["image/png"])
    assert picture.encoded_bytes < 1024 * 1024, name
    size = entry_of(data)["picture"]
    assert (picture.width, picture.height) == (size["width"], size["height"])
    assert 50 <= max(picture.width, picture.height) <= 1600, (picture.width, picture.height)
    assert len(picture.colors()) > 10, f"{name}: a blank picture"
    assert 'class="bokeh-nb-picture"' in data["text/html"], name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_committed_notebook_keeps_no_trace_of_the_session_that_ran_it(name):
    """No server URL, share link, kernel id or token in the outputs; a share link's output
    says how one is made, not the link it had."""
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            found = SESSION_TRACES.search(json.dumps(output))
            assert found is None, f"{name}: an output holds {found.group(0)!r}"
            share = output.get("data", {}).get(SHARE_MIME)
            if share is not None:
                assert set(share) == {"app", "mode", "state", "text"}, share
                assert "Run this cell in JupyterLab" in output["data"]["text/plain"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_committed_notebook_keeps_a_current_snapshot_of_every_bokeh_output(name):
    # the shipped notebooks are saved with the newest bokeh release (their snapshots
    # carry its BokehJS, so they render wherever they are opened, whatever bokeh runs)
    bokeh_version = kernel_env.SUPPORTED[0]

    refresh = "run scripts/refresh_notebooks.py"
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    assert "widgets" not in nb.metadata, f"{name}: ipywidgets state is committed ({refresh})"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == [], f"{name}: committed with an error output"
    outputs = committed_snapshot_outputs(name)
    assert outputs, f"{name}: no bokeh outputs committed ({refresh})"
    carriers = 0
    for output in outputs:
        html, meta = output["data"]["text/html"], entry_of(output["data"])
        assert_a_picture(name, output["data"])
        found = SNAPSHOT.findall(html)
        if not found and OVER_BOUND in meta["note"]:
            assert meta["note"] in html.replace("&#x27;", "'"), "the output says why"
            continue
        assert found, f"{name}: a bokeh output without a snapshot: {meta.get('note')} ({refresh})"
        assert len(found) == documents_of(output["data"]), f"{name}: a document without one"
        assert meta["bokeh_version"] == bokeh_version, (
            f"{name}: snapshot of another bokeh ({refresh})"
        )
        for text in found:
            doc = json.loads(text)
            assert doc["version"] == bokeh_version and doc["roots"], name
        assert meta["snapshot_bytes"] == sum(len(text) for text in found)
        carriers += "<script data-bokeh-nb-bundle>" in html
    assert carriers == (1 if any(SNAPSHOT.search(o["data"]["text/html"]) for o in outputs) else 0)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_committed_notebook_exported_shows_every_bokeh_output_offline(name, browser, tmp_path):
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", str(tmp_path),
         str(NOTEBOOKS_DIR / name)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    outputs = committed_snapshot_outputs(name)
    expected = sum(len(SNAPSHOT.findall(o["data"]["text/html"])) for o in outputs)
    documents = sum(documents_of(o["data"]) for o in outputs)
    context, opened = open_offline(browser, tmp_path / name.replace(".ipynb", ".html"))
    try:
        rendered = opened.page.locator(".bokeh-nb-snapshot[data-bokeh-nb-rendered='true']")
        expect(rendered).to_have_count(expected, timeout=120_000)
        assert opened.page.locator(".bokeh-nb-snapshot").count() == documents
        over = opened.page.locator(".bokeh-nb-fallback", has_text=OVER_BOUND)
        expect(over).to_have_count(documents - expected)
        if expected:
            versions = opened.page.evaluate(
                "() => Object.keys(window.Bokeh).filter(k => /^\\d/.test(k))"
            )
            assert len(versions) == 1, versions
        assert_only_template_requests_failed(opened)
    finally:
        context.close()

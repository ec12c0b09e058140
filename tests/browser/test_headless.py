"""Outputs of a notebook run without a page: the kernel keeps each output's snapshot, so the
executed notebook, its HTML export, a bare page with its outputs' HTML and a Sphinx +
myst-nb build all show the plots at the state the run ended with, offline
(docs/snapshots.md, "Headless runs and docs builds")."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import bokeh
import nbformat
import pytest
from playwright.sync_api import Page, expect

from .bokeh import kernel_json
from .jupyter import (
    assert_no_console_errors,
    open_notebook,
    run_all_cells,
    trust_notebook,
    write_notebook,
)

OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"
BIN = Path(sys.executable).parent
#: Where nbconvert's HTML template loads require.js and MathJax from (not bokeh_nb's doing).
TEMPLATE_CDNS = {"cdnjs.cloudflare.com", "cdn.jsdelivr.net", "unpkg.com"}

#: A plot and a Div; a later cell changes both, so only the end state shows "hello" and 5 points.
SHOW = """\
import bokeh_nb
from bokeh.plotting import figure
from bokeh.models import Div, Range1d
from bokeh.layouts import column
p = figure(x_range=Range1d(0, 10, name="xr"), width=400, height=300,
           tools="pan,wheel_zoom,reset", active_drag="pan")
r = p.scatter([1, 2, 3], [1, 4, 9], size=12)
r.data_source.name = "points"
d = Div(text="start", name="d")
bokeh_nb.show(column(d, p))
"""
CHANGE = """\
d.text = "hello"
r.data_source.data = dict(x=[1, 2, 3, 4, 5], y=[1, 4, 9, 16, 25])
"""
SECOND = """\
from bokeh.models import Slider
bokeh_nb.show(Slider(start=0, end=10, value=7, title="second", name="s2"))
"""

STATE = """() => {
  const docs = window.Bokeh.index.roots.map(view => view.model.document);
  const models = docs.flatMap(doc => [...doc._all_models.values()]);
  const get = name => models.find(m => m.name === name);
  return {
    versions: Object.keys(window.Bokeh).filter(k => /^\\d/.test(k)),
    text: get('d') && get('d').text,
    points: get('points') && get('points').get_length(),
    start: get('xr') && get('xr').start,
  };
}"""


def notebook(path: Path, cells: list[str]) -> Path:
    title = nbformat.v4.new_markdown_cell("# Plots")
    nb = nbformat.v4.new_notebook(cells=[title, *(nbformat.v4.new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, check=True, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def to_html(executed: Path) -> Path:
    """nbconvert's HTML export of an executed notebook (no execution)."""
    run(BIN / "jupyter", "nbconvert", "--to", "html", executed.name, cwd=executed.parent)
    return executed.with_suffix(".html")


@dataclass
class Offline:
    page: Page
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def open_offline(browser: Any, path: Path) -> tuple[Any, Offline]:
    """Open a local file in a new context where every request but file:// is aborted;
    console errors and page errors are collected. Returns the context (to close) too."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    result = Offline(page)

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            result.refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_files)
    page.on("pageerror", lambda err: result.errors.append(str(err)))
    page.on("console", lambda m: m.type == "error" and result.errors.append(m.text))
    page.goto(path.as_uri())
    return context, result


def assert_only_template_requests_failed(opened: Offline) -> None:
    """No console error but the refused CDN requests of nbconvert's own template
    (require.js, MathJax); nothing of bokeh_nb's asked the network."""
    assert all(urlparse(url).hostname in TEMPLATE_CDNS for url in opened.refused), opened.refused
    failed_loads = [e for e in opened.errors if e.startswith("Failed to load resource")]
    assert len(failed_loads) <= len(opened.refused)
    assert [e for e in opened.errors if e not in failed_loads] == []


@pytest.fixture
def offline(browser: Any) -> Iterator[Any]:
    """``offline(path)``: the file opened by ``open_offline``."""
    contexts: list[Any] = []

    def open_file(path: Path) -> Offline:
        context, opened = open_offline(browser, path)
        contexts.append(context)
        return opened

    yield open_file
    for context in contexts:
        context.close()


def drag(page: Page, box: Any, dx: float) -> None:
    """Drag dx pixels across the plot inside box."""
    area = box.locator(".bk-Figure, .bk-Canvas, canvas").first.bounding_box()
    assert area is not None
    x, y = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(x + dx * step / 8, y)
    page.mouse.up()


def installed(bundle: str) -> str:
    """The start of the installed bokeh's bundle (what the page must carry, never a CDN's)."""
    from bokeh.util.paths import bokehjs_path

    return (Path(bokehjs_path()) / "js" / f"{bundle}.min.js").read_text()[:3000]


def check_end_state(opened: Offline, boxes: int = 1) -> None:
    """The snapshots rendered with the run's end state, the pan tool works, one BokehJS."""
    page = opened.page
    rendered = page.locator(".bokeh-nb-snapshot[data-bokeh-nb-rendered='true']")
    expect(rendered).to_have_count(boxes, timeout=60_000)
    state = page.evaluate(STATE)
    assert state["text"] == "hello" and state["points"] == 5, state
    # BokehJS registers under its npm version ('3.10.0.dev5' is '3.10.0-dev.5')
    npm = re.sub(r"^(\d+\.\d+\.\d+)\.?(dev|rc)\.?(\d+)$", r"\1-\2.\3", bokeh.__version__)
    assert state["versions"] == [npm], state
    expect(rendered.first).to_contain_text("hello")
    drag(page, rendered.first, -120)
    page.wait_for_function(
        "() => window.Bokeh.index.roots.some(v => { const m = [...v.model.document"
        "._all_models.values()].find(m => m.name === 'xr'); return m && m.start > 0.5; })",
        timeout=10_000,
    )
    bundles = page.locator("script[data-bokeh-nb-bundle]")
    heads = [
        bundles.nth(i).evaluate("s => s.textContent.slice(0, 3000)") for i in range(bundles.count())
    ]
    assert heads == [installed("bokeh"), installed("bokeh-widgets")], "BokehJS once, then the Div's"
    assert_only_template_requests_failed(opened)


RUNNERS = ["nbconvert", "papermill", "jupyter-execute"]


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_headless_run_exports_its_end_state_offline(runner, tmp_path, offline):
    source = notebook(tmp_path / "run.ipynb", [SHOW, CHANGE])
    if runner == "nbconvert":
        done = run(BIN / "jupyter", "nbconvert", "--execute", "--to", "html", source.name,
                   cwd=tmp_path)  # fmt: skip
        html = tmp_path / "run.html"
    else:
        executed = tmp_path / "executed.ipynb"
        if runner == "papermill":
            done = run(BIN / "papermill", source.name, executed.name, cwd=tmp_path)
        else:
            done = run(BIN / "jupyter", "execute", f"--output={executed.stem}", source.name,
                       cwd=tmp_path)  # fmt: skip
        outputs = [o for c in nbformat.read(executed, 4).cells for o in c.get("outputs", [])]
        bokeh = [o for o in outputs if OUTPUT_MIME in o.get("data", {})]
        assert len(bokeh) == 1 and "hello" in bokeh[0]["data"]["text/html"]
        assert "application/vnd.jupyter.widget-view+json" not in bokeh[0]["data"]
        html = to_html(executed)
    assert "No handler found" not in done.stderr, done.stderr
    check_end_state(offline(html))


def test_an_executed_notebook_logs_no_comm_warning_and_keeps_no_widget_state(tmp_path):
    source = notebook(tmp_path / "run.ipynb", [SHOW, CHANGE, SECOND])
    done = run(BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", source.name,
               cwd=tmp_path)  # fmt: skip
    assert "No handler found" not in done.stderr, done.stderr
    assert "bokeh_nb" not in done.stderr, done.stderr
    executed = nbformat.read(tmp_path / "run.nbconvert.ipynb", 4)
    assert "widgets" not in executed.metadata, "no ipywidgets state: the export needs no CDN"
    htmls = [o["data"]["text/html"] for c in executed.cells for o in c.get("outputs", [])
             if OUTPUT_MIME in o.get("data", {})]  # fmt: skip
    assert len(htmls) == 2
    assert [h.count("<script data-bokeh-nb-bundle>") for h in htmls] == [2, 0]
    metas = [o["data"][OUTPUT_MIME] for c in executed.cells for o in c.get("outputs", [])
             if OUTPUT_MIME in o.get("data", {})]  # fmt: skip
    assert all(m["snapshot_bytes"] > 0 and m["note"] == "" for m in metas), metas


def test_outputs_pasted_into_a_bare_page_render_offline(tmp_path, offline):
    source = notebook(tmp_path / "run.ipynb", [SHOW, CHANGE, SECOND])
    run(BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", source.name, cwd=tmp_path)
    executed = nbformat.read(tmp_path / "run.nbconvert.ipynb", 4)
    htmls = [o["data"]["text/html"] for c in executed.cells for o in c.get("outputs", [])
             if OUTPUT_MIME in o.get("data", {})]  # fmt: skip
    page = tmp_path / "bare.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>two outputs</title></head>"
        "<body><h1>Report</h1>" + "".join(f"<section>{h}</section>" for h in htmls) + "</body></html>"
    )  # fmt: skip
    opened = offline(page)
    check_end_state(opened, boxes=2)
    second = opened.page.locator(".bokeh-nb-snapshot").nth(1)
    expect(second.locator(".bk-slider-title")).to_contain_text("second")
    documents = "() => new Set(window.Bokeh.index.roots.map(v => v.model.document)).size"
    assert opened.page.evaluate(documents) == 2, "each output rendered once"


#: The conf.py of docs/snapshots.md: myst-nb renders the text/html of each output; the
#: bokeh_nb entry next to it is for JupyterLab, so its "unknown mime type" note is silenced.
CONF = """\
extensions = ["myst_nb"]
nb_execution_mode = "force"
suppress_warnings = ["mystnb.unknown_mime_type"]
exclude_patterns = ["_build"]
"""


def test_a_sphinx_myst_nb_build_shows_the_plots_offline(tmp_path, offline):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(CONF)
    (docs / "index.md").write_text("# Report\n\n```{toctree}\nplots\n```\n")
    notebook(docs / "plots.ipynb", [SHOW, CHANGE, SECOND])
    done = run(sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "docs",
               "build", cwd=tmp_path)  # fmt: skip
    assert "No handler found" not in done.stderr, done.stderr
    opened = offline(tmp_path / "build" / "plots.html")
    check_end_state(opened, boxes=2)


SNAPSHOT_MESSAGES = """() => {
  const kernel = window.__harness.panel().sessionContext.session.kernel;
  window.__updates = 0;
  kernel.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type === 'update_display_data') window.__updates += 1;
  });
}"""


def test_with_a_page_attached_the_kernel_sends_no_snapshot(lab_server, page, nb_name):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [SHOW, CHANGE, SECOND, "d.text = 'again'"])
    open_notebook(page, server, nb_name)
    page.evaluate(SNAPSHOT_MESSAGES)
    assert run_all_cells(page)
    out = page.locator(".bokeh-nb-output[data-bokeh-nb-rendered='true']")
    expect(out).to_have_count(2, timeout=90_000)
    expect(out.first.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("again")
    sent = kernel_json(
        page, "__import__('bokeh_nb.kernel.runtime').kernel.runtime.runtime().snapshots.sent"
    )
    assert sent == 0
    assert page.evaluate("() => window.__updates") == 0
    outputs = page.evaluate(
        "() => window.__harness.nb().content.model.cells.get(0).outputs.toJSON()"
    )
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    assert json.dumps(outputs).count("data-bokeh-nb-bundle") == 0, "nothing until a save"


def test_an_executed_notebook_opens_in_jupyterlab_with_its_snapshots(
    lab_server, page, page_log, nb_name
):
    server = lab_server
    notebook(server.root_dir / nb_name, [SHOW, CHANGE, SECOND])
    run(BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace", nb_name,
        cwd=server.root_dir)  # fmt: skip
    trust_notebook(server, nb_name)
    open_notebook(page, server, nb_name)
    static = page.locator(".bokeh-nb-static[data-bokeh-nb-rendered='true']")
    expect(static).to_have_count(2, timeout=90_000)
    expect(static.first.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("hello")
    expect(static.nth(1).locator(".bk-slider-title")).to_contain_text("second")
    assert_no_console_errors(page_log)


SHARE = """\
import bokeh_nb
from bokeh.models import Div
app = bokeh_nb.App(lambda doc: doc.add_root(Div(text="shared")), name="shared")
link = bokeh_nb.share(app)
link
"""


def test_a_share_link_in_a_headless_run_says_why_there_is_none(tmp_path):
    """No page, no link: the output says so (never 'pending', never a URL), and the run
    goes on (revoke() raises, as for any link that was not made)."""
    source = notebook(tmp_path / "share.ipynb", [SHARE, "print(link.state)"])
    run(BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", source.name,
        cwd=tmp_path)  # fmt: skip
    executed = nbformat.read(tmp_path / "share.nbconvert.ipynb", 4)
    (shared,) = executed.cells[1].outputs
    text = shared["data"]["text/plain"]
    assert text.startswith("No share link to app 'shared': no notebook page runs this kernel")
    assert "Run this cell in JupyterLab or Notebook 7" in shared["data"]["text/html"]
    assert "http" not in json.dumps(shared) and "pending" not in json.dumps(shared)
    assert executed.cells[2].outputs[0]["text"] == "failed\n"

"""Outputs outlive their kernel: the snapshot saved with the notebook shows the document's
state at save time after the kernel is gone or restarted, in an nbconvert export opened
offline, and never runs a snapshot's code in an untrusted notebook (docs/snapshots.md)."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.models import Paragraph
from playwright.sync_api import Locator, Page, expect

from .bokeh import bokeh_output, kernel_json, wait_kernel
from .jupyter import (
    JupyterServer,
    assert_no_console_errors,
    cell_output,
    open_notebook,
    read_notebook,
    reload_page,
    run_all_cells,
    run_cell,
    save_notebook,
    trust_notebook,
    write_notebook,
)
from .pngpixels import decode_png

OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"
SHARE_MIME = "application/vnd.bokeh-nb.share+json"
#: bokeh's first palette colour, its default glyph fill and line (#1f77b4)
GLYPH_BLUE = (31, 119, 180)

APP = """\
import bokeh_nb
from bokeh.plotting import figure
from bokeh.models import Button, Div, Range1d, Slider
from bokeh.layouts import column
p = figure(x_range=Range1d(0, 10, name="xr"), width=400, height=300,
           tools="pan,wheel_zoom,reset", active_drag="pan")
r = p.scatter([1, 2, 3], [1, 4, 9], size=12)
s = Slider(start=1, end=10, value=2, step=1, title="power", name="s")
b = Button(label="press"); d = Div(text="0", name="d")
s.on_change("value", lambda attr, old, new: r.data_source.data.update(y=[x ** new for x in [1, 2, 3]]))
b.on_click(lambda: setattr(d, "text", str(int(d.text) + 1)))
bokeh_nb.show(column(s, b, d, p))
"""

#: A second output whose Div holds text that would end a <script> if saved unescaped.
SECOND = """\
from bokeh.models import Div as _Div
bokeh_nb.show(_Div(text="</script><b>bold</b> & <i>still one output</i>", name="tricky"))
"""

SET_SLIDER = """(el, value) => {
  const doc = el.bokehNbModel.document;
  [...doc._all_models.values()].find(m => m.name === 's').value = value;
}"""

STATIC_STATE = """(el) => {
  const doc = el.bokehNbStatic;
  const models = [...doc._all_models.values()];
  const xr = models.find(m => m.name === 'xr');
  const source = models.find(m => m.data !== undefined && m.data.y !== undefined);
  return {start: xr.start, y: Array.from(source.data.y)};
}"""


def static_output(page: Page, cell: int) -> Locator:
    """The cell's output rendered from its snapshot."""
    out = cell_output(page, cell).locator(".bokeh-nb-static").first
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=90_000)
    return out


def kernel_id(page: Page) -> str:
    return str(kernel_json(page, "__import__('bokeh_nb.kernel.app').kernel.app.kernel_id()"))


def drag(page: Page, target: Locator, dx: float) -> None:
    """Drag dx pixels across the plot at the bottom left of target."""
    box = target.bounding_box()
    assert box is not None
    x, y = box["x"] + 200, box["y"] + box["height"] - 120
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(x + dx * step / 8, y)
    page.mouse.up()


def change_state(page: Page) -> None:
    out = bokeh_output(page, 0)
    for _ in range(2):
        out.get_by_role("button", name="press").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    out.evaluate(SET_SLIDER, 3)
    wait_kernel(page, "list(r.data_source.data['y'])", [1, 8, 27])
    wait_kernel(page, "d.text", "2")


def export_html(server: JupyterServer, name: str, out_dir: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", str(out_dir),
         str(server.root_dir / name)],
        env=server.env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out_dir / (Path(name).stem + ".html")


def open_offline(browser: Any, path: Path) -> tuple[Any, Page, list[str], list[str]]:
    """Open a file in a fresh context where every request but file:// fails."""
    context = browser.new_context()
    refused: list[str] = []
    errors: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_files)
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.as_uri())
    return context, page, refused, errors


def test_saved_state_outlives_the_kernel_and_exports_offline(
    lab_server, browser, page, page_log, nb_name, tmp_path
):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [APP, SECOND])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    change_state(page)
    kid = kernel_id(page)
    save_notebook(page)
    server.api("DELETE", f"api/kernels/{kid}")

    reload_page(page)
    out = static_output(page, 0)
    expect(out.locator(".bokeh-nb-badge")).to_contain_text("Static snapshot")
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    expect(out.locator(".bk-slider-title").first).to_contain_text("3")
    assert out.evaluate(STATIC_STATE) == {"start": 0, "y": [1, 8, 27]}
    drag(page, out, -120)  # the pan tool works without a kernel
    page.wait_for_function("(el) => el.bokehNbStatic.get_model_by_name('xr').start > 0.5",
                           arg=out.element_handle(), timeout=10_000)  # fmt: skip
    tricky = static_output(page, 1)
    expect(tricky.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text(
        "still one output"
    )
    assert_no_console_errors(page_log)

    saved = read_notebook(server.root_dir, nb_name)
    htmls = [o["data"]["text/html"] for c in saved.cells for o in c.get("outputs", [])
             if OUTPUT_MIME in o.get("data", {})]  # fmt: skip
    assert len(htmls) == 2
    assert htmls[0].count("<script data-bokeh-nb-bundle>") == 2, "bokeh + widgets, once"
    assert "data-bokeh-nb-bundle" not in htmls[1], "BokehJS only in the first output"

    exported = export_html(server, nb_name, tmp_path)
    context, offline, refused, errors = open_offline(browser, exported)
    try:
        boxes = offline.locator(".bokeh-nb-snapshot[data-bokeh-nb-rendered='true']")
        expect(boxes).to_have_count(2, timeout=60_000)
        expect(boxes.nth(0).locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
        expect(boxes.nth(1).locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text(
            "still one output"
        )
        assert offline.locator("script[data-bokeh-nb-bundle]").count() == 2
        assert errors == []
        assert all(not url.startswith("http://127.0.0.1") for url in refused), refused
    finally:
        context.close()


def test_a_restart_leaves_the_last_state_and_rerunning_reconnects(
    jupyter_frontend, page, page_log, nb_name
):
    server = jupyter_frontend
    write_notebook(server.root_dir, nb_name, [APP])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    change_state(page)
    # as Kernel > Restart Kernel does once confirmed
    page.evaluate("() => window.__harness.panel().sessionContext.session.kernel.restart()")
    output = cell_output(page, 0)
    expect(output.locator(".bokeh-nb-badge").first).to_contain_text(
        "re-run the cell to reconnect", timeout=60_000
    )
    expect(output.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    save_notebook(page)

    reload_page(page)
    out = static_output(page, 0)
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    assert out.evaluate(STATIC_STATE)["y"] == [1, 8, 27]

    assert run_cell(page, 0)
    live = bokeh_output(page, 0)
    expect(live.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("0")
    expect(cell_output(page, 0).locator(".bokeh-nb-badge")).to_have_count(0)
    live.get_by_role("button", name="press").click()
    expect(live.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    assert_no_console_errors(page_log)


CUSTOM_JS = """\
import bokeh_nb
from bokeh.models import Button, CustomJS
b = Button(label="run js")
b.js_on_click(CustomJS(code="window.__bokeh_nb_ran = (window.__bokeh_nb_ran || 0) + 1"))
bokeh_nb.show(b)
"""


def test_an_untrusted_notebook_never_runs_a_snapshots_code(lab_server, page, nb_name):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [CUSTOM_JS])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    bokeh_output(page, 0)
    kid = kernel_id(page)
    save_notebook(page)
    server.api("DELETE", f"api/kernels/{kid}")
    path = server.root_dir / nb_name
    nb = json.loads(path.read_text())
    nb["metadata"]["edited_elsewhere"] = True  # a notebook from someone else: not signed here
    path.write_text(json.dumps(nb))

    reload_page(page)
    untrusted = static_output(page, 0)
    withheld = untrusted.locator(".bokeh-nb-withheld")
    expect(withheld).to_contain_text("Withheld until this notebook is trusted: CustomJS.")
    names = untrusted.evaluate(
        "(el) => [...el.bokehNbStatic._all_models.values()].map(m => m.type)"
    )
    assert "Button" in names and "CustomJS" not in names
    untrusted.get_by_role("button", name="run js").click()  # shown, without its callback
    assert page.evaluate("() => window.__bokeh_nb_ran") is None

    trust_notebook(server, nb_name)
    reload_page(page)
    out = static_output(page, 0)
    out.get_by_role("button", name="run js").click()
    page.wait_for_function("() => window.__bokeh_nb_ran === 1", timeout=10_000)


def saved_output(snapshot: str, version: str, fmt: str = "1") -> dict[str, Any]:
    bundles = ["bokeh", "bokeh-widgets"]
    meta = {"format": fmt, "bokeh_version": version, "bundles": bundles, "max_bytes": 2**20}
    body = (
        f'<div class="bokeh-nb-snapshot" data-bokeh-version="{html.escape(version)}">'
        f'<script type="application/vnd.bokeh-nb.snapshot+json">{snapshot}</script></div>'
    )
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {OUTPUT_MIME: meta, "text/html": body, "text/plain": "a bokeh_nb output"},
    }


def test_a_bad_snapshot_says_so_and_the_notebook_opens(lab_server, page, page_log, nb_name):
    from bokeh import __version__ as version

    doc = Document()
    doc.add_root(Paragraph(text="plain text, safe untrusted"))
    good = serialize_json(doc.to_json(deferred=False)).replace("<", "\\u003c")
    cells: list[Any] = [
        {"cell_type": "markdown", "source": "# still opens"},
        {"source": "corrupted", "outputs": [saved_output('{"roots": [tru', version)]},
        {"source": "other bokeh", "outputs": [saved_output(good, "0.0.1")]},
        {"source": "future format", "outputs": [saved_output(good, version, "99")]},
        {"source": "fine", "outputs": [saved_output(good, version)]},
    ]
    write_notebook(server_root := lab_server.root_dir, nb_name, cells)
    assert server_root.exists()
    open_notebook(page, lab_server, nb_name)
    expect(cell_output(page, 1).get_by_role("alert")).to_contain_text(
        "could not be read", timeout=60_000
    )
    expect(cell_output(page, 2).get_by_role("alert")).to_contain_text("saved with bokeh 0.0.1")
    expect(cell_output(page, 3).get_by_role("alert")).to_contain_text("snapshot format 99")
    for cell in (1, 2, 3):
        expect(cell_output(page, cell).locator(":is(.bk-clearfix, .bk-markup)")).to_have_count(0)
    fine = static_output(page, 4)
    expect(fine).to_contain_text("plain text, safe untrusted")
    expect(page.locator(".jp-MarkdownOutput h1")).to_contain_text("still opens")
    assert_no_console_errors(page_log, ignore=["0.0.1", "404"])


SIZES = """\
import bokeh_nb, numpy as np
from bokeh.plotting import figure
def plot(n):
    p = figure(width=300, height=200)
    p.scatter(np.arange(n, dtype=float), np.random.default_rng(0).random(n))
    return p
"""


@pytest.mark.timeout(360)  # two saves of a million points, on a shared machine
def test_snapshot_sizes_and_the_bound(lab_server, page, nb_name, report_figure):
    server = lab_server
    cells = [
        SIZES,
        "bokeh_nb.show(plot(10_000))",
        "bokeh_nb.show(plot(1_000_000))",
        "bokeh_nb.snapshot_limit(1_000_000)\nbokeh_nb.show(plot(1_000_000))",
    ]
    write_notebook(server.root_dir, nb_name, cells)
    open_notebook(page, server, nb_name)
    path = server.root_dir / nb_name
    kid = kernel_id(page)
    sizes = []
    for cell in range(4):
        assert run_cell(page, cell)
        if cell:
            bokeh_output(page, cell)
        save_notebook(page)
        sizes.append(path.stat().st_size)
    outputs = [c.outputs[0] for c in read_notebook(server.root_dir, nb_name).cells[1:4]]
    metas = [o["data"][OUTPUT_MIME] for o in outputs]
    bundles = outputs[0]["data"]["text/html"].split('<div class="bokeh-nb-snapshot"')[0]
    raw_mb = 2 * 8 * 1_000_000 / 1e6
    assert metas[1]["snapshot_bytes"] > 8e6, "kept: its 10^6 random float64 alone are 8 MB"
    assert (
        metas[2]["snapshot_bytes"] == 0 and "over this output's snapshot bound" in metas[2]["note"]
    )
    assert sizes[3] - sizes[2] < 300_000, "over the bound: no snapshot, a picture"
    pictures = [decode_png(o["data"]["image/png"]) for o in outputs]
    for picture in pictures:  # the 300 x 200 plot, its points drawn
        assert (picture.width, picture.height) in {(300, 200), (600, 400)}
        assert picture.share_near(GLYPH_BLUE) > 0.01
    assert "<img" in outputs[2]["data"]["text/html"], "over the bound, the picture shows"
    report_figure(
        f"notebook growth per output: 10^4 points +{(sizes[1] - sizes[0] - len(bundles)) / 1e6:.2f} MB "
        f"(+ BokehJS {len(bundles) / 1e6:.2f} MB once per notebook); 10^6 points "
        f"+{(sizes[2] - sizes[1]) / 1e6:.1f} MB (snapshot {metas[1]['snapshot_bytes'] / 1e6:.1f} MB, "
        f"{raw_mb:.0f} MB of float64); 10^6 points over "
        f"a 1 MB bound +{(sizes[3] - sizes[2]) / 1e3:.1f} kB, saved without a snapshot"
    )
    report_figure(
        f"image/png per output (300 x 200 plot): 10^4 points {pictures[0].encoded_bytes / 1e3:.1f} kB, "
        f"10^6 points {pictures[1].encoded_bytes / 1e3:.1f} kB (each also in its text/html "
        "fallback, as base64: x 1.33 x 2 in the file)"
    )
    server.api("DELETE", f"api/kernels/{kid}")
    reload_page(page)
    static_output(page, 2)
    expect(cell_output(page, 3).locator(".bokeh-nb-badge")).to_contain_text("snapshot bound")


def test_a_save_keeps_a_picture_of_the_plots(lab_server, page, page_log, nb_name):
    """Each live output gets an image/png of its view at save: the plot as the page shows
    it now (widgets are not drawn), in the bundle and in the fallback of its text/html."""
    server = lab_server
    write_notebook(server.root_dir, nb_name, [APP, SECOND])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    change_state(page)
    save_notebook(page)
    outputs = [o for c in read_notebook(server.root_dir, nb_name).cells
               for o in c.get("outputs", []) if OUTPUT_MIME in o.get("data", {})]  # fmt: skip
    data = outputs[0]["data"]
    pixels = decode_png(data["image/png"])
    meta = data[OUTPUT_MIME]
    assert (pixels.width, pixels.height) == (meta["picture"]["width"], meta["picture"]["height"])
    # the column: slider, button and div above the 400 x 300 plot
    assert 400 <= pixels.width <= 1600 and 300 <= pixels.height <= 1600, meta["picture"]
    colours = pixels.colors()
    assert len(colours) > 20, "not a blank picture"
    assert pixels.share_near(GLYPH_BLUE) > 0.001, "the scatter's points are drawn"
    assert pixels.share_near((255, 255, 255), 8) < 0.99
    assert f'src="data:image/png;base64,{data["image/png"]}"' in data["text/html"]
    assert "No picture" not in "".join(data["text/plain"])
    # a document without a plot gets no (blank) picture, and its text says so
    assert "image/png" not in outputs[1]["data"]
    assert "it shows no plot" in outputs[1]["data"]["text/plain"]

    # the saved picture follows the document: a later change and save draws it again
    kernel_json(
        page, "[setattr(r.glyph, 'fill_color', 'red'), setattr(r.glyph, 'line_color', 'red')]"
    )
    page.wait_for_function(
        "(el) => JSON.stringify(el.bokehNbModel.document.to_json(false)).includes('red')",
        arg=bokeh_output(page, 0).element_handle(),
        timeout=30_000,
    )
    page.wait_for_timeout(300)  # BokehJS repaints on its next frame
    save_notebook(page)
    saved = read_notebook(server.root_dir, nb_name).cells[0].outputs[0]["data"]
    again = decode_png(saved["image/png"])
    assert again.share_near(GLYPH_BLUE) < 0.0005 and again.share_near((255, 0, 0)) > 0.001
    assert_no_console_errors(page_log)


SHARE_APP = """import bokeh_nb
from bokeh.models import Div
app = bokeh_nb.App(lambda doc: doc.add_root(Div(text="shared")), name="shared")
link = bokeh_nb.share(app, mode="view", expires="10m")
link
"""


def test_a_saved_share_link_output_keeps_no_link(lab_server, page, page_log, nb_name):
    """The page shows the link; the notebook file says how one is made, with no URL or token."""
    server = lab_server
    write_notebook(server.root_dir, nb_name, [SHARE_APP])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    wait_kernel(page, "link.state", "ready")
    url = kernel_json(page, "link.url")
    out = cell_output(page, 0)
    expect(out).to_contain_text(url)
    save_notebook(page)
    expect(out).to_contain_text(url)  # the save took it out of the file, not off the page
    (shared,) = read_notebook(server.root_dir, nb_name).cells[0].outputs
    text = json.dumps(shared)  # (the cells kernel_json added print the URL themselves)
    token = url.rsplit("/", 1)[-1]
    assert "bokeh-nb/s/" not in text and token not in text and server.token not in text
    assert shared["data"][SHARE_MIME] == {
        "app": "shared", "mode": "view", "state": "saved", "text": shared["data"]["text/plain"],
    }  # fmt: skip
    assert "made by a running notebook session" in shared["data"]["text/plain"]
    assert "Run this cell in JupyterLab" in shared["data"]["text/html"]

    reload_page(page)  # the page now has only the file: it says what the file says
    expect(cell_output(page, 0)).to_contain_text("made by a running notebook session")
    expect(cell_output(page, 0)).not_to_contain_text("bokeh-nb/s/")
    assert_no_console_errors(page_log)


#: bokeh_nb outputs inside ipywidgets containers: one in the VBox, one in an HBox in it.
CONTAINER = """\
import bokeh_nb, ipywidgets as w
from bokeh.plotting import figure
from bokeh.models import Div
p = figure(width=300, height=200, title="in a box")
r = p.scatter([1, 2, 3], [1, 4, 9], size=12)
d = Div(text="nested one", name="nested")
w.VBox([w.IntSlider(description="n"), bokeh_nb.BokehWidget(p),
        w.HBox([bokeh_nb.BokehWidget(d)])])
"""
CONTAINER_MIME = "application/vnd.bokeh-nb.container+json"


def test_an_output_inside_an_ipywidgets_container_keeps_snapshots_and_a_picture(
    lab_server, browser, page, page_log, nb_name, tmp_path
):
    """A VBox holding an ipywidgets slider and bokeh_nb outputs (one nested in an HBox):
    its saved output has their snapshots, one after another, and a picture of the plot;
    its nbconvert export renders both offline."""
    server = lab_server
    write_notebook(server.root_dir, nb_name, [CONTAINER])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    bokeh_output(page, 0, 0)
    bokeh_output(page, 0, 1)
    expect(cell_output(page, 0).locator(".widget-slider")).to_have_count(1)
    save_notebook(page)

    (output,) = read_notebook(server.root_dir, nb_name).cells[0].outputs
    data = output["data"]
    assert OUTPUT_MIME not in data, "the container's widget view stays what JupyterLab shows"
    meta = data[CONTAINER_MIME]
    assert len(meta["models"]) == 2 and meta["snapshot_bytes"] > 0 and meta["saved"]
    page_html = data["text/html"]
    assert page_html.count('<script type="application/vnd.bokeh-nb.snapshot+json">') == 2
    assert page_html.count('<div class="bokeh-nb-snapshot"') == 2
    assert page_html.count("<script data-bokeh-nb-bundle>") == 2, "bokeh + widgets, once"
    pixels = decode_png(data["image/png"])
    assert (pixels.width, pixels.height) == (meta["picture"]["width"], meta["picture"]["height"])
    assert 300 <= pixels.width <= 1600 and 200 <= pixels.height <= 1600, meta["picture"]
    assert len(pixels.colors()) > 20, "not a blank picture"
    assert pixels.share_near(GLYPH_BLUE) > 0.001, "the scatter's points are drawn"
    assert f'src="data:image/png;base64,{data["image/png"]}"' in page_html
    assert_no_console_errors(page_log)

    # a save with nothing changed leaves the output as it was (the first save may come
    # before BokehJS has computed the plot's ranges, so compare the next two)
    save_notebook(page)
    before = read_notebook(server.root_dir, nb_name).cells[0].outputs[0]["data"]
    save_notebook(page)
    again = read_notebook(server.root_dir, nb_name).cells[0].outputs[0]["data"]
    assert again[CONTAINER_MIME]["saved"] == before[CONTAINER_MIME]["saved"]

    exported = export_html(server, nb_name, tmp_path)
    context, offline, refused, errors = open_offline(browser, exported)
    try:
        boxes = offline.locator(".bokeh-nb-snapshot[data-bokeh-nb-rendered='true']")
        expect(boxes).to_have_count(2, timeout=60_000)
        expect(boxes.nth(0).locator(".bk-Canvas, canvas").first).to_be_attached()
        expect(boxes.nth(1).locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text(
            "nested one"
        )
        assert offline.locator("script[data-bokeh-nb-bundle]").count() == 2
        assert errors == []
        assert all(not url.startswith("http://127.0.0.1") for url in refused), refused
    finally:
        context.close()

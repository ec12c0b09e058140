"""Custom models (TypeScript and JavaScript ``__implementation__``, and a model of an
installed extension package) in a real JupyterLab and on a full page: they render and
round-trip property changes both ways; code that does not compile or throws says so;
an untrusted saved notebook never runs their code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from .bokeh import bokeh_output, create_share, kernel_json, run_notebook, wait_kernel
from .jupyter import (
    add_and_run_cell,
    assert_no_console_errors,
    cell_output,
    open_notebook,
    reload_page,
    run_all_cells,
    save_notebook,
    trust_notebook,
    write_notebook,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PATHS = json.dumps([str(FIXTURES / "custom_models"), str(FIXTURES / "extpkg")])

SETUP = f"""\
import sys; sys.path[:0] = {PATHS}
import bokeh_nb
from bokeh.layouts import column
from bokeh.models import Div
from models import TsCount, JsCount, BrokenDiv, ThrowingDiv
from bokeh_nb_clicker import Clicker
"""

SHOW = (
    SETUP
    + """\
ts, js, ck = TsCount(text="a"), JsCount(text="b"), Clicker(text="c")
bokeh_nb.show(column(ts, js, ck))
"""
)

APP = (
    SETUP
    + """\
def modify_doc(doc):
    doc.add_root(column(TsCount(text="a", name="ts"), JsCount(text="b", name="js"),
                        Clicker(text="c", name="ck")))
app = bokeh_nb.App(modify_doc, name="custom")
broken = bokeh_nb.App(lambda doc: doc.add_root(BrokenDiv(text="x")), name="broken")
app
"""
)

PAGE_MODELS = (
    "[[(m.count if hasattr(m, 'count') else m.clicks) for m in "
    "(s.document.select_one({'name': n}) for n in ('ts', 'js', 'ck'))] "
    "for s in app.sessions if s.standalone]"
)


def _round_trip_in(out, page) -> None:
    ts, js, ck = (
        out.locator("button.ts-count"),
        out.locator("button.js-count"),
        out.locator("button.bokeh-nb-clicker"),
    )
    expect(ts).to_have_text("ts a: 0", timeout=60_000)
    expect(js).to_have_text("js b: 0")
    expect(ck).to_have_text("clicker c: 0")
    ts.click()
    js.click()
    js.click()
    ck.click()
    wait_kernel(page, "[ts.count, js.count, ck.clicks]", [1, 2, 1])
    add_and_run_cell(page, "ts.text = 'x'; js.count = 7; ck.clicks = 9")
    expect(ts).to_have_text("ts x: 1")
    expect(js).to_have_text("js b: 7")
    expect(ck).to_have_text("clicker c: 9")


def test_custom_models_in_a_notebook_output(lab_server, page, page_log, nb_name):
    out = run_notebook(lab_server, page, nb_name, [SHOW])
    _round_trip_in(out, page)
    assert_no_console_errors(page_log)


def test_code_that_fails_says_so_and_other_outputs_work(lab_server, page, nb_name):
    cells = [
        SETUP + "bokeh_nb.show(BrokenDiv(text='x'))",
        "bokeh_nb.show(ThrowingDiv(text='y'))",
        "bokeh_nb.show(column(Div(text='plain div'), TsCount(text='fine')))",
    ]
    write_notebook(lab_server.root_dir, nb_name, cells)
    open_notebook(page, lab_server, nb_name)
    assert run_all_cells(page)
    broken = cell_output(page, 0)
    expect(broken).to_contain_text("BrokenDiv could not be built", timeout=90_000)
    expect(broken).to_contain_text("TS2322")
    expect(cell_output(page, 1)).to_contain_text(
        "failed in this browser: Error: this custom model fails on purpose", timeout=60_000
    )
    fine = bokeh_output(page, 2)
    expect(fine.locator("button.ts-count")).to_have_text("ts fine: 0", timeout=60_000)
    fine.locator("button.ts-count").click()
    expect(fine.locator("button.ts-count")).to_have_text("ts fine: 1")


def test_custom_models_on_a_full_page(lab_server, page, page_log, nb_name):
    run_notebook(lab_server, page, nb_name, [APP])
    url = kernel_json(page, "app.url")
    visitor = page.context.new_page()
    visitor.goto(url)
    ts, js, ck = (
        visitor.locator("button.ts-count"),
        visitor.locator("button.js-count"),
        visitor.locator("button.bokeh-nb-clicker"),
    )
    expect(ts).to_have_text("ts a: 0", timeout=60_000)
    expect(js).to_have_text("js b: 0")
    expect(ck).to_have_text("clicker c: 0")
    ts.click()
    js.click()
    ck.click()
    ck.click()
    wait_kernel(page, PAGE_MODELS, [[1, 1, 2]])
    add_and_run_cell(
        page,
        "[s.document.select_one({'name': 'js'}).update(count=5) "
        "for s in app.sessions if s.standalone]",
    )
    expect(js).to_have_text("js b: 5")

    failing = page.context.new_page()
    failing.goto(kernel_json(page, "broken.url"))
    alert = failing.locator("#bokeh-nb-problem")
    expect(alert).to_contain_text("BrokenDiv could not be built", timeout=60_000)
    expect(alert).to_contain_text("TS2322")
    # BokehJS logs why it could not pull the broken app's document (the page says it)
    assert_no_console_errors(page_log, [re.compile(r"Failed to repull session .*BrokenDiv")])


def test_an_untrusted_notebook_never_runs_custom_model_code(lab_server, page, nb_name):
    server = lab_server
    out = run_notebook(server, page, nb_name, [SHOW])
    expect(out.locator("button.ts-count")).to_have_text("ts a: 0", timeout=60_000)
    kid = kernel_json(page, "__import__('bokeh_nb.kernel.app').kernel.app.kernel_id()")
    save_notebook(page)
    server.api("DELETE", f"api/kernels/{kid}")
    path = server.root_dir / nb_name
    nb = json.loads(path.read_text())
    nb["metadata"]["edited_elsewhere"] = True  # not signed here: untrusted
    path.write_text(json.dumps(nb))

    reload_page(page)  # a new page: nothing of the live session's code is on it
    static = cell_output(page, 0).locator(".bokeh-nb-static").first
    expect(static).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=90_000)
    withheld = static.locator(".bokeh-nb-withheld")
    expect(withheld).to_contain_text("Withheld until this notebook is trusted", timeout=90_000)
    for name in ("TsCount", "JsCount", "bokeh_nb_clicker.Clicker"):
        expect(withheld).to_contain_text(name)
    expect(static.locator("button.ts-count")).to_have_count(0)
    expect(static.locator("button.bokeh-nb-clicker")).to_have_count(0)

    # trusted, without its kernel: the code is not in the notebook, and the output says so
    trust_notebook(server, nb_name)
    reload_page(page)
    expect(cell_output(page, 0)).to_contain_text(
        "a custom model's code is not saved with the notebook: run the cell to show it",
        timeout=90_000,
    )


APP_FILE = f"""\
import sys; sys.path[:0] = {PATHS}
from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import Div
from models import TsCount
from bokeh_nb_clicker import Clicker
ts, ck, said = TsCount(text="f"), Clicker(text="g"), Div(text="-", name="said")
ts.on_change("count", lambda attr, old, new: setattr(said, "text", f"python saw {{new}}"))
curdoc().add_root(column(ts, ck, said))
"""


def test_custom_models_on_an_app_file_page_and_a_share_link(lab_server, page, page_log, nb_name):
    server = lab_server
    (Path(server.root_dir) / "custom_app.py").write_text(APP_FILE)
    page.goto(server.url("/bokeh-nb/files/custom_app.py"))
    ts = page.locator("button.ts-count")
    expect(ts).to_have_text("ts f: 0", timeout=90_000)
    expect(page.locator("button.bokeh-nb-clicker")).to_have_text("clicker g: 0")
    ts.click()  # browser -> the app's Python callback -> browser
    expect(page.locator(":is(.bk-clearfix, .bk-markup)", has_text="python saw")).to_have_text(
        "python saw 1"
    )

    notebook = page.context.new_page()
    run_notebook(server, notebook, nb_name, [APP])
    kernel_id = kernel_json(notebook, "bokeh_nb.kernel.app.kernel_id()")
    # (a share link's visitor changes only what bokeh's own widgets offer: kernel/visitor.py)
    share = create_share(server, kernel_id, "custom", "view")
    visitor = page.context.new_page()
    visitor.goto(server.origin + share["path"])
    expect(visitor.locator("button.ts-count")).to_have_text("ts a: 0", timeout=60_000)
    expect(visitor.locator("button.js-count")).to_have_text("js b: 0")
    expect(visitor.locator("button.bokeh-nb-clicker")).to_have_text("clicker c: 0")
    add_and_run_cell(
        notebook,
        "[s.document.select_one({'name': 'ck'}).update(clicks=4) for s in app.sessions if s.standalone]",
    )
    expect(visitor.locator("button.bokeh-nb-clicker")).to_have_text("clicker c: 4")
    assert_no_console_errors(page_log)

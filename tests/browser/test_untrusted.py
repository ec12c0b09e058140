"""A notebook from elsewhere (untrusted) shows its saved outputs: everything that runs no code,
its HTML sanitized; what runs code or loads anything is withheld and named, with the trust
action in place (docs/snapshots.md, "Trust")."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from typing import Any

import nbformat
from bokeh import __version__ as BOKEH_VERSION
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import CustomJS, Div, GMapOptions, Slider
from bokeh.plotting import figure, gmap
from playwright.sync_api import Locator, Page, expect

from .jupyter import (
    JupyterServer,
    assert_no_console_errors,
    assert_no_foreign_requests,
    cell_output,
    open_notebook,
    write_notebook,
)
from .test_notebooks import NOTEBOOKS_DIR
from .test_snapshots import saved_output, static_output

EVIL = "<b>bold</b><img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>"

#: What in an output (shadow roots included) would run or load: event handler attributes,
#: scripts, image sources.
RUNNABLE = """(el) => {
  const found = [];
  const walk = (root) => {
    for (const e of root.querySelectorAll('*')) {
      for (const a of e.attributes) {
        if (/^on/i.test(a.name)) found.push(`${e.localName} ${a.name}`);
      }
      if (e.localName === 'script') found.push('script');
      if (e.localName === 'img' && e.hasAttribute('src')) found.push('img src');
      if (e.shadowRoot) walk(e.shadowRoot);
    }
  };
  walk(el);
  return found;
}"""

SET_SLIDER = "(el, value) => { el.bokehNbStatic.get_model_by_name('s').value = value; }"

#: The names of the models in the document an output rendered.
MODEL_NAMES = "(el) => [...el.bokehNbStatic._all_models.values()].map(m => m.type)"


def snapshot_of(*roots: Any) -> str:
    doc = Document()
    for root in roots:
        doc.add_root(root)
    return serialize_json(doc.to_json(deferred=False)).replace("<", "\\u003c")


def must_show() -> str:
    """A plot, a Div whose markup would run and load, and a slider with a CustomJS callback
    (whose args hold the only definition of the Div it writes to)."""
    plot = figure(width=300, height=200, tools="pan", name="plot")
    plot.scatter([1, 2, 3], [1, 4, 9], size=10)
    out = Div(text="not moved", name="out")
    slider = Slider(start=0, end=10, value=1, step=1, title="s", name="s")
    code = "out.text = 'moved ' + cb_obj.value; window.__bokeh_nb_moved = cb_obj.value;"
    slider.js_on_change("value", CustomJS(args={"out": out}, code=code))
    return snapshot_of(column(slider, Div(text=EVIL, name="evil"), plot, out))


def requests_to(page_log: Any, pattern: str) -> list[str]:
    urls = page_log.requests + page_log.blocked_requests + page_log.failed_requests
    return [u for u in urls if re.search(pattern, u)]


def nothing_ran(page: Page, out: Locator) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert out.evaluate(RUNNABLE) == []


def test_untrusted_output_shows_sanitized_markup_withholds_code_and_trusts_in_place(
    jupyter_frontend: JupyterServer, page: Page, page_log: Any, nb_name: str
) -> None:
    server = jupyter_frontend
    cells: list[Any] = [{"source": "saved", "outputs": [saved_output(must_show(), BOKEH_VERSION)]}]
    write_notebook(server.root_dir, nb_name, cells)
    open_notebook(page, server, nb_name)

    out = static_output(page, 0)
    expect(out.locator(".bokeh-nb-badge")).to_contain_text("Untrusted notebook")
    expect(out.locator("b", has_text="bold")).to_have_count(1)
    expect(out.locator("canvas").first).to_be_visible()
    expect(out.locator(".bk-slider-title").first).to_contain_text("s")
    withheld = out.locator(".bokeh-nb-withheld")
    expect(withheld).to_contain_text("Withheld until this notebook is trusted: CustomJS.")
    nothing_ran(page, out)
    assert requests_to(page_log, r"/x(?:[?#]|$)") == []
    # the callback is not in the document: moving the slider runs nothing
    assert "CustomJS" not in out.evaluate(MODEL_NAMES)
    assert {"Slider", "Div", "Figure"} <= set(out.evaluate(MODEL_NAMES))
    out.evaluate(SET_SLIDER, 4)

    withheld.get_by_role("button", name="Trust notebook").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Trust", exact=True).click()
    expect(cell_output(page, 0).locator(".bokeh-nb-withheld")).to_have_count(0)
    trusted = static_output(page, 0)
    expect(trusted.locator(".bokeh-nb-badge")).not_to_contain_text("Untrusted")
    assert "CustomJS" in trusted.evaluate(MODEL_NAMES)
    trusted.evaluate(SET_SLIDER, 7)
    page.wait_for_function("() => window.__bokeh_nb_moved === 7", timeout=10_000)
    expect(trusted.locator(":is(.bk-clearfix, .bk-markup)", has_text="moved 7")).to_have_count(1)


def test_a_model_that_loads_a_third_party_script_is_withheld(
    lab_server: JupyterServer, page: Page, page_log: Any, nb_name: str
) -> None:
    options = GMapOptions(lat=30.27, lng=-97.74, map_type="roadmap", zoom=11)
    plot = gmap("not-a-key", options, width=300, height=200)
    plot.scatter([-97.7], [30.2], size=10)
    snapshot = snapshot_of(column(Div(text="<i>beside the map</i>"), plot))
    cells: list[Any] = [{"source": "map", "outputs": [saved_output(snapshot, BOKEH_VERSION)]}]
    write_notebook(lab_server.root_dir, nb_name, cells)
    open_notebook(page, lab_server, nb_name)

    out = static_output(page, 0)
    expect(out.locator(".bokeh-nb-withheld")).to_contain_text("GMap")
    expect(out.locator("i", has_text="beside the map")).to_have_count(1)
    nothing_ran(page, out)
    assert requests_to(page_log, r"google") == []


def crafted(roots: list[Any]) -> str:
    return json.dumps({"version": BOKEH_VERSION, "roots": roots}).replace("<", "\\u003c")


def obj(name: str, id_: str, **attributes: Any) -> dict[str, Any]:
    return {"type": "object", "name": name, "id": id_, "attributes": attributes}


RUN = "window.__pwned = 4"


def test_crafted_snapshots_run_nothing_and_say_what_they_withheld(
    lab_server: JupyterServer, page: Page, page_log: Any, nb_name: str
) -> None:
    server = lab_server
    # a homoglyph (Cyrillic i) and a zero-width space: not the names on the list
    homoglyph = crafted([obj("D\u0456v", "a", text=EVIL), obj("Div\u200b", "b", text=EVIL)])
    # a name escaped in the raw JSON, "type" spaced out, the name given twice
    escaped = (
        '{"roots": [{"type":"object","name":"Button","id":"b","attributes":{"label":"press",'
        '"js_event_callbacks":{"type":"map","entries":[["button_click",[{ "type" : "object" ,'
        ' "name" : "Div", "name" : "Cust\\u006fmJS", "id":"j","attributes":{"code":"' + RUN
        + '"}}]]]}}}]}'
    )  # fmt: skip
    # a model name only in a map key, and a whole document nested in a model's tags
    nested = crafted([
        obj("Paragraph", "p", text="still shown", tags=[
            {"type": "map", "entries": [[obj("CustomJS", "k", code=RUN), 1]]},
            {"roots": [obj("CustomJS", "n", code=RUN)]},
        ]),
    ])  # fmt: skip
    # a version that walks out of the BokehJS route to a script the notebook ships
    (server.root_dir / "shipped").mkdir(exist_ok=True)
    (server.root_dir / "shipped" / "bokeh.min.js").write_text(f"{RUN};\n")
    fine = snapshot_of(Div(text="fine"))
    cells: list[Any] = [
        {"source": "homoglyph", "outputs": [saved_output(homoglyph, BOKEH_VERSION)]},
        {"source": "escaped", "outputs": [saved_output(escaped, BOKEH_VERSION)]},
        {"source": "nested", "outputs": [saved_output(nested, BOKEH_VERSION)]},
        {"source": "walks", "outputs": [saved_output(fine, "../../../files/shipped")]},
    ]
    write_notebook(server.root_dir, nb_name, cells)
    open_notebook(page, server, nb_name)

    first = cell_output(page, 0).locator(".bokeh-nb-withheld")
    expect(first).to_contain_text("D\\u0456v", timeout=90_000)
    expect(first).to_contain_text("Div\\u200b")
    expect(cell_output(page, 0).locator("b")).to_have_count(0)

    button = static_output(page, 1)
    expect(button.locator(".bokeh-nb-withheld")).to_contain_text("CustomJS")
    button.get_by_role("button", name="press").click()

    paragraph = static_output(page, 2)
    expect(paragraph).to_contain_text("still shown")
    expect(paragraph.locator(".bokeh-nb-withheld")).to_contain_text("CustomJS")

    expect(cell_output(page, 3).get_by_role("alert")).to_contain_text("not a version")
    for cell in range(4):
        nothing_ran(page, cell_output(page, cell))
    assert requests_to(page_log, r"shipped") == []


#: Shipped notebooks opened as a person who cloned the project would: a quickstart, the
#: sharing notebook (whose output used to tell the user to install bokeh_nb) and one with a
#: DataTable and widgets.
SHIPPED = ("01_quickstart.ipynb", "04_data_on_server.ipynb", "08_sharing.ipynb")
OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"


def test_the_shipped_notebooks_show_their_plots_untrusted_without_running(
    jupyter_frontend: JupyterServer, page: Page, page_log: Any
) -> None:
    server = jupyter_frontend
    folder = server.root_dir / f"shipped-{uuid.uuid4().hex[:8]}"
    shutil.copytree(
        NOTEBOOKS_DIR, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    )
    for name in SHIPPED:
        cells = nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells
        outputs = {
            i: [o.get("data", {}) for o in c.get("outputs", [])] for i, c in enumerate(cells)
        }
        saved = {i: n for i, d in outputs.items() if (n := sum(OUTPUT_MIME in x for x in d))}
        assert saved, f"{name} has no bokeh_nb output"
        versions = {
            x[OUTPUT_MIME]["bokeh_version"] for d in outputs.values() for x in d if OUTPUT_MIME in x
        }
        open_notebook(page, server, f"{folder.name}/{name}")
        # copied here, never signed by this server: untrusted, as from a repository
        trusted = page.evaluate(
            "() => [...window.__harness.nb().content.model.cells].some("
            "c => c.type === 'code' && c.trusted)"
        )
        assert not trusted, f"{name} opened trusted"
        if versions != {BOKEH_VERSION}:
            # saved with another bokeh than this server's: BokehJS from the notebook runs
            # only once it is trusted; until then, the saved pictures and the trust button
            (version,) = versions
            for i, n in saved.items():
                out = cell_output(page, i)
                out.scroll_into_view_if_needed()
                said = out.locator(
                    ".bokeh-nb-static .bokeh-nb-badge",
                    has_text=f"BokehJS {version} is not on this Jupyter server",
                )
                expect(said).to_have_count(n, timeout=90_000)
                pictures = sum(OUTPUT_MIME in x and "image/png" in x for x in outputs[i])
                expect(out.locator("img.bokeh-nb-picture")).to_have_count(pictures)
                expect(out.get_by_role("button", name="Trust notebook")).to_have_count(n)
                assert out.locator(".bokeh-nb-error").count() == 0, (name, i)
            first = cell_output(page, next(iter(saved)))
            first.get_by_role("button", name="Trust notebook").first.click()
            page.locator(".jp-Dialog").get_by_role("button", name="Trust", exact=True).click()
        for i, n in saved.items():  # as a person scrolls through it (cells render in view)
            out = cell_output(page, i)
            out.scroll_into_view_if_needed()
            shown = out.locator(".bokeh-nb-static[data-bokeh-nb-rendered='true']")
            expect(shown).to_have_count(n, timeout=90_000)
            assert out.locator(".bokeh-nb-error").count() == 0, (name, i)
            text = out.inner_text().lower()
            assert "install bokeh_nb" not in text and "pip install" not in text, (name, i)
            for k in range(n):  # the saved plots are drawn, not only their text
                box = shown.nth(k).bounding_box()
                assert box is not None and box["height"] > 20, (name, i, box)
    assert_no_console_errors(page_log)
    assert_no_foreign_requests(page_log, server)

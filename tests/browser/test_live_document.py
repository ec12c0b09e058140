"""The live-document core in a real JupyterLab and Notebook 7, driven through Chromium."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .bokeh import bokeh_output, drag_handle, kernel_json, wait_kernel
from .jupyter import (
    add_and_run_cell,
    assert_no_console_errors,
    assert_no_foreign_requests,
    execute_command,
    open_notebook,
    reload_page,
    run_all_cells,
    save_notebook,
    select_cell,
    write_notebook,
)

ISSUE_CELL = """\
import bokeh_nb; bokeh_nb.enable()
from bokeh.plotting import figure, show
from bokeh.models import Button, Div, Slider
from bokeh.layouts import column
p = figure(); r = p.line([1, 2, 3], [1, 4, 9])
s = Slider(start=1, end=10, value=2, title="power"); b = Button(label="press"); d = Div(text="0")
s.on_change("value", lambda attr, old, new: r.data_source.data.update(y=[x ** new for x in [1, 2, 3]]))
b.on_click(lambda: setattr(d, "text", str(int(d.text) + 1)))
show(column(s, b, d, p))"""

# The first ColumnDataSource's column `y` in the browser's BokehJS document.
BROWSER_Y = """el => {
  const doc = el.bokehNbModel.document;
  const src = [...doc._all_models.values()].find(m => m.type === 'ColumnDataSource');
  const data = src.data instanceof Map ? Object.fromEntries(src.data) : src.data;
  return Array.from(data.y);
}"""


def test_issue_cell_two_way(jupyter_frontend, page, page_log, nb_name):
    server = jupyter_frontend
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page)
    expect(out.get_by_role("button", name="press")).to_be_visible()

    # button -> Python on_click -> Div text -> browser
    out.get_by_role("button", name="press").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    out.get_by_role("button", name="press").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")

    # slider (dragged with the mouse) -> Python on_change -> line data -> browser
    drag_handle(page, out, 60)
    expect(out.locator(".bk-slider-title").first).not_to_have_text("power: 2")
    value = int(out.locator(".bk-slider-title").first.inner_text().split(":")[-1])
    assert value > 2
    wait_kernel(page, "s.value", value)  # the browser's last value reaches Python
    expected = [1, 2**value, 3**value]
    page.wait_for_function(
        f"el => JSON.stringify(({BROWSER_Y})(el)) === '{json.dumps(expected).replace(' ', '')}'",
        arg=out.element_handle(),
        timeout=30_000,
    )
    assert kernel_json(page, "[r.data_source.data['y'], d.text]") == [expected, "2"]

    # Python, from another cell -> browser
    add_and_run_cell(page, "d.text = 'hello'")
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("hello")

    # new data, then a stream, in one callback (one frame): the page has each row once
    add_and_run_cell(
        page,
        "def both():\n"
        "    r.data_source.data.update(y=[0, 0, 0])\n"
        "    r.data_source.stream({'x': [4], 'y': [16]})\n"
        "r.document.add_next_tick_callback(both)",
    )
    page.wait_for_function(
        f"el => ({BROWSER_Y})(el).length >= 4", arg=out.element_handle(), timeout=30_000
    )
    # (a frame's events are applied in one go: no row of it can come later)
    assert out.evaluate(BROWSER_Y) == kernel_json(page, "r.data_source.data['y']") == [0, 0, 0, 16]

    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


def test_reload_shows_current_state(jupyter_frontend, page, page_log, nb_name):
    server = jupyter_frontend
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page)
    out.get_by_role("button", name="press").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    add_and_run_cell(page, "d.text = 'changed in python'; s.value = 7")
    expect(out.locator(".bk-slider-title").first).to_contain_text("7")
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("changed in python")
    save_notebook(page)

    reload_page(page)
    out = bokeh_output(page)
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("changed in python")
    expect(out.locator(".bk-slider-title").first).to_contain_text("7")
    # and it is live again: a new change reaches the reloaded page
    add_and_run_cell(page, "d.text = 'after reload'")
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("after reload")
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


def test_second_view_stays_in_sync(lab_server, page, page_log, nb_name):
    """JupyterLab's "Create New View for Cell Output": one more view of the same output.
    (Notebook 7 does not register that command; see test_second_page_stays_in_sync.)"""
    server = lab_server
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    bokeh_output(page)
    select_cell(page, 0)
    execute_command(page, "notebook:create-output-view")
    views = page.locator(".bokeh-nb-output")
    expect(views).to_have_count(2, timeout=60_000)
    for i in range(2):
        expect(views.nth(i)).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=60_000)

    views.nth(1).get_by_role("button", name="press").click()  # in the new view
    for i in range(2):
        expect(views.nth(i).locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    views.nth(0).get_by_role("button", name="press").click()  # in the notebook
    for i in range(2):
        expect(views.nth(i).locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    add_and_run_cell(page, "d.text = 'both'")
    for i in range(2):
        expect(views.nth(i).locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("both")
    assert_no_console_errors(page_log)


def test_second_page_stays_in_sync(notebook_server, browser, page, page_log, nb_name):
    """Notebook 7 has no output views in its single-document shell: a second page on
    the same notebook and kernel is its way of showing one output twice."""
    server = notebook_server
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    first = bokeh_output(page)
    save_notebook(page)
    other = page.context.new_page()
    open_notebook(other, server, nb_name)
    second = bokeh_output(other)
    second.get_by_role("button", name="press").click()
    expect(second.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    expect(first.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    first.get_by_role("button", name="press").click()
    expect(first.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    expect(second.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")
    assert_no_console_errors(page_log)

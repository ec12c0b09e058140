"""What callbacks print, in a real JupyterLab and Notebook 7: a slider callback's ``print``
and ``logging.warning`` show in the cell of the output whose slider was dragged, once; a
periodic callback's in the newest output of its document; a share-link page's go to the
server's log and the author's notebook output, never to the visitor."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, expect

from .bokeh import bokeh_output, create_share, drag_handle, kernel_json, wait_kernel
from .jupyter import (
    add_and_run_cell,
    assert_no_console_errors,
    assert_no_foreign_requests,
    cell_output,
    cell_outputs,
    open_notebook,
    run_all_cells,
    write_notebook,
)
from .test_standalone import APP_CELL

PRINTING_CELL = """\
import logging, bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
s = Slider(start=0, end=100, value=1, step=1, title="n", width=400); d = Div(text="0")
def cb(attr, old, new):
    print("value is", new)
    logging.warning("warned at %s", new)
    d.text = str(new)
s.on_change("value", cb)
lay = column(s, d)
bokeh_nb.show(lay)"""

#: a second view of the same document, in another cell
SECOND_VIEW = "bokeh_nb.show(lay)"


def printed(out: Locator) -> str:
    """The text the output shows as printed by its callbacks."""
    return "".join(out.locator(".bokeh-nb-stream pre").all_inner_texts())


def all_printed(page: Page) -> str:
    return "".join(page.locator(".bokeh-nb-stream pre").all_inner_texts())


def wait_printed(out: Locator, pattern: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, text := printed(out)):
        assert time.monotonic() < deadline, f"{pattern!r} not in {text!r}"
        time.sleep(0.2)
    return text


def test_callback_prints_show_once_in_the_cell_of_their_output(
    jupyter_frontend, page, page_log, nb_name
):
    server = jupyter_frontend
    write_notebook(server.root_dir, nb_name, [PRINTING_CELL, SECOND_VIEW])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    first, second = bokeh_output(page, 0), bokeh_output(page, 1)

    drag_handle(page, first, 80)
    expect(first.locator(":is(.bk-clearfix, .bk-markup)").first).not_to_have_text("0")
    value = int(first.locator(".bk-slider-title").first.inner_text().split(":")[-1])
    wait_kernel(page, "s.value", value)
    text = wait_printed(first, rf"value is {value}\n(.|\n)*warned at {value}\n")
    lines = text.splitlines()
    values = [line.split()[-1] for line in lines if line.startswith("value is")]
    assert values and values[-1] == str(value)
    assert len(values) == len(set(values)), f"a line twice: {text!r}"  # once each
    assert [f"WARNING:root:warned at {v}" for v in values] == [
        line for line in lines if "warned" in line
    ]
    # once on the page: not in the other view of the same document, nor in any cell's
    # own outputs (the notebook model), and stdout / stderr look like a cell's
    assert printed(second) == ""
    assert all_printed(page) == text
    stdout = first.locator('.bokeh-nb-stream[data-mime-type="application/vnd.jupyter.stdout"]')
    expect(stdout.first).to_be_visible()
    for cell in (0, 1):
        assert "value is" not in str(cell_outputs(page, cell))

    # a periodic callback of the document: the newest output of the document shows it
    add_and_run_cell(
        page,
        "ticks = []\n"
        "def tick():\n"
        "    ticks.append(1); print('tick', len(ticks))\n"
        "    if len(ticks) == 3: lay.document.remove_periodic_callback(pc)\n"
        "pc = lay.document.add_periodic_callback(tick, 200)",
    )
    wait_printed(second, r"tick 1\ntick 2\ntick 3\n")
    assert "tick" not in printed(first)
    page.wait_for_timeout(1000)
    assert all_printed(page).count("tick") == 3
    assert "tick" not in str(cell_outputs(page, 2))

    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


PRINTING_APP = APP_CELL.replace(
    'setattr(d, "text", f"{who} value={new}"))',
    '(print("page printed", new), setattr(d, "text", f"{who} value={new}")))',
)


def test_a_share_link_pages_print_reaches_the_log_and_the_author_not_the_visitor(
    lab_server, browser, page, page_log, nb_name
):
    server = lab_server
    assert PRINTING_APP != APP_CELL
    write_notebook(server.root_dir, nb_name, [PRINTING_APP])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, 0)
    kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
    share = create_share(server, kernel_id, "sliders", "interact")

    visitor_ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        visitor = visitor_ctx.new_page()
        visitor.goto(server.origin + share["path"])
        div = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
        expect(div).to_have_text("who=-", timeout=60_000)
        drag_handle(visitor, visitor.locator("body"), 120)
        expect(div).to_contain_text("- value=")
        value = div.inner_text().rsplit("=", 1)[1]
        # the author sees it in the app's notebook output, marked as a page's
        wait_printed(out, rf"\[a page of app 'sliders'\] page printed {value}\n")
        # the server's log has it
        deadline = time.monotonic() + 30
        while f"page printed {value}" not in server.log_text():
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.5)
        # the visitor never
        assert "page printed" not in visitor.content()
    finally:
        visitor_ctx.close()
    assert "page printed" not in str(cell_outputs(page, 0))
    expect(cell_output(page, 0).locator(".bokeh-nb-error")).to_have_count(0)
    assert_no_console_errors(page_log)

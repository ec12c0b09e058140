"""The Jupyter server restarts (same port, token and root dir) while a notebook with a live
output, a live app page and a share-link page are open. The kernel dies with the server.

- The notebook page finds the new server; its output keeps its last state and says to
  re-run the cell; re-running the cells (in a new kernel) makes it live again.
- The app page and the share page say the connection was lost (``data-problem="lost"``
  on their ``#bokeh-nb-problem`` alert) instead of freezing silently.
- A stream on another Jupyter server, in another tab, loses no update meanwhile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.bokeh import bokeh_output, create_share, kernel_json, run_notebook
from tests.browser.jupyter import (
    JupyterServer,
    PageLog,
    cell_output,
    instrument_context,
    run_cell,
    wait_for_kernel_idle,
)
from tests.reliability.helpers import APP_PAGE_DIVS, dedicated_server, restart_server
from tests.reliability.test_faults import rows, stream_in, wait_rows

CELLS = [
    """\
import bokeh_nb
from bokeh.models import Div
from bokeh.layouts import column
count = Div(text="0", name="count")
def tick():
    count.text = str(int(count.text) + 1)
bokeh_nb.show(count)
count.document.add_periodic_callback(tick, 200)
""",
    """\
def modify_doc(doc):
    d = Div(text="0", name="count")
    doc.add_root(column(d))
    doc.add_periodic_callback(lambda: setattr(d, "text", str(int(d.text) + 1)), 200)
app = bokeh_nb.App(modify_doc, name="ticker")
app
""",
]

#: The value of the Div named "count" in the document a live output shows.
COUNT = """(el) => {
  const doc = el.bokehNbModel.document;
  return Number([...doc._all_models.values()].find(m => m.name === 'count').text);
}"""

#: As choosing "Python 3" in the "Select Kernel" dialog that running a cell opens when the
#: notebook has no kernel.
START_KERNEL = "() => window.__harness.panel().sessionContext.changeKernel({name: 'python3'})"


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[JupyterServer]:
    """A Jupyter server of this test alone: the shared ones must not restart."""
    with dedicated_server("lab", tmp_path / "restartable") as server:
        yield server


def wait_value(read: object, above: int, timeout: float = 60) -> int:
    """Poll read() until it is above ``above``; its value."""
    deadline = time.monotonic() + timeout
    while (value := read()) <= above:  # type: ignore[operator]
        assert time.monotonic() < deadline, f"stuck at {value}"
        time.sleep(0.3)
    return value  # type: ignore[no-any-return]


def open_app_pages(browser, server: JupyterServer, nb: Page, log: PageLog):  # type: ignore[no-untyped-def]
    """The live app's own page (in the author's browser) and a share-link page (in a
    browser without a Jupyter login), both showing the app's ticking Div."""
    url, kernel_id = kernel_json(nb, "[app.url, bokeh_nb.kernel.app.kernel_id()]")
    app_page = nb.context.new_page()
    app_page.goto(url)
    share = create_share(server, kernel_id, "ticker", "view")
    share_context = browser.new_context()
    instrument_context(share_context, log)
    share_page = share_context.new_page()
    share_page.goto(server.origin + share["path"])
    for p in (app_page, share_page):
        wait_value(lambda p=p: int(p.evaluate(APP_PAGE_DIVS).get("count", -1)), 2)
    return app_page, share_context, share_page


def problem(p: Page) -> Locator:
    return p.locator("#bokeh-nb-problem")


@pytest.mark.timeout(420)
def test_the_server_restarts_while_pages_are_open(
    browser, restartable, lab_server, page, page_log, nb_name, report_figure
):
    server = restartable
    other = stream_in(page, lab_server, "other-" + nb_name)  # on the shared server
    log = PageLog()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    instrument_context(context, log)
    share_context = None
    try:
        nb = context.new_page()
        out = run_notebook(server, nb, nb_name, CELLS)
        app_page, share_context, share_page = open_app_pages(browser, server, nb, log)
        wait_value(lambda: out.evaluate(COUNT), 5)
        wait_rows(other, 20)

        down = restart_server(server)
        restarted = time.monotonic()
        # the app pages say so
        for p in (app_page, share_page):
            expect(problem(p)).to_have_attribute("data-problem", "lost", timeout=60_000)
            expect(problem(p)).to_be_visible()
            expect(problem(p)).to_contain_text("Reload the page to reconnect")
        assert "/bokeh-nb/s/" not in problem(share_page).inner_text()
        # the notebook's output keeps its last state and says to re-run the cell
        output = cell_output(nb, 0)
        expect(output.locator(".bokeh-nb-badge").first).to_contain_text(
            "re-run the cell to reconnect", timeout=120_000
        )
        badge_after = time.monotonic() - restarted
        kept = out.evaluate(COUNT)
        assert kept >= 5, "the output keeps the state it had"
        time.sleep(1)
        assert out.evaluate(COUNT) == kept, "nothing changes it any more"

        # the page talks to the new server: it learns that the kernel session is gone ...
        nb.wait_for_function(
            "() => window.__harness.panel().sessionContext.session === null", timeout=90_000
        )
        # ... and a new kernel runs the cells again: live again
        nb.evaluate(START_KERNEL)
        wait_for_kernel_idle(nb)
        for cell in range(len(CELLS)):
            assert run_cell(nb, cell)
        live = bokeh_output(nb, 0)
        wait_value(lambda: live.evaluate(COUNT), 3)
        expect(output.locator(".bokeh-nb-badge")).to_have_count(0)
        live_after = time.monotonic() - restarted
        new_url = kernel_json(nb, "app.url")
        app_page.goto(new_url)  # the app of the new kernel, at its new address
        wait_value(lambda: int(app_page.evaluate(APP_PAGE_DIVS).get("count", -1)), 2)
        expect(problem(app_page)).to_be_hidden()

        got = rows(other)
        assert got == list(range(len(got))), "the stream on the other server lost nothing"
        sent = kernel_json(page, "sent[0]")
        assert len(wait_rows(other, sent)) >= sent
        report_figure(
            f"server down {down:.1f} s (SIGTERM to answering again); the output said "
            f"'re-run the cell' {badge_after:.1f} s after, keeping its last count {kept}; "
            f"live again {live_after:.1f} s after the restart (new kernel, cells re-run); "
            f"app and share pages showed 'connection lost'; the stream on another server "
            f"received {len(got)} of {len(got)} rows in order"
        )
        assert not [e for e in log.page_errors if "bokeh" in e.lower()], log.page_errors
    finally:
        if share_context is not None:
            share_context.close()
        context.close()

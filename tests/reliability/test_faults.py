"""A kernel killed mid-stream: its output keeps the last state it had and says how to
reconnect; a stream in another notebook, on another kernel, loses no update meanwhile."""

from __future__ import annotations

import os
import signal
import time

from playwright.sync_api import Locator, Page, expect

from tests.browser.bokeh import bokeh_output, kernel_json
from tests.browser.jupyter import cell_output, open_notebook, run_all_cells, write_notebook

STREAM = """\
import os
import bokeh_nb
from bokeh.models import ColumnDataSource, Div
from bokeh.layouts import column
from bokeh.plotting import figure
source = ColumnDataSource(data=dict(seq=[], y=[]), name="rows")
count = Div(text="0", name="count")
p = figure(width=400, height=200)
p.line("seq", "y", source=source)
sent = [0]
def tick():
    source.stream(dict(seq=[sent[0]], y=[sent[0] % 7]))
    sent[0] += 1
    count.text = str(sent[0])
layout = column(count, p)
bokeh_nb.show(layout)
layout.document.add_periodic_callback(tick, 50)
"""

ROWS = """(el) => {
  const doc = el.bokehNbModel.document;
  const rows = [...doc._all_models.values()].find(m => m.name === 'rows');
  return Array.from(rows.get_column('seq'));
}"""


def rows(out: Locator) -> list[int]:
    return [int(v) for v in out.evaluate(ROWS)]


def wait_rows(out: Locator, at_least: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(got := rows(out)) < at_least:
        assert time.monotonic() < deadline, f"only {len(got)} rows arrived"
        time.sleep(0.2)
    return got


def stream_in(page: Page, server, name: str) -> Locator:  # type: ignore[no-untyped-def]
    write_notebook(server.root_dir, name, [STREAM])
    open_notebook(page, server, name)
    assert run_all_cells(page)
    return bokeh_output(page, 0)


def test_a_kernel_killed_mid_stream(lab_server, page, nb_name, report_figure):
    server = lab_server
    doomed = stream_in(page, server, nb_name)
    other_page = page.context.new_page()
    other = stream_in(other_page, server, "other-" + nb_name)
    wait_rows(doomed, 20)
    wait_rows(other, 20)
    pid = kernel_json(page, "os.getpid()")

    os.kill(pid, signal.SIGKILL)
    killed_at = len(rows(other))
    output = cell_output(page, 0)
    expect(output.locator(".bokeh-nb-badge").first).to_contain_text(
        "re-run the cell to reconnect", timeout=60_000
    )
    kept = rows(doomed)
    assert len(kept) >= 20, "the output keeps what it had"
    expect(output.locator(":is(.bk-clearfix, .bk-markup)").first).not_to_have_text("0")

    got = wait_rows(other, killed_at + 60)  # 3 s more of the other stream
    assert got == list(range(len(got))), "the other notebook's stream lost nothing"
    sent = kernel_json(other_page, "sent[0]")
    assert len(wait_rows(other, sent)) >= sent
    report_figure(
        f"kernel killed mid-stream: its output kept {len(kept)} rows and says to re-run; "
        f"the stream beside it went on, {len(got)} of {len(got)} rows in order "
        f"({len(got) - killed_at} after the kill)"
    )
    other_page.close()

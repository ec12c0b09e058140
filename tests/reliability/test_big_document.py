"""A kernel -> browser document of 200 MB: a line of 12.5 M points, two float64 columns.

- Shown, the output does not pull it unasked: it says how large it is, that showing it can
  keep the tab busy, and offers "Show it". Nothing has been sent; the tab stays responsive.
- "Show it": every value arrives and the plot renders. The figures: seconds until
  rendered, the longest main-thread task the page had, kernel and server memory.
- Meanwhile a stream in another notebook receives every row in order.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.bokeh import kernel_json
from tests.browser.jupyter import cell_output, open_notebook, run_cell, write_notebook
from tests.reliability.helpers import rss_mb
from tests.reliability.test_faults import rows, stream_in, wait_rows

#: Main-thread tasks over 50 ms, as the page records them (the Long Tasks API).
LONGTASKS = """
window.__longtasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push(e.duration);
  }).observe({type: 'longtask', buffered: true});
} catch (e) {}
"""

N = 12_500_000  # x 2 columns x 8 bytes = 200 MB

CELLS = [
    f"""\
import numpy as np, bokeh_nb
from bokeh.plotting import figure
from bokeh.models import ColumnDataSource
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
src = ColumnDataSource(data=dict(x=np.arange({N}, dtype=float), y=np.random.rand({N})))
p = figure(width=500, height=300)
p.line("x", "y", source=src)
""",
    "bokeh_nb.show(p)",
]

WIDGET = "bokeh_nb.kernel.runtime.runtime().outputs[id(p.document)]"

#: What the page's copy of the source holds: [length of x, last x].
RECEIVED = """(el) => {
  const doc = el.bokehNbModel.document;
  const src = [...doc._all_models.values()].find(m => m.data !== undefined && m.selected);
  const x = src.data instanceof Map ? src.data.get('x') : src.data.x;
  return [x.length, x[x.length - 1]];
}"""


def longest_task(page) -> float:  # type: ignore[no-untyped-def]
    return float(page.evaluate("() => Math.max(0, ...window.__longtasks)"))


@pytest.mark.timeout(600)
def test_a_200_mb_document(context, page, page_log, lab_server, nb_name, report_figure):
    context.add_init_script(script=LONGTASKS)
    other_page = context.new_page()
    other = stream_in(other_page, lab_server, "other-" + nb_name)
    write_notebook(lab_server.root_dir, nb_name, CELLS)
    open_notebook(page, lab_server, nb_name)
    assert run_cell(page, 0)
    assert run_cell(page, 1)
    assert kernel_json(page, f"{WIDGET}.data_bytes") == 2 * N * 8

    # asked first: what it is, what showing it costs, nothing sent yet
    gate = cell_output(page, 1).locator(".bokeh-nb-large")
    expect(gate).to_be_visible(timeout=60_000)
    expect(gate).to_contain_text("This output holds 200 MB of data")
    assert kernel_json(page, f"{WIDGET}.buffer_bytes_sent") == 0, "nothing pulled unasked"
    start = time.monotonic()
    assert page.evaluate("() => 1 + 1") == 2
    responsive = time.monotonic() - start
    waiting = longest_task(page)

    # shown anyway: all of it arrives and renders
    before = len(rows(other))
    start = time.monotonic()
    gate.get_by_role("button", name="Show it").click()
    out = cell_output(page, 1).locator(".bokeh-nb-output").first
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=300_000)
    rendered = time.monotonic() - start
    expect(gate).to_have_count(0)
    assert out.evaluate(RECEIVED) == [N, N - 1], "every value arrived"
    sent_mb = kernel_json(page, f"{WIDGET}.buffer_bytes_sent") / 1e6
    assert sent_mb >= 200
    longest = longest_task(page)
    kernel_mb = kernel_json(page, "rss_mb()")
    server_mb = rss_mb(lab_server.proc.pid)

    # the other notebook's stream went on meanwhile, losing nothing
    got = wait_rows(other, before + 20)
    assert got == list(range(len(got))), "the other stream lost nothing"
    report_figure(
        f"200 MB document ({N:,} points x 2 float64): asked first (page answered in "
        f"{responsive * 1000:.0f} ms, longest main-thread task {waiting:.0f} ms, 0 bytes "
        f"sent); shown: {sent_mb:.0f} MB sent, rendered {rendered:.1f} s after the click, "
        f"longest main-thread task {longest / 1000:.1f} s (BokehJS indexing and drawing); "
        f"kernel RSS {kernel_mb:.0f} MB, server RSS {server_mb:.0f} MB; the other stream: "
        f"{len(got)} of {len(got)} rows in order"
    )
    other_page.close()

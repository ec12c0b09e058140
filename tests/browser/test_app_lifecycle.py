"""Apps in the browser: sustained streaming without loss, and cleanup after many cycles.

Both report their figures in the run's summary."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .bokeh import bokeh_output, kernel_json
from .jupyter import (
    assert_no_console_errors,
    cell_output,
    execute_command,
    open_notebook,
    run_all_cells,
    run_cell,
    select_cell,
    write_notebook,
)

STREAM_SECONDS = 60

STREAMING = f"""\
import time, numpy as np, bokeh_nb
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from IPython.display import display
state = {{"ticks": 0, "start": None, "end": None, "last": None}}
def modify_doc(doc):
    src = ColumnDataSource(data={{"x": np.zeros(0), "y": np.zeros(0)}}, name="src")
    p = figure(height=250, output_backend="webgl"); p.line("x", "y", source=src)
    doc.add_root(p)
    def tick():
        now = time.monotonic()
        state["start"] = state["start"] or now
        if now - state["start"] >= {STREAM_SECONDS}:  # the stream ends itself
            doc.remove_periodic_callback(state["cb"])
            state["end"] = now
            return
        n = state["ticks"] * 1000
        x = np.arange(n, n + 1000, dtype="float64")
        src.stream({{"x": x, "y": np.sin(x / 500)}}, rollover=20_000)
        state["ticks"] += 1
        state["last"] = now - state["start"]
    state["src"], state["doc"] = src, doc
    state["cb"] = doc.add_periodic_callback(tick, 10)
w = bokeh_nb.BokehWidget(modify_doc); display(w)
"""

BROWSER_SRC = """el => {
  const src = [...el.bokehNbModel.document._all_models.values()].find(m => m.name === 'src');
  const x = src.data instanceof Map ? src.data.get('x') : src.data.x;
  let sum = 0; for (const v of x) sum += v;
  return {n: x.length, first: x[0], last: x[x.length - 1], sum, received: el.bokehNbModel.received};
}"""


@pytest.mark.timeout(360)
def test_sustained_streaming_loses_nothing(lab_server, page, page_log, nb_name, report_figure):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [STREAMING])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, 0)
    time.sleep(STREAM_SECONDS)
    # the stream has ended itself: the page drains what it has not drawn yet, then runs
    # the cell (a notebook output has no byte-based backpressure: under a stream the page
    # cannot keep up with, a cell's reply waits behind the stream)
    python = kernel_json(
        page,
        "{'n': len(state['src'].data['x']), 'first': float(state['src'].data['x'][0]), "
        "'last': float(state['src'].data['x'][-1]), 'sum': float(state['src'].data['x'].sum()), "
        "'ticks': state['ticks'], 'last_tick': state['last'], 'frames_sent': w.frames_sent, "
        "'seconds': (state['end'] or time.monotonic()) - state['start'], "
        "'ended': state['end'] is not None}",
    )
    elapsed = python["seconds"]
    assert python["ended"], "the stream ended itself"
    page.wait_for_function(
        f"el => ({BROWSER_SRC})(el).last === {python['last']}",
        arg=out.element_handle(),
        timeout=120_000,
    )
    browser = out.evaluate(BROWSER_SRC)
    frames_sent = kernel_json(page, "w.frames_sent")
    browser = out.evaluate(BROWSER_SRC)
    rows = python["ticks"] * 1000
    report_figure(
        f"streaming: {python['ticks']} ticks ({rows} rows) in {elapsed:.0f} s, "
        f"the last at {python['last_tick']:.1f} s, "
        f"{frames_sent} messages sent ({frames_sent / elapsed:.0f}/s), "
        f"{browser['received']} received; browser rows {browser['n']} == python {python['n']}"
    )
    # The page's acknowledgements pace the stream, so how many ticks fit in the minute is
    # the page's speed on this machine, not a pass or a fail (benchmarks/ measures it):
    # the callback must have run all along, into its last seconds, at least once a second.
    assert python["ticks"] >= STREAM_SECONDS, "the periodic callback kept running"
    assert python["last_tick"] >= STREAM_SECONDS - 5, "the periodic callback ran to the end"
    assert browser["n"] == python["n"] == 20_000, "rollover respected on both sides"
    assert browser["first"] == python["first"] and browser["last"] == python["last"]
    assert browser["sum"] == python["sum"], "exactly the rows Python holds"
    assert browser["received"] == frames_sent, "every kernel message reached the page"
    log = server.log_path.read_text()
    assert "rate exceeded" not in log and "rate limit" not in log.lower(), "no iopub drops"
    assert_no_console_errors(page_log)


CYCLE_SETUP = """\
import os, gc, numpy as np, bokeh_nb
from bokeh.plotting import figure
from bokeh_nb.kernel.session import KernelSession
KernelSession.linger = 0.2
destroyed = []
def modify_doc(doc):
    p = figure(height=200); p.scatter(np.random.rand(5000), np.random.rand(5000))
    doc.add_root(p)
    doc.on_session_destroyed(lambda ctx: destroyed.append(ctx.id))
app = bokeh_nb.App(modify_doc, name="cycles")
def rss_mb():
    gc.collect()
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
"""

CYCLES = 200


def test_display_clear_cycles_free_their_sessions(
    lab_server, page, page_log, nb_name, report_figure
):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [CYCLE_SETUP, "app", "print('spacer')"])
    open_notebook(page, server, nb_name)
    assert run_cell(page, 0)
    rss: dict[int, float] = {}
    for cycle in range(1, CYCLES + 1):
        run_cell(page, 1)
        view = cell_output(page, 1).locator(".bokeh-nb-output").first
        expect(view).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=60_000)
        select_cell(page, 1)
        execute_command(page, "notebook:clear-cell-output")
        expect(cell_output(page, 1).locator(".bokeh-nb-output")).to_have_count(0)
        if cycle == 10:
            page.wait_for_timeout(1000)
            rss[10] = kernel_json(page, "rss_mb()")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = kernel_json(
            page,
            "[len(destroyed), len(app.sessions), len(bokeh_nb.kernel.runtime.runtime().outputs)]",
        )
        if state[1:] == [0, 0]:
            break
        page.wait_for_timeout(500)
    rss[CYCLES] = kernel_json(page, "rss_mb()")
    growth = rss[CYCLES] - rss[10]
    report_figure(
        f"cleanup: {CYCLES} display/clear cycles, on_session_destroyed ran {state[0]} times, "
        f"{state[1]} live sessions left; kernel RSS after 10 cycles {rss[10]:.1f} MB, after "
        f"{CYCLES} {rss[CYCLES]:.1f} MB (growth {growth:+.1f} MB)"
    )
    assert state == [CYCLES, 0, 0]
    assert growth <= 10.0
    assert_no_console_errors(page_log)

"""Flow control: rapid browser events coalesce; a 1 ms periodic callback drops nothing."""

from __future__ import annotations

from playwright.sync_api import expect

from .bokeh import bokeh_output, drag_handle, kernel_json
from .jupyter import (
    add_and_run_cell,
    assert_no_console_errors,
    open_notebook,
    run_all_cells,
    write_notebook,
)

SLOW_SLIDER = """\
import time, bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
from IPython.display import display
s = Slider(start=0, end=100, value=0, step=1, title="v", width=600); d = Div(text="-")
calls = []
def slow(attr, old, new):
    calls.append(new); time.sleep(0.05); d.text = f"python saw {new}"
s.on_change("value", slow)
w = bokeh_nb.BokehWidget(column(s, d)); display(w)
"""

COUNT_EVENTS = """el => {
  el.__events = 0;
  el.bokehNbModel.document.on_change(ev => {
    for (const e of (ev.events ?? [ev])) if (e.sync && e.attr === 'value') el.__events += 1;
  }, true);
}"""


def test_rapid_slider_events_coalesce_latest_wins(
    lab_server, page, page_log, nb_name, report_figure
):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [SLOW_SLIDER])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, 0)
    out.evaluate(COUNT_EVENTS)
    drag_handle(page, out, 480, steps=40)
    final = out.locator(".bk-slider-title").first
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        f"python saw {final.inner_text().split(':')[-1].strip()}", timeout=30_000
    )
    browser_events = out.evaluate("el => el.__events")
    calls = kernel_json(page, "calls")
    report_figure(
        f"coalescing: {browser_events} value events in the browser, {len(calls)} callbacks in Python"
    )
    assert len(calls) < browser_events, "events queued behind a slow callback were merged"
    assert calls == sorted(calls), "in order"
    assert kernel_json(page, "s.value") == calls[-1]
    assert_no_console_errors(page_log)


FAST_PERIODIC = """\
import bokeh_nb
from bokeh.models import Div
from IPython.display import display
d = Div(text="0"); n = {"i": 0}
def tick():
    n["i"] += 1; d.text = str(n["i"])
w = bokeh_nb.BokehWidget(d); display(w)
cb = w.document.add_periodic_callback(tick, 1)
"""


def test_periodic_callback_every_millisecond_drops_nothing(
    lab_server, page, page_log, nb_name, report_figure
):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [FAST_PERIODIC])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, 0)
    page.wait_for_timeout(8000)
    add_and_run_cell(page, "w.document.remove_periodic_callback(cb)")
    final = kernel_json(page, "[n['i'], w.frames_sent, w.session.messages_sent]")
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        str(final[0]), timeout=30_000
    )
    received = out.evaluate("el => el.bokehNbModel.received")
    report_figure(f"1 ms periodic: {final[0]} ticks, {final[1]} messages sent, {received} received")
    assert received == final[1], "every message the kernel sent arrived"
    log = server.log_path.read_text()
    assert "rate exceeded" not in log, "Jupyter's iopub rate limit was never hit"
    assert_no_console_errors(page_log)

"""Event round trip, timed inside the page: a slider value set in BokehJS -> Python
on_change -> a Div's text set in Python -> applied in BokehJS. Prints p50/p95 with the
server extension's defaults, with TCP_NODELAY on the kernel websocket off, and with comm
messages tracked in the kernel status pages show; asserts only that every round trip
completed (timings on this machine are for benchmarks/, not for assertions).

With comm messages untracked (the default), an event leaves the status JupyterLab shows
alone (no status bar or favicon change), and still counts as the kernel's activity."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .bokeh import kernel_json
from .jupyter import (
    JupyterServer,
    cell_output,
    open_notebook,
    run_all_cells,
    start_jupyter_server,
    stop_jupyter_server,
    write_notebook,
)

EVENTS = 60

CELL = """\
import bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
s = Slider(start=0, end=10_000, value=0, step=1, name="s"); d = Div(text="-", name="d")
s.on_change("value", lambda attr, old, new: setattr(d, "text", str(new)))
bokeh_nb.show(column(s, d))
"""

ROUND_TRIPS = """async (el, n) => {
  const doc = el.bokehNbModel.document;
  const models = [...doc._all_models.values()];
  const s = models.find(m => m.name === 's'), d = models.find(m => m.name === 'd');
  const times = [];
  for (let i = 1; i <= n; i++) {
    const t0 = performance.now();
    await new Promise(resolve => {
      const check = () => { if (d.text === String(i)) { d.disconnect(d.change, check); resolve(); } };
      d.connect(d.change, check);
      s.value = i;
    });
    times.push(performance.now() - t0);
  }
  return times;
}"""


def _lab(tmp_path_factory: pytest.TempPathFactory, option: str) -> Iterator[JupyterServer]:
    server = start_jupyter_server("lab", tmp_path_factory.mktemp("lab"), extra_args=[option])
    try:
        yield server
    finally:
        stop_jupyter_server(server)


@pytest.fixture(scope="module")
def lab_without_nodelay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _lab(tmp_path_factory, "--BokehNb.tcp_nodelay=False")


@pytest.fixture(scope="module")
def lab_tracking_comms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _lab(tmp_path_factory, "--BokehNb.untrack_comm_status=False")


def measure(server: JupyterServer, page, nb_name: str) -> list[float]:
    write_notebook(server.root_dir, nb_name, [CELL])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = cell_output(page, 0).locator(".bokeh-nb-output").first
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=90_000)
    times = out.evaluate(ROUND_TRIPS, EVENTS)
    assert len(times) == EVENTS
    return sorted(times)[5:]  # the first few include warm-up


def pct(times: list[float], q: float) -> float:
    return times[min(len(times) - 1, int(q * len(times)))]


def test_event_round_trip(
    lab_server, lab_without_nodelay, lab_tracking_comms, browser, nb_name, report_figure
):
    figures = {}
    servers = (
        ("defaults", lab_server),
        ("TCP_NODELAY off", lab_without_nodelay),
        ("comm messages tracked in the kernel status", lab_tracking_comms),
    )
    for label, server in servers:
        context = browser.new_context()
        page = context.new_page()
        try:
            figures[label] = measure(server, page, nb_name)
        finally:
            context.close()
    for label, times in figures.items():
        report_figure(
            f"round trip, {label}: p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms, min {times[0]:.1f} ms"
        )


def _last_activity(server: JupyterServer, kernel_id: str) -> datetime.datetime:
    model = server.api("GET", f"api/kernels/{kernel_id}")
    return datetime.datetime.fromisoformat(model["last_activity"].replace("Z", "+00:00"))


def test_comm_events_leave_the_shown_kernel_status_alone(lab_server, page, nb_name):
    server = lab_server
    favicons: list[str] = []
    page.on("request", lambda r: "favicon" in r.url and favicons.append(r.url))
    write_notebook(server.root_dir, nb_name, [CELL])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = cell_output(page, 0).locator(".bokeh-nb-output").first
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=90_000)
    untracked = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        ".untracked_message_types"
    )
    assert "comm_msg" in untracked
    assert favicons, "running the cells showed the kernel busy (the favicon changed)"
    kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
    time.sleep(1.5)
    before, favicons[:] = _last_activity(server, kernel_id), []
    times = out.evaluate(ROUND_TRIPS, 20)
    assert len(times) == 20
    assert favicons == [], "a comm event changed the kernel status the page shows"
    assert _last_activity(server, kernel_id) > before, "comm events count as activity"

"""A million float64 values each way: binary buffers, one comm message per Bokeh message."""

from __future__ import annotations

from .bokeh import bokeh_output, kernel_json
from .jupyter import (
    add_and_run_cell,
    assert_no_console_errors,
    assert_no_foreign_requests,
    open_notebook,
    run_all_cells,
    write_notebook,
)

N = 1_000_000
RAW = 8 * N

SETUP = f"""\
import numpy as np, bokeh_nb
from bokeh.models import Button, ColumnDataSource, CustomJS
from bokeh.layouts import column
from bokeh.plotting import figure
src = ColumnDataSource(data={{"x": np.zeros(3), "y": np.zeros(3)}}, name="src")
drawn = ColumnDataSource(data={{"x": np.zeros(3)}}, name="drawn")
p = figure(output_backend="webgl"); p.scatter("x", "y", source=src)
b = Button(label="send")
b.js_on_click(CustomJS(args=dict(drawn=drawn), code=\"\"\"
  const x = new Float64Array({N}); for (let i = 0; i < x.length; i++) x[i] = i * 2;
  drawn.data = {{x}};
\"\"\"))
w = bokeh_nb.BokehWidget(column(b, p)); display(w)
"""

COUNT_COMM = """\
_comm_sends = []
_orig_send = w.comm.send
def _counting_send(*a, **k):
    _comm_sends.append(sum(memoryview(b).nbytes for b in (k.get("buffers") or [])))
    return _orig_send(*a, **k)
w.comm.send = _counting_send
_before = (w.session.messages_sent, w.frames_received, w.buffer_bytes_received)
"""

BROWSER_X = """el => {
  const doc = el.bokehNbModel.document;
  const src = [...doc._all_models.values()].find(m => m.name === 'src');
  const x = src.data instanceof Map ? src.data.get('x') : src.data.x;
  return {kind: x instanceof Float64Array ? 'Float64Array' : x.constructor.name, n: x.length, last: x[x.length - 1], received: el.bokehNbModel.received};
}"""


def test_million_floats_both_ways(lab_server, page, page_log, nb_name):
    server = lab_server
    frames: list[tuple[str, int, bool]] = []

    def on_ws(ws):
        ws.on("framereceived", lambda f: frames.append(("in", len(f), isinstance(f, bytes))))
        ws.on("framesent", lambda f: frames.append(("out", len(f), isinstance(f, bytes))))

    page.on("websocket", on_ws)
    write_notebook(server.root_dir, nb_name, [SETUP, COUNT_COMM])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, 0)
    received_before = out.evaluate(BROWSER_X)["received"]

    # kernel -> browser
    frames.clear()
    # counted inside one cell: nothing else is sent while it runs
    add_and_run_cell(
        page,
        "_b0, _n0 = w.session.messages_sent, len(_comm_sends)\n"
        f"src.data = {{'x': np.arange({N}, dtype='float64'), 'y': np.ones({N})}}\n"
        "_sent = [w.session.messages_sent - _b0, _comm_sends[_n0:]]",
    )
    page.wait_for_function(
        f"el => ({BROWSER_X})(el).n === {N}", arg=out.element_handle(), timeout=60_000
    )
    state = out.evaluate(BROWSER_X)
    assert state["kind"] == "Float64Array" and state["last"] == N - 1
    sent = kernel_json(page, "_sent")
    assert sent[0] == 1, "one Bokeh message"
    assert sent[1] == [2 * RAW], "exactly one comm message, both columns as raw buffers"
    assert state["received"] > received_before
    big = [n for d, n, binary in frames if d == "in" and n > RAW]
    assert len(big) == 1 and big[0] <= 2 * RAW * 1.05, frames[-5:]
    assert all(binary for d, n, binary in frames if d == "in" and n > RAW), "binary, never base64"

    # browser -> kernel: a CustomJS replaces the data with a million values per column
    frames.clear()
    out.get_by_role("button", name="send").click()
    result = None
    for _ in range(60):
        result = kernel_json(
            page,
            "[len(drawn.data['x']), float(drawn.data['x'][-1]), type(drawn.data['x']).__name__, w.frames_received - _before[1], w.buffer_bytes_received - _before[2]]",
        )
        if result[0] == N:
            break
    # BokehJS sends a typed array; bokeh decodes it to a compact array('d') (as under
    # `bokeh serve`), never a list of Python floats
    assert result is not None and result[:2] == [N, 2.0 * (N - 1)]
    assert result[2] in ("array", "ndarray")
    assert result[4] == RAW, "the column arrived as one raw binary buffer"
    big_out = [n for d, n, binary in frames if d == "out" and n > RAW]
    assert len(big_out) == 1 and big_out[0] <= RAW * 1.05
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)

"""The kernel keeps each output's snapshot where no page is attached (an execute request with
``allow_stdin`` false, as nbconvert, papermill and nbval send): one ``update_display_data``
per changed output at the end of a cell, BokehJS carried by exactly one output, bounded by
``snapshot_limit``, and nothing at all for a request a page sent."""

from __future__ import annotations

import json
import queue
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from bokeh_nb.kernel.snapshot import loader

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"
SNAPSHOT = re.compile(r'<script type="application/vnd.bokeh-nb.snapshot\+json">(.*?)</script>')


class Headless:
    """A real kernel driven as a client without a page drives it."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km, self.kc = km, kc

    def run(self, code: str, allow_stdin: bool = False, interrupt_after: float | None = None,
            timeout: float = 60) -> list[dict[str, Any]]:  # fmt: skip
        """Run code; the iopub messages of that execution (an error fails the test unless
        the cell was interrupted)."""
        msg_id = self.kc.execute(code, allow_stdin=allow_stdin)
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            self.km.interrupt_kernel()
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no idle after {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out.append(msg)
            if msg["msg_type"] == "error" and interrupt_after is None:
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stderr":
                raise AssertionError(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out


@pytest.fixture
def headless() -> Iterator[Headless]:
    km, kc = start_new_kernel(kernel_name="python3", extra_arguments=[], startup_timeout=60)
    km.kernel_spec.argv[0] = sys.executable
    try:
        yield Headless(km, kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def updates(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["content"] for m in msgs if m["msg_type"] == "update_display_data"]


def of(kind: str, msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["content"] for m in msgs if m["msg_type"] == kind]


def snapshot(content: dict[str, Any]) -> dict[str, Any] | None:
    found = SNAPSHOT.search(content["data"]["text/html"])
    return None if found is None else json.loads(found.group(1))


def bundles(content: dict[str, Any]) -> int:
    return int(content["data"]["text/html"].count("<script data-bokeh-nb-bundle>"))


PLOT = """\
import bokeh_nb
from bokeh.plotting import figure
from bokeh.models import Div, Slider
from bokeh.layouts import column
p = figure(width=300, height=200); r = p.line([1, 2, 3], [1, 4, 9])
d = Div(text="</script><b>start</b>", name="d")
bokeh_nb.show(column(d, p))
"""


def test_each_cell_end_snapshots_only_the_outputs_that_changed(headless):
    first = headless.run(PLOT)
    shown = of("display_data", first)
    assert len(shown) == 1 and OUTPUT_MIME in shown[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in shown[0]["data"]
    assert of("comm_open", first) == [], "no widget comm and no frontend probe without a page"
    a = shown[0]["transient"]["display_id"]
    [u] = updates(first)
    assert u["transient"]["display_id"] == a and bundles(u) == 2, "bokeh + widgets, in it"
    html = u["data"]["text/html"]
    body = html[html.index('<div class="bokeh-nb-snapshot"') :]
    assert body.count("</script") == 2, "the Div's </script> is escaped in the snapshot"
    assert u["data"][OUTPUT_MIME]["snapshot_bytes"] > 1000 and u["data"][OUTPUT_MIME]["note"] == ""
    assert loader() in html
    # where no script runs (a code host's preview), the text says what the output shows
    words = "Bokeh output: plot (line of 3 points); Div."
    assert u["data"]["text/plain"].startswith(words)
    assert f'<div class="bokeh-nb-fallback">{words} Interactive Bokeh output' in html

    second = headless.run('bokeh_nb.show(Slider(start=0, end=1, value=0.5, name="s"))')
    [u2] = updates(second)
    assert u2["transient"]["display_id"] != a and bundles(u2) == 0, "BokehJS stays in the first"

    changed = headless.run('d.text = "hello"')
    [u3] = updates(changed)
    assert u3["transient"]["display_id"] == a and bundles(u3) == 2
    doc = snapshot(u3)
    assert doc is not None and '"hello"' in json.dumps(doc)
    assert updates(headless.run("x = 1")) == [], "nothing changed, nothing sent"


def test_the_carrier_moves_when_its_output_is_cleared(headless):
    msgs = headless.run(
        PLOT + "from IPython.display import clear_output\nclear_output()\n"
        "bokeh_nb.show(Slider(start=0, end=1, value=0.5))\n"
    )
    [u] = updates(msgs)
    shown = of("display_data", msgs)
    assert u["transient"]["display_id"] == shown[-1]["transient"]["display_id"]
    assert bundles(u) == 2, "the one output still shown carries BokehJS"


def test_over_the_bound_an_output_says_so_and_keeps_no_snapshot(headless):
    msgs = headless.run(
        "import bokeh_nb, numpy as np\nfrom bokeh.plotting import figure\n"
        "bokeh_nb.snapshot_limit(100_000)\n"
        "p = figure(); p.scatter(np.arange(50_000.0), np.arange(50_000.0))\nbokeh_nb.show(p)\n"
        "bokeh_nb.snapshot_limit(0)\nbokeh_nb.show(figure())\n"
    )
    over, off = updates(msgs)
    for u, words in ((over, "over this output's snapshot bound"), (off, "Snapshots are off")):
        assert snapshot(u) is None and bundles(u) == 0
        assert words in u["data"][OUTPUT_MIME]["note"] and words in u["data"]["text/html"]
        assert u["data"][OUTPUT_MIME]["snapshot_bytes"] == 0
        assert len(u["data"]["text/html"]) < 2000


def test_an_interrupted_run_keeps_the_last_good_snapshot(headless):
    [good] = updates(headless.run(PLOT))
    # interrupted while the snapshot is built: nothing is sent, the output keeps the last one
    breaking = (
        "import bokeh_nb.kernel.headless as h\n_real = h.document_snapshot\n"
        "def _interrupted(doc): raise KeyboardInterrupt\n"
        "h.document_snapshot = _interrupted\nd.text = 'half'\n"
    )
    msgs = headless.run(breaking)
    assert updates(msgs) == [] and of("error", msgs) == []
    after = updates(headless.run("h.document_snapshot = _real"))
    assert len(after) == 1 and "half" in json.dumps(snapshot(after[0]))
    # a cell interrupted mid-run: its changes so far are in a whole snapshot
    msgs = headless.run("d.text = 'before the interrupt'\nimport time; time.sleep(30)",
                        interrupt_after=2)  # fmt: skip
    assert of("error", msgs)[0]["ename"] == "KeyboardInterrupt"
    [u] = updates(msgs)
    assert "before the interrupt" in json.dumps(snapshot(u))
    assert snapshot(good) is not None


def test_a_request_from_a_page_gets_no_snapshot_from_the_kernel(headless):
    msgs = headless.run(PLOT, allow_stdin=True)
    assert updates(msgs) == []
    [shown] = of("display_data", msgs)
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    assert "data-bokeh-nb-snapshot" not in json.dumps(shown)
    assert updates(headless.run('d.text = "x"', allow_stdin=True)) == []


def test_the_frontend_uses_the_same_loader():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import sync_snapshot_loader
    finally:
        sys.path.pop(0)
    text = (ROOT / "labextension" / "src" / "snapshotLoader.ts").read_text()
    assert text == sync_snapshot_loader.generated(), "run scripts/sync_snapshot_loader.py"
    ts = (ROOT / "labextension" / "src" / "snapshot.ts").read_text()
    assert "import { LOADER } from './snapshotLoader';" in ts
    assert "function (script)" not in ts, "no second copy of the loader"


SIZES = """\
import bokeh_nb, numpy as np
from bokeh.plotting import figure
def plot(n):
    p = figure(width=300, height=200)
    p.scatter(np.arange(n, dtype=float), np.random.default_rng(0).random(n))
    return p
"""


def test_notebook_growth_per_headless_output(tmp_path, report_figure):
    sizes = []
    cells = [SIZES, "bokeh_nb.show(plot(10))", "bokeh_nb.show(plot(10_000))",
             "bokeh_nb.show(plot(1_000_000))"]  # fmt: skip
    for n in range(1, len(cells) + 1):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells[:n]])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
        path = tmp_path / f"{n}.ipynb"
        nbformat.write(nb, path)
        sizes.append(path.stat().st_size)
    bokehjs, small, big = sizes[1] - sizes[0], sizes[2] - sizes[1], sizes[3] - sizes[2]
    assert 1.0e6 < bokehjs < 3e6, "the first output carries BokehJS once"
    assert small < 0.5e6 and 8e6 < big < 30e6, (small, big)
    report_figure(
        f"headless run, notebook growth: first output +{bokehjs / 1e6:.2f} MB (BokehJS once); "
        f"10^4 points +{small / 1e6:.2f} MB; 10^6 points +{big / 1e6:.1f} MB"
    )

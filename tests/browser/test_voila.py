"""bokeh_nb outputs as a Voilà dashboard: standalone ``voila`` and ``/voila/render/...``.

Standalone ``voila`` runs no Jupyter server extension, so its pages get BokehJS from the
kernel over the output's comm (``kernel/bokehjs.py``); under the server extension the
bokeh_nb route serves it. Either way the dashboard is live both ways and offline.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .bokeh import drag_handle
from .jupyter import (
    HOST,
    JupyterServer,
    PageLog,
    assert_no_console_errors,
    free_port,
    prepare_environment,
    start_jupyter_server,
    stop_jupyter_server,
    write_notebook,
)

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"
LABEXTENSION = ROOT / "bokeh_nb" / "labextension"

#: Extensions of this test environment that fail in any Voilà page, whatever else is
#: installed (they require JupyterLab's file browser and document registry): the
#: dashboards are served without them.
NOT_FOR_VOILA = ["@jupyterhub/jupyter-server-proxy", "@jupyter-notebook/lab-extension"]

#: What Voilà's own page template loads from CDNs (Font Awesome CSS; MathJax under the
#: server extension): the only requests off the server's origin, none of them bokeh_nb's.
#: The test browser aborts them (nothing leaves 127.0.0.1).
VOILA_TEMPLATE_CDN = (
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@",
    "https://cdnjs.cloudflare.com/ajax/libs/mathjax/",
)

BROWSER_Y = """el => {
  const doc = el.bokehNbModel.document;
  const src = [...doc._all_models.values()].find(m => m.type === 'ColumnDataSource');
  const data = src.data instanceof Map ? Object.fromEntries(src.data) : src.data;
  return Array.from(data.y);
}"""


@dataclass
class Voila:
    proc: subprocess.Popen[bytes]
    origin: str
    log_path: Path

    def log_tail(self, n: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


#: Voilà's page asks its server to shut its kernel down as it unloads (a reload); the
#: request is Voilà's own and standalone Voilà 0.5.13 answers it 403. Nothing of bokeh_nb.
VOILA_UNLOAD_SHUTDOWN = re.compile(r"status of 403 .*/voila/api/shutdown/[0-9a-f-]+:0\)$")


def quickstart_cells() -> list[str]:
    cells = json.loads(QUICKSTART.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def install_labextension_copy(base: Path) -> None:
    """The labextension as a wheel installs it: files, not the editable install's symlink
    (Voilà's file handler refuses files behind a symlink that leaves its directory)."""
    shutil.copytree(LABEXTENSION, base / "jupyter_path" / "labextensions" / "bokeh-nb")


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "voila exited"
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.3)
    raise AssertionError(f"voila did not listen on {port} within {timeout} s")


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Voila]:
    """``voila 01_quickstart.ipynb`` on 127.0.0.1, stopped (bounded) after the tests."""
    base = tmp_path_factory.mktemp("voila")
    root = base / "root"
    root.mkdir()
    shutil.copy(QUICKSTART, root / QUICKSTART.name)
    env = prepare_environment(base, f"voila-{uuid.uuid4().hex}")
    install_labextension_copy(base)
    port = free_port()
    log_path = base / "voila.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", QUICKSTART.name, "--no-browser"]
            + [f"--port={port}", f"--Voila.ip={HOST}"]
            + [f"--VoilaConfiguration.extension_denylist={name}" for name in NOT_FOR_VOILA],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_port(port, proc)
        yield Voila(proc, f"http://{HOST}:{port}", log_path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=10)


def dashboard_output(page: Page) -> Locator:
    out = page.locator(".bokeh-nb-output").first
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=120_000)
    return out


def check_slider(page: Page, out: Locator, *others: Locator) -> None:
    """Slider (dragged) -> Python on_change -> line data, in out and every other view."""
    drag_handle(page, out, 60)
    expect(out.locator(".bk-slider-title").first).not_to_have_text("power: 2")
    page.wait_for_timeout(500)  # the drag's last value
    value = int(out.locator(".bk-slider-title").first.inner_text().split(":")[-1])
    expected = json.dumps([1, 2**value, 3**value]).replace(" ", "")  # by the callback only
    for view in (out, *others):
        page.wait_for_function(
            f"el => JSON.stringify(({BROWSER_Y})(el)) === '{expected}'",
            arg=view.element_handle(),
            timeout=30_000,
        )


def check_button(out: Locator) -> None:
    """Button -> Python on_click -> Div text."""
    out.get_by_role("button", name="press").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("1")
    out.get_by_role("button", name="press").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("2")


def foreign(log: PageLog, origin: str) -> list[str]:
    ws_origin = "ws" + origin[len("http") :]
    return [
        u
        for u in log.all_urls()
        if not u.startswith((origin + "/", ws_origin + "/", "data:", "blob:", "about:"))
    ]


def test_standalone_voila_dashboard_is_live(voila: Voila, page: Page, page_log: PageLog) -> None:
    """The quickstart as a dashboard: its three cells ran (the Div shows what the second
    set), both outputs of the one document render, the slider runs the Python callback
    and the line changes in both. (Its button adds 1 to the Div's number, which the
    second cell replaced by text: the button is checked in the next test.)"""
    page.goto(voila.origin + "/", timeout=120_000)
    out = dashboard_output(page)
    second = page.locator(".bokeh-nb-output").nth(1)
    expect(second).to_have_attribute("data-bokeh-nb-rendered", "true")
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "hello from another cell"
    )
    check_slider(page, out, second)
    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] == ["kernel"], loads
    assert loads[0]["bytes"] > 1_000_000
    print(f"\nvoila: BokehJS over the comm: {loads[0]['bytes']} bytes, {loads[0]['ms']:.0f} ms")
    off_origin = foreign(page_log, voila.origin)
    print("voila: requests off the server's origin (Voilà's template):", off_origin)
    assert all(u.startswith(VOILA_TEMPLATE_CDN) for u in off_origin), off_origin
    assert not [u for u in page_log.requests if "bokeh-nb/static/bokehjs" in u]
    assert_no_console_errors(page_log, ignore=VOILA_TEMPLATE_CDN)

    # a reload (a new kernel, Voilà runs the notebook again) takes BokehJS from the
    # browser's cache, not from the kernel
    page.reload(timeout=120_000)
    out = dashboard_output(page)
    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] == ["cache"], loads
    check_slider(page, out)
    assert_no_console_errors(page_log, ignore=(*VOILA_TEMPLATE_CDN, VOILA_UNLOAD_SHUTDOWN))


@pytest.fixture(scope="module")
def lab_with_voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A Jupyter server with the voila and bokeh_nb server extensions."""
    base = tmp_path_factory.mktemp("lab-voila")
    install_labextension_copy(base)
    denylist = [f"--VoilaConfiguration.extension_denylist={name}" for name in NOT_FOR_VOILA]
    server = start_jupyter_server("lab", base, extra_args=denylist)
    try:
        yield server
    finally:
        stop_jupyter_server(server)


def test_voila_server_extension(
    lab_with_voila: JupyterServer, page: Page, page_log: PageLog
) -> None:
    """``/voila/render/<nb>`` inside a running Jupyter server, on the quickstart's first
    cell (the README's example): the button and the slider run their Python callbacks."""
    server = lab_with_voila
    write_notebook(server.root_dir, "dashboard.ipynb", [quickstart_cells()[0]])
    page.goto(server.url("voila/render/dashboard.ipynb"), timeout=120_000)
    out = dashboard_output(page)
    check_button(out)
    check_slider(page, out)
    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] in (["server"], ["kernel"]), loads
    print(f"\nvoila/render: BokehJS from {loads[0]['source']}")
    off_origin = foreign(page_log, server.origin)
    print("voila/render: requests off the server's origin (Voilà's template):", off_origin)
    assert all(u.startswith(VOILA_TEMPLATE_CDN) for u in off_origin), off_origin
    assert_no_console_errors(page_log, ignore=VOILA_TEMPLATE_CDN)

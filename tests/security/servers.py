"""Jupyter servers and live apps for the security tests, driven as an attacker would:
no browser, raw HTTP and websockets."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

from tests.browser.jupyter import JupyterServer, start_jupyter_server, stop_jupyter_server

REPO = Path(__file__).resolve().parents[2]

#: A live app of a notebook kernel, as a notebook cell would make it.
APP_CODE = """\
import bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
def modify_doc(doc):
    s = Slider(start=0, end=10, value=1, step=1, name="s")
    d = Div(text="ready", name="d")
    s.on_change("value", lambda attr, old, new: setattr(d, "text", f"value={new}"))
    doc.add_root(column(s, d))
app = bokeh_nb.App(modify_doc, name="sliders")
def failing_doc(doc):  # an app that puts what the visitor sent in its error
    who = doc.session_context.request.arguments.get("who", [b"-"])[0].decode()
    raise ValueError("no such user: " + who)
failing = bokeh_nb.App(failing_doc, name="failing")
"""

#: An app file, for ``bokeh-nb/files/...``.
APP_FILE = """\
from bokeh.io import curdoc
from bokeh.models import Div
curdoc().add_root(Div(text="file app"))
"""


@contextlib.contextmanager
def census_server(base_dir: Path, extra_args: Sequence[str] = ()) -> Iterator[JupyterServer]:
    """A ``jupyter lab`` of one test module alone, with ``census.py`` loaded."""
    config = base_dir / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "c.ServerApp.jpserver_extensions = {'tests.security.census': True}\n"
    )
    server = start_jupyter_server("lab", base_dir, extra_args=extra_args)
    try:
        yield server
    finally:
        stop_jupyter_server(server)


def census(server: JupyterServer) -> dict[str, Any]:
    result: dict[str, Any] = server.api("GET", "bokeh-nb-test/census", timeout=60)
    return result


def wait_census(server: JupyterServer, key: str, at_most: float, timeout: float = 30) -> Any:
    """The census once ``key`` is at most ``at_most`` (or the last one after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        now = census(server)
        if now[key] <= at_most or time.monotonic() > deadline:
            return now
        time.sleep(0.5)


def start_live_app(server: JupyterServer, code: str = APP_CODE) -> str:
    """A new kernel of ``server`` running ``code`` (by default the live app ``sliders``):
    its id. Driven through the kernel's connection file, as a notebook would."""
    kernel_id: str = server.api("POST", "api/kernels", {"name": "python3"})["id"]
    connection = server.base_dir / "runtime" / f"kernel-{kernel_id}.json"
    deadline = time.monotonic() + 60
    while not connection.exists():
        assert time.monotonic() < deadline, f"no connection file for kernel {kernel_id}"
        time.sleep(0.2)
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels(hb=False)  # a heartbeat not beating yet reads as a dead kernel
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    return kernel_id

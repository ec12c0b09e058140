"""Remote kernels: JupyterLab with ``--gateway-url`` to a Jupyter Kernel Gateway, with
``deploy/gateway/*.py`` as documented (only the port changed, the token from the
environment). The notebook's kernel runs under the gateway; its outputs work both ways,
arrays included (binary frames), and so does its live app's URL. App files run in kernels
the server's pool starts on the gateway, which get the app sent along.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_client.session import Session
from playwright.sync_api import expect
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.browser.bokeh import bokeh_output, drag_handle, kernel_json, run_notebook
from tests.browser.jupyter import (
    JupyterServer,
    assert_no_console_errors,
    assert_no_foreign_requests,
    prepare_environment,
    start_jupyter_server,
    stop_jupyter_server,
)
from tests.browser.test_files import APP, alive, status_and_body
from tests.browser.test_standalone import APP_CELL
from tests.deploy.nginx import DEPLOY, HOST, free_port, render_site

GATEWAY_CONF = DEPLOY / "gateway" / "kernel_gateway_config.py"
SERVER_CONF = DEPLOY / "gateway" / "jupyter_server_config.py"
ARRAY_CELL = """\
import numpy as np
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
src = ColumnDataSource(data=dict(x=np.arange(100_000.0), y=np.zeros(100_000)), name="arr")
p = figure(height=200)
p.line("x", "y", source=src)
bokeh_nb.show(p)
"""

#: a script app that says where it runs: its kernel's parent process and its own path
WHERE_APP = APP + ("curdoc().add_root(Div(text=f'{os.getppid()} {__file__}', name='where'))\n")
#: an app directory whose data is read relative to main.py; its hidden file stays behind
DIR_MAIN = """\
from pathlib import Path
from bokeh.io import curdoc
from bokeh.models import Div
here = Path(__file__).parent
rows = (here / "data" / "rows.txt").read_text().split()
curdoc().add_root(Div(text=f"{len(rows)} rows, .env sent: {(here / '.env').exists()}"))
"""


@dataclass
class Gateway:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path


@pytest.fixture(scope="module")
def gateway_lab(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[JupyterServer, Gateway]]:
    base = tmp_path_factory.mktemp("gateway")
    token = secrets.token_hex(16)
    ports = {8889: free_port()}
    for conf in (GATEWAY_CONF, SERVER_CONF):
        (base / conf.name).write_text(render_site(conf.read_text(), ports))
    env = {**prepare_environment(base / "kg", "kernel-gateway"), "KG_AUTH_TOKEN": token}
    log_path = base / "kernelgateway.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kernel_gateway", f"--config={base / GATEWAY_CONF.name}"],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    gateway = Gateway(proc, ports[8889], log_path)
    server = None
    os.environ["KG_AUTH_TOKEN"] = token  # the Jupyter server's config reads it
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            with contextlib.suppress(OSError), socket.create_connection((HOST, gateway.port), 0.5):
                break
            assert time.monotonic() < deadline, "the kernel gateway did not listen"
            time.sleep(0.2)
        server = start_jupyter_server(
            "lab", base / "lab", extra_args=[f"--config={base / SERVER_CONF.name}"]
        )
        yield server, gateway
    finally:
        os.environ.pop("KG_AUTH_TOKEN", None)
        if server is not None:
            # with its gateway gone, a clean shutdown only retries the gateway for ~30 s
            stop_jupyter_server(server, graceful=proc.poll() is None)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the gateway shuts its kernels down
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_outputs_and_apps_with_kernels_on_a_gateway(
    gateway_lab, page, page_log, nb_name, report_figure
):
    server, gateway = gateway_lab
    out = run_notebook(server, page, nb_name, [APP_CELL, ARRAY_CELL])
    # the kernel is the gateway's child, not the Jupyter server's
    parent = kernel_json(page, "__import__('os').getppid()")
    assert parent == gateway.proc.pid, (parent, gateway.proc.pid, server.proc and server.proc.pid)

    drag_handle(page, out, 120)
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text("- value=")
    # arrays travel as binary buffers, through the server's proxy to the gateway and back
    bokeh_output(page, 1)
    length = page.evaluate(
        """() => { for (const el of document.querySelectorAll('.bokeh-nb-output')) {
             const doc = el.bokehNbModel && el.bokehNbModel.document;
             const src = doc && [...doc._all_models.values()].find(m => m.name === 'arr');
             if (src) return src.get_column('y').length; } return null; }"""
    )
    assert length == 100_000
    kernel_json(page, "[src.patch({'y': [(0, 5.0)]}), src.data.update(y=np.ones(100_000))][0]")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.bokeh-nb-output')].some(el => {
             const doc = el.bokehNbModel && el.bokehNbModel.document;
             const src = doc && [...doc._all_models.values()].find(m => m.name === 'arr');
             return src && src.get_column('y')[99_999] === 1; })""",
        timeout=60_000,
    )

    # the live app's URL: a standalone session through the relay, over the gateway
    url = kernel_json(page, "app.url")
    app_page = page.context.new_page()
    t0 = time.monotonic()
    app_page.goto(url + "?who=ann")
    div = app_page.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(div).to_have_text("who=ann", timeout=60_000)
    opened = time.monotonic() - t0
    drag_handle(app_page, app_page.locator("body"), 120)
    expect(div).to_contain_text("ann value=")
    app_page.close()
    report_figure(
        f"kernel on the gateway (pid {parent}, the gateway's child): outputs both ways, "
        f"10^5-point columns as binary buffers; app page opened in {opened:.1f} s"
    )
    assert_no_foreign_requests(page_log, server)
    # JupyterLab asks for the v1 kernel protocol first; a server whose kernels are on a
    # gateway answers without one, and Chromium reports that attempt before the fallback
    assert_no_console_errors(page_log, ignore=["Sent non-empty 'Sec-WebSocket-Protocol'"])


def test_app_files_run_in_kernels_on_the_gateway(gateway_lab, page, page_log, report_figure):
    """The file-app pool starts its kernels on the gateway, where the server's files are
    out of reach: each session's kernel gets the app (a script; a directory with its data,
    hidden files left out) and runs it from a copy of its own. A closed page's kernel ends;
    an app too large to send is refused with a page that says so."""
    server, gateway = gateway_lab
    root = Path(server.root_dir)
    (root / "gw_app.py").write_text(WHERE_APP)
    (root / "gw_dir" / "data").mkdir(parents=True, exist_ok=True)
    (root / "gw_dir" / "main.py").write_text(DIR_MAIN)
    (root / "gw_dir" / "data" / "rows.txt").write_text("a b c")
    (root / "gw_dir" / ".env").write_text("SECRET=1")
    (root / "gw_big" / "main.py").parent.mkdir(exist_ok=True)
    (root / "gw_big" / "main.py").write_text(DIR_MAIN)
    (root / "gw_big" / "blob.bin").write_bytes(os.urandom(9 * 2**20))
    notebook_kernels = {k["id"] for k in server.api("GET", "api/kernels")}

    t0 = time.monotonic()
    page.goto(server.url("/bokeh-nb/files/gw_app.py", who="ann"))
    div = page.locator(":is(.bk-clearfix, .bk-markup)").nth(0)
    expect(div).to_have_text("who=ann", timeout=120_000)
    opened = time.monotonic() - t0
    pid = int(page.locator(":is(.bk-clearfix, .bk-markup)").nth(1).inner_text())
    parent, path = page.locator(":is(.bk-clearfix, .bk-markup)").nth(2).inner_text().split(" ", 1)
    assert int(parent) == gateway.proc.pid, (parent, gateway.proc.pid)
    assert not Path(path).is_relative_to(root) and "bokeh-nb-app-" in path, path
    drag_handle(page, page.locator("body"), 120)
    expect(div).to_contain_text("ann value=")
    # the pool's kernels are the server's own, not among the notebook kernels
    assert {k["id"] for k in server.api("GET", "api/kernels")} == notebook_kernels

    # an app directory: its files travel with it, its hidden file does not
    page.goto(server.url("/bokeh-nb/files/gw_dir"))
    expect(page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "3 rows, .env sent: False", timeout=120_000
    )
    deadline = time.monotonic() + 60
    while alive(pid):  # navigating away ended the script's session and its kernel
        assert time.monotonic() < deadline, "the kernel of a closed session still runs"
        time.sleep(0.5)

    status, body = status_and_body(server.url("/bokeh-nb/files/gw_big"))
    assert status == 413 and "9.0 MiB" in body, (status, body[:400])
    report_figure(
        f"app files on the gateway: kernel pid {pid} (the gateway's child) ran its own copy "
        f"of the app; page to first render {opened:.1f} s; a 9 MiB app refused with 413"
    )
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


def test_a_refused_handshake_opens_no_gateway_connection(gateway_lab):
    """JupyterLab offers the v1 kernel subprotocol first; the gateway proxy answers without
    one, and the page drops that websocket and connects again without. The proxy opens no
    gateway connection for the dropped one: late, under the page's session id, it would
    make the gateway close the page's real connection as stale, and the page would wait
    for a kernel status forever."""
    server, gateway = gateway_lab
    kernel = server.api("POST", "api/kernels", {"name": "python3"})
    url = f"{server.ws_origin}{server.prefix}api/kernels/{kernel['id']}/channels"
    session_id = secrets.token_hex(8)
    stale_before = gateway.log_path.read_text().count("Replacing stale connection")

    async def exchange() -> str:
        headers = {"Authorization": f"token {server.token}"}
        refused = await websocket_connect(
            HTTPRequest(f"{url}?session_id={session_id}", headers=headers),
            subprotocols=["v1.kernel.websocket.jupyter.org"],
        )
        assert refused.selected_subprotocol is None  # a browser drops this one
        await asyncio.sleep(1.0)  # time enough for a gateway connection to open
        ws = await websocket_connect(HTTPRequest(f"{url}?session_id={session_id}", headers=headers))
        session = Session(key=b"", session=session_id)
        request = session.msg("kernel_info_request", {})
        request["channel"] = "shell"
        await ws.write_message(json.dumps(request, default=str))
        state = "unknown"
        async with asyncio.timeout(60):
            while state != "idle":
                msg = json.loads(await ws.read_message())
                if msg["parent_header"].get("msg_id") == request["header"]["msg_id"]:
                    state = msg["content"].get("execution_state", state)
        await asyncio.sleep(1.0)
        for conn in (refused, ws):  # closed before the loop ends, not left to the collector
            conn.close()
            async with asyncio.timeout(10):
                while await conn.read_message() is not None:
                    pass
        return state

    try:
        assert asyncio.run(exchange()) == "idle"
        stale = gateway.log_path.read_text().count("Replacing stale connection") - stale_before
        assert stale == 0, "the gateway replaced a connection of the page's session"
    finally:
        server.api("DELETE", f"api/kernels/{kernel['id']}")


def test_a_gateway_that_goes_away(gateway_lab, page, nb_name, report_figure):
    """The gateway dies (its kernels with it) while an app page is open: the page says its
    connection was lost; a new visit says the app could not be opened, instead of waiting
    forever; the Jupyter server goes on and logs why. (Last in this module: the gateway
    stays dead.)"""
    server, gateway = gateway_lab
    run_notebook(server, page, nb_name, [APP_CELL])
    url = kernel_json(page, "app.url")
    app_page = page.context.new_page()
    app_page.goto(url)
    expect(app_page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-", timeout=60_000
    )

    os.killpg(gateway.proc.pid, signal.SIGKILL)
    gateway.proc.wait(timeout=30)
    killed = time.monotonic()
    problem = app_page.locator("#bokeh-nb-problem")
    expect(problem).to_have_attribute("data-problem", "lost", timeout=60_000)
    told = time.monotonic() - killed

    again = page.context.new_page()
    t0 = time.monotonic()
    again.goto(url)
    problem = again.locator("#bokeh-nb-problem")
    expect(problem).to_be_visible(timeout=90_000)
    expect(problem).to_have_attribute("data-problem", re.compile("app|lost"))
    refused = time.monotonic() - t0
    assert server.proc is not None and server.proc.poll() is None, "the Jupyter server goes on"
    assert "version" in server.api("GET", "api")  # answering
    report_figure(
        f"gateway killed: the open app page said 'connection lost' {told:.1f} s after; a "
        f"new visit was told the app could not be opened in {refused:.1f} s; the Jupyter "
        "server stayed up"
    )
    for p in (app_page, again):
        p.close()

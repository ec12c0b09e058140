"""bokeh_nb under a real JupyterHub (configurable-http-proxy, a local spawner) with
``deploy/jupyterhub/jupyterhub_config.py`` as documented, only its ports changed.

alice logs in, her server spawns, her notebook's output works both ways below
/user/alice/, and so does her app's URL. Her share links open for bob (another hub user)
and for a person without a hub account, each according to its mode; bob and the stranger
cannot reach her app or her server otherwise, and a revoked link is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.bokeh import bokeh_output, drag_handle, kernel_json, wait_kernel
from tests.browser.jupyter import (
    JupyterServer,
    PageLog,
    assert_no_console_errors,
    assert_no_foreign_requests,
    instrument_context,
    open_notebook,
    run_all_cells,
    write_notebook,
)
from tests.browser.test_standalone import APP_CELL
from tests.deploy.nginx import DEPLOY, HOST, free_port, render_site

CONFIG = DEPLOY / "jupyterhub" / "jupyterhub_config.py"
REPO = Path(__file__).resolve().parents[2]
#: where ./dev.sh installs configurable-http-proxy (npm, project-local)
CHP_BIN = Path(sys.executable).parent.parent / "chp" / "node_modules" / ".bin"
SHARE_CELLS = [
    'interact = bokeh_nb.share(app, mode="interact")\ninteract',
    'view = bokeh_nb.share(app, mode="view")\nview',
]

#: every session of the app in alice's kernel, and its slider's value
SLIDERS = "{s.id: s.document.select_one({'name': 's'}).value for s in app.sessions}"


@dataclass
class Hub:
    origin: str
    password: str
    homes: Path
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def user_server(self, name: str) -> JupyterServer:
        """A user's server as the browser sees it through the hub, for the page helpers."""
        home = self.homes / name
        return JupyterServer(
            kind="lab",
            port=0,
            token="",
            root_dir=home,
            base_dir=home,
            log_path=self.log_path,
            env={},
            marker="",
            prefix=f"/user/{name}/",
            public=self.origin,
        )


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    assert (CHP_BIN / "configurable-http-proxy").exists(), (
        f"configurable-http-proxy not in {CHP_BIN}: ./dev.sh test installs it (npm)"
    )
    base = tmp_path_factory.mktemp("hub")
    ports = {p: free_port() for p in (8000, 8081, 8001)}
    config = base / "jupyterhub_config.py"
    config.write_text(render_site(CONFIG.read_text(), ports))
    homes = base / "home"
    for user in ("alice", "bob"):
        # the user's own Jupyter config: window.jupyterapp for the page helpers
        settings = homes / user / ".jupyter" / "jupyter_server_config.json"
        settings.parent.mkdir(parents=True)
        settings.write_text(json.dumps({"LabApp": {"expose_app_in_browser": True}}))
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "PATH": os.pathsep.join(
            [str(CHP_BIN), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
        "HUB_PASSWORD": password,
        "HUB_HOMES": str(homes),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_DATA_DIR": str(base / "data"),
    }
    log_path = base / "jupyterhub.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(f"http://{HOST}:{ports[8000]}", password, homes, proc, log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"jupyterhub exited:\n{hub.log()[-4000:]}"
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{hub.origin}/hub/api/", timeout=2).read()
                break
            assert time.monotonic() < deadline, f"jupyterhub did not answer:\n{hub.log()[-4000:]}"
            time.sleep(0.3)
        yield hub
    finally:
        # SIGTERM: the hub stops the users' servers it spawned, then the proxy
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for pid in _children_of_hub(base):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _children_of_hub(base: Path) -> list[int]:
    """Servers or kernels still running with this hub's homes in their environment."""
    needle = f"HUB_HOMES={base / 'home'}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
    return [p for p in pids if p != os.getpid()]


def log_in(context: BrowserContext, hub: Hub, user: str) -> Page:
    """Log in through the hub's form; returns the page once the user's JupyterLab is up."""
    page = context.new_page()
    page.goto(f"{hub.origin}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", hub.password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{hub.origin}/user/{user}/lab**", timeout=120_000)
    return page


def test_bokeh_nb_under_jupyterhub(hub, browser, page_log, nb_name, report_figure):
    contexts: list[BrowserContext] = []

    def new_context(log: PageLog) -> BrowserContext:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        instrument_context(ctx, log)
        contexts.append(ctx)
        return ctx

    try:
        t0 = time.monotonic()
        alice = log_in(new_context(page_log), hub, "alice")
        spawned = time.monotonic() - t0
        server = hub.user_server("alice")
        write_notebook(server.root_dir, nb_name, [APP_CELL, *SHARE_CELLS])
        open_notebook(alice, server, nb_name)
        assert run_all_cells(alice)
        out = bokeh_output(alice, 0)
        drag_handle(alice, out, 120)
        expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text("- value=")
        wait_kernel(alice, "[interact.state, view.state]", ["ready", "ready"])
        app_url, interact_url, view_url = kernel_json(alice, "[app.url, interact.url, view.url]")
        assert app_url.startswith(f"{hub.origin}/user/alice/bokeh-nb/kernels/"), app_url
        assert interact_url.startswith(f"{hub.origin}/user/alice/bokeh-nb/s/"), interact_url

        app_page = alice.context.new_page()
        app_page.goto(app_url + "?who=ann")
        expect(app_page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
            "who=ann", timeout=60_000
        )
        drag_handle(app_page, app_page.locator("body"), 120)
        expect(app_page.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text(
            "ann value="
        )
        app_page.close()

        # bob, another hub user, and a person without a hub account
        bob_log, stranger_log = PageLog(), PageLog()
        bob = log_in(new_context(bob_log), hub, "bob")
        stranger = new_context(stranger_log).new_page()
        for visitor in (bob, stranger):
            visitor.goto(interact_url)
            div = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
            expect(div).to_have_text("who=-", timeout=60_000)
            drag_handle(visitor, visitor.locator("body"), 120)
            expect(div).to_contain_text("- value=")  # the Python callback ran in alice's kernel
            visitor.goto(view_url)
            div = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
            expect(div).to_have_text("who=-", timeout=60_000)
            sliders_before = kernel_json(alice, SLIDERS)
            drag_handle(visitor, visitor.locator("body"), 120)
            visitor.wait_for_timeout(1500)
            expect(div).to_have_text("who=-")  # a view link: nothing reached the kernel
            # no session's slider moved and none was opened (the interact page's session,
            # left above, may end meanwhile: it lingers for a reconnect, then goes)
            sliders_after = kernel_json(alice, SLIDERS)
            assert sliders_after.items() <= sliders_before.items(), (sliders_before, sliders_after)

        # neither may open alice's app or her server otherwise
        for visitor in (bob, stranger):
            response = visitor.goto(app_url)
            assert response is not None
            refused = response.status in (403, 404) or "/hub/login" in visitor.url
            assert refused, (response.status, visitor.url)
            assert "who=" not in visitor.content()
        response = bob.goto(f"{hub.origin}/user/alice/api/contents")
        assert response is not None and response.status == 403, response and response.status

        # a revoked link is refused, with a page that says so
        kernel_json(alice, "interact.revoke()")
        response = stranger.goto(interact_url)
        assert response is not None and response.status in (403, 404, 410)
        expect(stranger.get_by_role("heading")).to_contain_text(str(response.status))
        report_figure(
            f"alice's login to a running JupyterLab (spawn included) {spawned:.1f} s; share links "
            "worked for bob (hub user) and a person without an account, view links changed "
            "nothing, her app URL and API refused them"
        )
        for log in (page_log, bob_log, stranger_log):
            assert_no_foreign_requests(log, server)
        assert_no_console_errors(
            page_log, ignore=["Failed to load Bokeh session", "Lost websocket"]
        )
    finally:
        for ctx in contexts:
            with contextlib.suppress(Exception):
                ctx.close()

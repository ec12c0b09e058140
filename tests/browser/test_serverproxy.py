"""bokeh's own `bokeh serve` beside JupyterLab, through jupyter-server-proxy's entry point,
on a unix socket, behind Jupyter's login."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from .bokeh import drag_handle
from .jupyter import assert_no_console_errors, assert_no_foreign_requests

APP = """\
from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import Div, Slider
s = Slider(start=0, end=10, value=1, step=1, width=400)
d = Div(text="served by bokeh serve")
s.on_change("value", lambda attr, old, new: setattr(d, "text", f"value={new}"))
curdoc().add_root(column(s, d))
"""


def test_bokeh_serve_through_jupyter_server_proxy(lab_server, browser, page, page_log):
    server = lab_server
    apps = Path(server.root_dir) / "apps"  # the server's working directory is its root
    apps.mkdir(exist_ok=True)
    (apps / "proxied.py").write_text(APP)

    page.goto(server.url("/bokeh-apps/proxied"))
    div = page.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(div).to_have_text("served by bokeh serve", timeout=90_000)
    drag_handle(page, page.locator("body"), 120)
    expect(div).to_contain_text("value=")
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)

    # without a Jupyter login: the login page, never the app
    request = urllib.request.Request(server.origin + "/bokeh-apps/proxied")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        with e:
            status = e.code
    assert status in (302, 401, 403)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None

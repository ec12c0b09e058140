"""bokeh_nb behind nginx (Debian's package) with a base URL prefix: ``deploy/nginx/jupyter.conf``
as the docs show it, only its ports changed.

Through the proxy's origin only: a notebook's output both ways, the live app's URL, and a
share link opened by someone without a login. Then three misconfigured proxies, each
made from the same file by the edit a person might get wrong, and what an app page says
for each instead of spinning: no WebSocket upgrade, a prefix that is not the server's
base URL, and a connection lost once the app was open.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.bokeh import bokeh_output, drag_handle, kernel_json, run_notebook, wait_kernel
from tests.browser.jupyter import (
    JupyterServer,
    PageLog,
    assert_no_console_errors,
    assert_no_foreign_requests,
    instrument_context,
    open_notebook,
    run_cell,
    shutdown_all_kernels,
    start_jupyter_server,
    stop_jupyter_server,
)
from tests.browser.test_standalone import APP_CELL
from tests.deploy.nginx import DEPLOY, Nginx, free_port, start_nginx, stop_nginx

SITE = DEPLOY / "nginx" / "jupyter.conf"
PREFIX = "/jupyter/"
#: BokehJS reports a session it could not open, or lost, on the console
BOKEH_FAILURES = [
    "Failed to load Bokeh session",
    "Failed to connect to Bokeh server",
    "Lost websocket",
    "Error rendering Bokeh items",
    "has no live app",
    "Failed to load resource",
    "WebSocket connection to",
]


def proxy(server: JupyterServer, site: str, base_dir: Path) -> Nginx:
    return start_nginx(site, base_dir, ports={8080: free_port(), 8888: server.port}, listen=8080)


@pytest.fixture(scope="module")
def lab_at_prefix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_jupyter_server("lab", tmp_path_factory.mktemp("lab-prefix"), prefix=PREFIX)
    try:
        yield server
    finally:
        stop_jupyter_server(server)


@pytest.fixture(scope="module")
def nginx(lab_at_prefix: JupyterServer, tmp_path_factory) -> Iterator[Nginx]:
    server = proxy(lab_at_prefix, SITE.read_text(), tmp_path_factory.mktemp("nginx"))
    try:
        yield server
    finally:
        stop_nginx(server)


@pytest.fixture
def proxied(lab_at_prefix: JupyterServer, nginx: Nginx) -> Iterator[JupyterServer]:
    """The Jupyter server as the browser sees it: through nginx, below /jupyter/."""
    yield dataclasses.replace(lab_at_prefix, public=nginx.origin)
    shutdown_all_kernels(lab_at_prefix)


def slider_round_trips(page: Page, out, samples: int) -> list[float]:
    """Move the output's slider one step with the keyboard, ``samples`` times: the ms until
    the Python callback's Div text is in the page."""
    handle = out.locator(".noUi-handle").first
    div = out.locator(":is(.bk-clearfix, .bk-markup)").first
    times = []
    for i in range(samples):
        handle.focus()
        before = div.inner_text()
        t0 = time.perf_counter()
        handle.press("ArrowLeft" if i % 2 else "ArrowRight")
        expect(div).not_to_have_text(before)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def test_notebook_app_and_share_link_through_nginx(
    proxied, lab_at_prefix, nginx, browser, page, page_log, nb_name, report_figure
):
    out = run_notebook(proxied, page, nb_name, [APP_CELL, "link = bokeh_nb.share(app)\nlink"])
    assert page.url.startswith(nginx.origin + PREFIX + "lab")
    # both ways in the notebook: the widget runs the Python callback ...
    drag_handle(page, out, 120)
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text("- value=")
    # ... and a later cell's change reaches the page
    kernel_json(
        page,
        "[setattr(d, 'text', 'from a cell') for d in app.sessions[0].document.select({'name': 'd'})]",
    )
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("from a cell")
    through = slider_round_trips(page, out, 8)

    url = kernel_json(page, "app.url")
    assert url.startswith(f"{nginx.origin}{PREFIX}bokeh-nb/kernels/"), url
    app_page = page.context.new_page()
    app_page.goto(url + "?who=ann")
    div = app_page.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(div).to_have_text("who=ann", timeout=60_000)
    drag_handle(app_page, app_page.locator("body"), 120)
    expect(div).to_contain_text("ann value=")
    app_page.close()

    wait_kernel(page, "link.state", "ready")
    share_url = kernel_json(page, "link.url")
    assert share_url.startswith(f"{nginx.origin}{PREFIX}bokeh-nb/s/"), share_url
    visitor_log = PageLog()
    visitor_ctx = browser.new_context()
    instrument_context(visitor_ctx, visitor_log)
    try:
        visitor = visitor_ctx.new_page()
        visitor.goto(share_url)
        shared = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
        expect(shared).to_have_text("who=-", timeout=60_000)  # a view link: no changes
        assert visitor_ctx.cookies() == []
        assert_no_foreign_requests(visitor_log, proxied)
        assert_no_console_errors(visitor_log)
    finally:
        visitor_ctx.close()

    # the same round trip without the proxy, for the figure
    direct_ctx = browser.new_context()
    try:
        direct = direct_ctx.new_page()
        open_notebook(direct, lab_at_prefix, nb_name)
        assert run_cell(direct, 0)
        straight = slider_round_trips(direct, bokeh_output(direct, 0), 8)
    finally:
        direct_ctx.close()
    report_figure(
        f"slider -> Python callback -> page, p50 of 8: {statistics.median(through):.0f} ms "
        f"through nginx, {statistics.median(straight):.0f} ms direct (Playwright-timed)"
    )
    assert_no_foreign_requests(page_log, proxied)
    assert_no_console_errors(page_log)


def broken_site(edit: str) -> str:
    """The documented config with one mistake."""
    text = SITE.read_text()
    if edit == "no upgrade":
        lines = text.splitlines(keepends=True)
        return "".join(
            line
            for line in lines
            if "proxy_set_header Upgrade" not in line and "proxy_set_header Connection" not in line
        )
    if edit == "other prefix":  # the proxy's /apps/ is the server's /jupyter/
        return text.replace("location /jupyter/ {", "location /apps/ {").replace(
            "proxy_pass http://jupyter;", "proxy_pass http://jupyter/jupyter/;"
        )
    raise ValueError(edit)


def app_page_problem(page: Page, url: str) -> tuple[str, str]:
    page.goto(url)
    alert = page.locator("#bokeh-nb-problem")
    expect(alert).to_be_visible(timeout=60_000)
    return alert.get_attribute("data-problem") or "", alert.inner_text()


def test_misconfigured_proxies_say_what_is_wrong(
    proxied, lab_at_prefix, nginx, page, page_log, nb_name, tmp_path
):
    run_notebook(proxied, page, nb_name, [APP_CELL, "link = bokeh_nb.share(app)\nlink"])
    url = kernel_json(page, "app.url")
    wait_kernel(page, "link.state", "ready")
    share_url = kernel_json(page, "link.url")
    visitor = page.context.new_page()

    no_upgrade = proxy(lab_at_prefix, broken_site("no upgrade"), tmp_path / "no-upgrade")
    try:
        # (Jupyter's login cookie is named after the port: the token logs in at the new one)
        for address in (f"{url}?token={lab_at_prefix.token}", share_url):
            kind, text = app_page_problem(visitor, address.replace(nginx.origin, no_upgrade.origin))
            assert kind == "websocket", text
            assert "could not open its WebSocket connection" in text, text
            assert "may not forward WebSocket upgrades" in text and "deploying.md" in text, text
        assert "/bokeh-nb/s/[link]/ws" in text and share_url.rsplit("/", 1)[1] not in text, text
    finally:
        stop_nginx(no_upgrade)

    other_prefix = proxy(lab_at_prefix, broken_site("other prefix"), tmp_path / "other-prefix")
    try:
        moved = url.replace(f"{nginx.origin}{PREFIX}", f"{other_prefix.origin}/apps/")
        kind, text = app_page_problem(visitor, f"{moved}?token={lab_at_prefix.token}")
        assert kind == "bokehjs", text
        assert (
            f"BokehJS could not be loaded from {other_prefix.origin}{PREFIX}bokeh-nb/static/"
            in text
        )
        assert "base_url" in text and "deploying.md" in text, text
        assert lab_at_prefix.token not in text
    finally:
        stop_nginx(other_prefix)

    # open, then its kernel goes away: the page says so and offers to reconnect
    visitor.goto(url)
    expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-", timeout=60_000
    )
    kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
    lab_at_prefix.api("DELETE", f"api/kernels/{kernel_id}")
    alert = visitor.locator("#bokeh-nb-problem")
    expect(alert).to_have_attribute("data-problem", "lost", timeout=60_000)
    expect(alert).to_contain_text("connection to this app was lost")
    expect(alert.get_by_role("button", name="Reload to reconnect")).to_be_visible()
    visitor.close()
    assert_no_console_errors(page_log, ignore=[*BOKEH_FAILURES, "Kernel", "kernel"])

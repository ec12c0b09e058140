"""An app directory's own page, as ``bokeh serve`` shows it: its ``templates/index.html``
(extending bokeh's base template) with its ``template_variables`` around the session's
roots, its ``static/`` files at the app's URL, on its app-file page, its live app's page
and a share link; the page's CSP still holds (the template's inline script does not run);
a template that fails to render says which file and why; static paths stay in the app."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.security.test_route_auth import http_status

from .bokeh import drag_handle, kernel_json, run_notebook, wait_kernel
from .jupyter import (
    PageLog,
    assert_no_console_errors,
    assert_no_foreign_requests,
    instrument_context,
)
from .test_files import raised_tracebacks, status_and_body

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "template_app"
#: what the page's CSP says when it stops the template's inline script
CSP_REFUSED = "Content Security Policy"

BROKEN = """\
{% extends base %}
{% block contents %}
<h1>Broken</h1>
{{ embed(roots.no_such_root) }}
{% endblock %}
"""

SYNTAX = """\
{% extends base %}
{% block contents %}
{{ embed(roots.slider) }
{% endblock %}
"""

LIVE_CELLS = [
    'import bokeh_nb\napp = bokeh_nb.App("tpl/template_app")\napp',
    'link = bokeh_nb.share(app, mode="interact", expires="1h")\nlink',
    'broken = bokeh_nb.App("tpl/broken")',
]


@pytest.fixture(scope="module")
def template_apps(lab_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture app under the server's root, a copy with a broken template, and what a
    static path must never reach: a hidden file, a link out of the app, the app's code."""
    root = Path(lab_server.root_dir) / "tpl"
    app = root / "template_app"
    if not app.exists():
        shutil.copytree(FIXTURE, app)
    (app / "static" / ".secret.css").write_text("hidden")
    outside = tmp_path_factory.mktemp("outside") / "outside.css"
    outside.write_text("outside")
    if not (app / "static" / "escape.css").exists():
        (app / "static" / "escape.css").symlink_to(outside)
    for name, text in (("broken", BROKEN), ("syntax", SYNTAX)):
        if not (root / name).exists():
            shutil.copytree(FIXTURE, root / name)
            (root / name / "templates" / "index.html").write_text(text)
    return root


def assert_template_page(page: Page, log: PageLog) -> None:
    """The fixture app's template on the page: heading and text from its variables, its
    stylesheet applied, both roots where the template embeds them and working, and the
    template's inline script stopped by the page's CSP."""
    heading = page.locator("#tpl-heading")
    expect(heading).to_have_text("Sales dashboard", timeout=90_000)
    expect(page.locator("#tpl-intro")).to_contain_text("Move the slider to filter.")
    expect(page).to_have_title("Sales dashboard | Template app")
    expect(heading).to_have_css("color", "rgb(12, 34, 156)")
    expect(heading).to_have_css("font-size", "40px")
    expect(page.locator(".tpl-panel")).to_have_css("border-top-color", "rgb(200, 0, 0)")
    readout = page.locator("#tpl-readout :is(.bk-clearfix, .bk-markup)")
    expect(readout).to_have_text("value=1")
    expect(page.locator("#tpl-controls .noUi-handle")).to_have_count(1)
    drag_handle(page, page.locator("#tpl-controls"), 120)
    expect(readout).not_to_have_text("value=1")
    assert page.evaluate("window.templateInlineRan") is None, "an inline script without nonce ran"
    refused = [c for c in log.console if c.type == "error" and CSP_REFUSED in c.text]
    assert refused, log.summary()
    # nothing but the template's own inline script was refused, nothing else went wrong
    assert_no_console_errors(log, ignore=[CSP_REFUSED])


def test_an_app_file_renders_its_template_and_static_files(
    lab_server, page, page_log, template_apps
):
    server = lab_server
    response = page.goto(server.url("/bokeh-nb/files/tpl/template_app"))
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "'nonce-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert_template_page(page, page_log)
    css = [u for u in page_log.requests if u.endswith("/static/css/styles.css")]
    assert css and css[0].startswith(server.base_url + "bokeh-nb/files/tpl/template_app/static/")
    assert_no_foreign_requests(page_log, server)


STATIC_REFUSED = [
    "..%2Fmain.py",
    "css%2F..%2F..%2Fmain.py",
    "%2Fetc%2Fpasswd",
    ".secret.css",
    "escape.css",
    "css",
    "missing.css",
]


def test_static_files_stay_in_the_app(lab_server, template_apps):
    server = lab_server
    base = "/bokeh-nb/files/tpl/template_app/static/"
    status, body = status_and_body(server.url(base + "css/styles.css"))
    assert status == 200 and "rgb(12, 34, 156)" in body
    for name in STATIC_REFUSED:
        status, body = status_and_body(server.url(base + name))
        assert status == 404, (name, status, body[:300])
        assert "outside" not in body and "hidden" not in body and "curdoc" not in body
    # without a login, nothing (302: to the login page)
    url = f"{server.base_url}{base.lstrip('/')}css/styles.css"
    assert http_status(url) in (302, 401, 403)
    # a script is no app directory: it has no static files
    (Path(server.root_dir) / "tpl" / "script.py").write_text("x = 1\n")
    assert status_and_body(server.url("/bokeh-nb/files/tpl/script.py/static/a.css"))[0] == 404


def test_a_template_that_fails_says_which_file_and_why(lab_server, page, template_apps):
    server = lab_server
    before = len(server.log_text())
    page.goto(server.url("/bokeh-nb/files/tpl/broken"))
    problem = page.locator("#bokeh-nb-problem")
    expect(problem).to_have_attribute("data-problem", "app", timeout=90_000)
    expect(problem).to_contain_text(
        "This app file could not be opened: the app file 'tpl/broken' could not render "
        "templates/index.html, line 4: ValueError: root with 'no_such_root'"
    )
    text = problem.inner_text()
    assert "Traceback" not in text, text
    assert page.locator("#bokeh-nb-problem h1, h1").filter(has_text="Broken").count() == 0
    deadline = time.monotonic() + 30
    while not raised_tracebacks(server.log_text()[before:]):
        assert time.monotonic() < deadline, "no traceback of the template in the server's log"
        time.sleep(0.5)
    time.sleep(2)  # anything logged twice would be there by now
    log = server.log_text()[before:]
    assert raised_tracebacks(log) == 1, log[-6000:]
    assert "could not render templates/index.html, line 4: ValueError" in log

    # a template bokeh cannot even read: the app does not load
    before = len(server.log_text())
    page.goto(server.url("/bokeh-nb/files/tpl/syntax"))
    expect(problem).to_contain_text(
        "This app file could not be opened: the app file 'tpl/syntax' could not be loaded: "
        "templates/index.html, line 3: TemplateSyntaxError: unexpected '}'",
        timeout=90_000,
    )
    assert "Traceback" not in problem.inner_text()
    record = "ERROR | bokeh_nb: the app file 'tpl/syntax' could not be loaded"
    deadline = time.monotonic() + 30
    while record not in server.log_text()[before:]:
        assert time.monotonic() < deadline, "the template's error is not in the server's log"
        time.sleep(0.5)
    time.sleep(2)
    assert server.log_text()[before:].count(record) == 1


def test_a_live_app_and_its_share_link_render_its_template(
    lab_server, browser, page, page_log, nb_name, template_apps
):
    server = lab_server
    run_notebook(server, page, nb_name, LIVE_CELLS)
    wait_kernel(page, "link.state", "ready")
    url, kernel_id, share_url, broken_url = kernel_json(
        page, "[app.url, bokeh_nb.kernel.app.kernel_id(), link.url, broken.url]"
    )
    assert share_url.startswith(server.origin + "/bokeh-nb/s/")

    # the author's own page of the live app
    author = page.context.new_page()
    page_log.clear()
    author.goto(url)
    assert_template_page(author, page_log)
    # a live app whose template fails says which file and why, as an app file does
    author.goto(broken_url)
    problem = author.locator("#bokeh-nb-problem")
    expect(problem).to_contain_text(
        "This app could not be opened: the app 'broken' could not render "
        "templates/index.html, line 4: ValueError: root with 'no_such_root'",
        timeout=60_000,
    )
    assert "Traceback" not in problem.inner_text()
    author.close()

    # a colleague without a Jupyter login, in a clean browser context
    visitor_log = PageLog()
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    instrument_context(context, visitor_log)
    try:
        visitor = context.new_page()
        visitor.goto(share_url)
        assert_template_page(visitor, visitor_log)
        token_path = share_url[len(server.origin) :]
        css = [u for u in visitor_log.requests if u.endswith("/static/css/styles.css")]
        assert css and css[0] == f"{server.origin}{token_path}/static/css/styles.css", css
        # the link gets that app's static files and nothing else
        get = visitor.request.get
        assert get(f"{share_url}/static/css/styles.css").status == 200
        for name in ("..%2Fmain.py", ".secret.css", "escape.css"):
            assert get(f"{share_url}/static/{name}").status == 404, name
        other = f"{server.origin}/bokeh-nb/files/tpl/template_app/static/css/styles.css"
        assert get(other, max_redirects=0).status in (302, 401, 403)
        live = (
            f"{server.origin}/bokeh-nb/kernels/{kernel_id}/apps/template_app/static/css/styles.css"
        )
        assert get(live, max_redirects=0).status in (302, 401, 403)
        assert_no_foreign_requests(visitor_log, server)
    finally:
        context.close()

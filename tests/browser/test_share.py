"""Share links: a colleague with no Jupyter login opens a live app of the author's kernel,
gets that app and nothing else; a view link changes nothing; revoking ends it; a visitor's
hand-made patches beyond what widgets do are refused, logged, and the session goes on."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from .bokeh import bokeh_output, drag_handle, kernel_json, run_notebook, wait_kernel
from .jupyter import (
    PageLog,
    add_and_run_cell,
    assert_no_console_errors,
    assert_no_foreign_requests,
    cell_output,
    execute_command,
    instrument_context,
    open_notebook,
    run_all_cells,
    write_notebook,
)
from .test_standalone import APP_CELL
from .wsclient import BokehSocket, in_thread

SHARE_CELLS = [
    'interact = bokeh_nb.share(app, mode="interact", expires="1h")\ninteract',
    'view = bokeh_nb.share("sliders", mode="view", expires="10m")\nview',
]
SLIDER_VALUES = "sorted(s.document.select_one({'name': 's'}).value for s in app.sessions)"


def model_id(doc_json: Any, name: str) -> str:
    """The id of the model named ``name`` in a PULL-DOC-REPLY's document."""
    if isinstance(doc_json, dict):
        attrs = doc_json.get("attributes")
        if isinstance(attrs, dict) and attrs.get("name") == name:
            return str(doc_json["id"])
        values = doc_json.values()
    elif isinstance(doc_json, list):
        values = doc_json
    else:
        values = []
    for v in values:
        try:
            return model_id(v, name)
        except KeyError:
            continue
    raise KeyError(name)


def changed(model: str, attr: str, new: Any) -> dict[str, Any]:
    return {"events": [{"kind": "ModelChanged", "model": {"id": model}, "attr": attr, "new": new}]}


def hostile_then_fair(ws_url: str, origin: str) -> dict[str, Any]:
    """Replies to a visitor's forbidden messages, then to a fair one, on one websocket
    that asked, as bokeh_nb's page does, for each message packed into one."""

    async def main() -> dict[str, Any]:
        sock = await BokehSocket.connect(ws_url, {"Origin": origin}, packed=True)
        msgtype, reply = await sock.request("PULL-DOC-REQ", {})
        assert msgtype == "PULL-DOC-REPLY"
        slider, div = model_id(reply["doc"], "s"), model_id(reply["doc"], "d")
        out: dict[str, Any] = {}
        out["div text"] = await sock.request("PATCH-DOC", changed(div, "text", "<b>pwned</b>"))
        custom_js = {"type": "object", "name": "CustomJS", "id": "x1", "attributes": {}}
        out["new model"] = await sock.request(
            "PATCH-DOC",
            changed(
                slider,
                "js_property_callbacks",
                {"type": "map", "entries": [["change:value", [custom_js]]]},
            ),
        )
        out["push doc"] = await sock.request("PUSH-DOC", {"doc": reply["doc"]})
        out["slider value"] = await sock.request("PATCH-DOC", changed(slider, "value", 7))
        # the fair change ran the app's callback: its PATCH-DOC comes back
        if not sock.others:
            msgtype, patch = await sock.next()
            sock.others.append((msgtype, patch.content))
        out["callback patch"] = (sock.others[-1][0], json.dumps(sock.others[-1][1]))
        out["packs"] = sock.packs
        await sock.close()
        return out

    return in_thread(main)  # type: ignore[no-any-return]


def test_share_links(lab_server, browser, page, page_log, nb_name):
    server = lab_server
    write_notebook(server.root_dir, nb_name, [APP_CELL, *SHARE_CELLS])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    bokeh_output(page, 0)
    wait_kernel(page, "[interact.state, view.state]", ["ready", "ready"])
    interact_url, view_url, kernel_id = kernel_json(
        page, "[interact.url, view.url, bokeh_nb.kernel.app.kernel_id()]"
    )
    assert interact_url.startswith(server.origin + "/bokeh-nb/s/")
    assert server.token not in interact_url
    # the link's output was updated in place with its URL
    expect(cell_output(page, 1)).to_contain_text(interact_url)
    expect(cell_output(page, 2)).to_contain_text("Share link (view)")

    # a colleague without a Jupyter login
    visitor_log = PageLog()
    visitor_ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    instrument_context(visitor_ctx, visitor_log)
    try:
        visitor = visitor_ctx.new_page()
        response = visitor.goto(interact_url)
        assert response is not None
        csp = response.headers["content-security-policy"]
        # the page's one script has a nonce: HTML an app shows can run no script of its own
        assert (
            "'nonce-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        )
        assert response.headers["referrer-policy"] == "no-referrer"
        div = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
        expect(div).to_have_text("who=-", timeout=60_000)
        drag_handle(visitor, visitor.locator("body"), 120)
        expect(div).to_contain_text("- value=")
        assert visitor_ctx.cookies() == [], "a share link sets no cookie"

        # ... and nothing else of the server
        for path in ("api/contents", "api/kernels", "api/sessions", "api/terminals"):
            status = visitor.request.get(f"{server.origin}/{path}", max_redirects=0).status
            assert status in (401, 403), (path, status)
        for path in (
            f"bokeh-nb/kernels/{kernel_id}/apps/sliders",
            f"bokeh-nb/kernels/{kernel_id}/apps/other",
            "lab",
        ):
            response = visitor.request.get(f"{server.origin}/{path}", max_redirects=0)
            assert response.status == 302 and "/login" in response.headers["location"], path
        another = interact_url.rsplit(".", 1)[0] + ".AAAA" + interact_url.rsplit(".", 1)[1][4:]
        assert visitor.request.get(another).status == 403

        # a view link: the page pans and moves its slider locally; the kernel sees nothing
        viewer = visitor_ctx.new_page()
        viewer.goto(view_url)
        view_div = viewer.locator(":is(.bk-clearfix, .bk-markup)").first
        expect(view_div).to_have_text("who=-", timeout=60_000)
        wait_kernel(page, "len(app.sessions)", 3)
        drag_handle(viewer, viewer.locator("body"), 150)
        viewer.wait_for_timeout(1000)
        expect(view_div).to_have_text("who=-")
        values = kernel_json(page, SLIDER_VALUES)
        assert values[0] == 1 and values[1] == 1 and values[2] > 1, values

        # hand-made patches over an interact link: refused and logged, the session goes on
        ws_url = interact_url.replace("http://", "ws://") + "/ws"
        replies = hostile_then_fair(ws_url, server.origin)
        for what in ("div text", "new model", "push doc"):
            assert replies[what][0] == "ERROR", (what, replies[what])
        assert replies["slider value"][0] == "OK"
        assert replies["callback patch"][0] == "PATCH-DOC"
        assert "- value=7" in replies["callback patch"][1]
        assert replies["packs"] >= 7  # ACK, PULL-DOC-REPLY, 4 replies, the callback's patch
        log = server.log_text()
        assert "refused a share-link visitor's change: setting Div.text" in log
        assert "creating a model (CustomJS)" in log
        assert "unsupported message type 'PUSH-DOC'" in json.dumps(
            replies["push doc"][1].get("text", "")
        )
        assert interact_url.rsplit("/", 1)[1] not in log, "the token is never logged"

        # revoking: the open session closes, the link is refused from then on
        add_and_run_cell(page, "interact.revoke()")
        wait_kernel(page, "interact.state", "revoked")
        wait_kernel(page, "len(app.sessions)", 2)  # the notebook's own and the view page's
        response = visitor.goto(interact_url)
        assert response is not None and response.status == 403
        expect(visitor.locator("body")).to_contain_text("not valid")
        viewer.close()
        visitor.close()
    finally:
        visitor_ctx.close()

    assert_no_foreign_requests(page_log, server)
    assert_no_foreign_requests(visitor_log, server)
    assert_no_console_errors(page_log)
    # after the revocation, BokehJS's attempt to reconnect and the page itself get a 403;
    # nothing else went wrong
    revoked = ["status of 403", "Unexpected response code: 403", "Failed to connect to Bokeh"]
    assert_no_console_errors(visitor_log, ignore=revoked)


def test_output_toolbar_opens_and_shares(jupyter_frontend, browser, page, page_log, nb_name):
    """An app's output offers "Open in new tab" (the app's URL) and "Copy share link", in
    JupyterLab and in Notebook 7."""
    server = jupyter_frontend
    out = run_notebook(server, page, nb_name, [APP_CELL, "bokeh_nb.show(Div(text='x'))"])
    toolbar = cell_output(page, 0).locator(".bokeh-nb-toolbar")
    assert kernel_json(page, "app.url") == toolbar.get_by_role("link").get_attribute("href")
    assert cell_output(page, 1).locator(".bokeh-nb-toolbar").count() == 0  # not an app
    toolbar.locator("select").select_option("interact")
    toolbar.get_by_role("button", name="Copy share link").click()
    url_box = toolbar.locator(".bokeh-nb-share-url")
    expect(url_box).to_have_value(re.compile(r"^http://.*/bokeh-nb/s/[^/]+$"), timeout=30_000)
    link = url_box.input_value()
    shares = server.api("GET", "bokeh-nb/api/shares")
    assert [(s["app"], s["mode"]) for s in shares if link.endswith(s["path"])] == [
        ("sliders", "interact")
    ]

    visitor_ctx = browser.new_context()
    try:
        visitor = visitor_ctx.new_page()
        visitor.goto(link)
        expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
            "who=-", timeout=60_000
        )
        drag_handle(visitor, visitor.locator("body"), 120)
        expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text("- value=")
    finally:
        visitor_ctx.close()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-"
    )  # its own session
    assert_no_console_errors(page_log)


def test_side_panel_lists_apps_sessions_and_links(lab_server, page, page_log, nb_name):
    server = lab_server
    run_notebook(server, page, nb_name, [APP_CELL])
    url, kernel_id = kernel_json(page, "[app.url, bokeh_nb.kernel.app.kernel_id()]")
    execute_command(page, "bokeh-nb:show-apps")
    panel = page.locator("#bokeh-nb-apps")
    section = panel.locator(f".bokeh-nb-apps-kernel[data-kernel-id='{kernel_id}']")
    expect(section.locator("h4")).to_have_text(nb_name, timeout=30_000)
    row = section.locator(".bokeh-nb-apps-app[data-app='sliders']")
    expect(row.locator(".bokeh-nb-apps-sessions")).to_have_text("1 session", timeout=30_000)
    assert row.get_by_role("link", name="Open").get_attribute("href") == url

    visitor = page.context.new_page()
    visitor.goto(url)
    expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-", timeout=60_000
    )
    panel.get_by_role("button", name="Refresh").click()
    expect(row.locator(".bokeh-nb-apps-sessions")).to_have_text("2 sessions", timeout=30_000)

    row.get_by_role("button", name="Share (view)").click()
    link = section.locator(".bokeh-nb-apps-share")
    expect(link).to_have_count(1, timeout=30_000)
    expect(link).to_contain_text("view link, until")
    mine = [s for s in server.api("GET", "bokeh-nb/api/shares") if s["kernel_id"] == kernel_id]
    assert [(s["app"], s["mode"]) for s in mine] == [("sliders", "view")]
    link.get_by_role("button", name="Revoke").click()
    expect(link).to_have_count(0, timeout=30_000)
    assert [
        s for s in server.api("GET", "bokeh-nb/api/shares") if s["kernel_id"] == kernel_id
    ] == []
    visitor.close()
    assert_no_console_errors(page_log)

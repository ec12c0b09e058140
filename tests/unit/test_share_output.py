"""A share link's output: the URL only in the entry the page renders, never in what a saved
notebook, an export or another viewer shows (``bokeh_nb/kernel/share.py``)."""

from __future__ import annotations

from bokeh_nb.kernel.share import ShareLink
from bokeh_nb.protocol import SHARE_MIME

URL = "http://127.0.0.1:8888/bokeh-nb/s/Zk3token.signature"


def made(link: ShareLink) -> ShareLink:
    link._created({"share": {"id": "id1", "url": URL, "expires_at": 1e10}})
    return link


def test_a_ready_link_shows_its_url_only_in_the_page_entry() -> None:
    link = made(ShareLink("power", "interact", 60))
    assert link.state == "ready" and link.url == URL
    bundle = link._bundle()
    assert bundle[SHARE_MIME] == {
        "app": "power",
        "mode": "interact",
        "state": "ready",
        "text": f"Share link (interact) to app 'power': {URL}",
        "url": URL,
    }
    for mime in ("text/plain", "text/html"):
        assert "bokeh-nb/s/" not in bundle[mime] and "token" not in bundle[mime]
        assert "made by a running notebook session" in bundle[mime]
        assert "Run this cell in JupyterLab or Notebook 7" in bundle[mime]


def test_pending_failed_and_revoked_links_say_so_without_a_url() -> None:
    pending = ShareLink("power", "view", 60)._bundle()
    assert "url" not in pending[SHARE_MIME] and pending[SHARE_MIME]["state"] == "pending"
    assert "made by a running notebook session" in pending["text/plain"]

    failed = ShareLink("power", "view", 60)
    failed.error = "no notebook page runs this kernel"
    bundle = failed._bundle()
    assert bundle["text/plain"].startswith(
        "No share link to app 'power': no notebook page runs this kernel. Run this cell"
    )
    assert "url" not in bundle[SHARE_MIME]

    revoked = made(ShareLink("power", "view", 60))
    revoked._revoked({"revoked": True})
    bundle = revoked._bundle()
    assert "revoked" in bundle["text/plain"] and URL not in str(bundle)


def test_html_of_the_output_is_escaped() -> None:
    link = ShareLink("<b>x</b>", "view", 60)
    assert "<b>" not in link._bundle()["text/html"]

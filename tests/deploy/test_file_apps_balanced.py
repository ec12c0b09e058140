"""Two Jupyter servers with bokeh_nb serving the same app file (``bokeh-nb/files/...``)
behind nginx with sticky sessions (``deploy/loadbalance/jupyter-servers.conf``), each
with ``deploy/loadbalance/jupyter_server_config.py`` and the same token, as documented
(only ports changed; the app file copied to each server's root as a shared filesystem
would have it).

Figures: how visitors spread over the servers, and what happens when one server is
killed: its visitors' pages say the connection was lost and, on reload, are served by the
other server, where their login cookie is valid; the other visitors' ticks go on without
a gap.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.jupyter import (
    JupyterServer,
    PageLog,
    assert_no_foreign_requests,
    instrument_context,
    start_jupyter_server,
    stop_jupyter_server,
)
from tests.deploy.nginx import DEPLOY, Nginx, free_port, start_nginx, stop_nginx, told_or_moved
from tests.deploy.test_load_balancing import APPS, _Origin, served_by, ticks

BALANCER_CONF = DEPLOY / "loadbalance" / "jupyter-servers.conf"
SERVER_CONF = DEPLOY / "loadbalance" / "jupyter_server_config.py"
DOCUMENTED = (8888, 8889)
VISITORS = 6
MAX_VISITORS = 16


@dataclass
class Servers:
    nginx: Nginx
    servers: list[JupyterServer]
    token: str

    def server_of(self, kernel_pid: int) -> JupyterServer:
        """The server whose kernel a page's session runs in (the kernel's parent)."""
        ppid = int(Path(f"/proc/{kernel_pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        return next(s for s in self.servers if s.proc is not None and s.proc.pid == ppid)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    base = tmp_path_factory.mktemp("jupyters")
    token = secrets.token_hex(24)
    os.environ["BOKEH_NB_COOKIE_SECRET"] = secrets.token_hex(32)  # the config reads it
    servers: list[JupyterServer] = []
    nginx = None
    try:
        for i in range(len(DOCUMENTED)):
            root = base / f"jupyter{i}" / "root"
            root.mkdir(parents=True)
            shutil.copy(APPS / "ticker.py", root / "ticker.py")
            servers.append(
                start_jupyter_server(
                    "lab",
                    base / f"jupyter{i}",
                    token=token,
                    extra_args=[
                        f"--config={SERVER_CONF}",
                        # up to MAX_VISITORS sessions may land on one server
                        f"--BokehNb.file_app_max_total={2 * MAX_VISITORS}",
                    ],
                )
            )
        ports = {d: s.port for d, s in zip(DOCUMENTED, servers, strict=True)}
        ports[8080] = free_port()
        nginx = start_nginx(BALANCER_CONF, base / "nginx", ports=ports, listen=8080)
        yield Servers(nginx, servers, token)
    finally:
        os.environ.pop("BOKEH_NB_COOKIE_SECRET", None)
        if nginx is not None:
            stop_nginx(nginx)
        for server in servers:
            stop_jupyter_server(server)


#: What an app page's alert says, if it shows.
PROBLEM = """() => { const p = document.getElementById('bokeh-nb-problem');
                    return p && !p.hidden ? p.dataset.problem || null : null; }"""


def after_kill(balanced: Servers, page: Page, survivor: JupyterServer) -> str:
    """A page of the killed server: told ("lost") or on the survivor ("moved")."""

    def moved() -> bool:
        text = page.get_by_text(re.compile(r"^process \d+$")).first.inner_text(timeout=5_000)
        with contextlib.suppress(OSError, StopIteration):  # a dead kernel: no /proc entry
            return balanced.server_of(int(text.split()[1])) is survivor
        return False

    return told_or_moved(
        page.wait_for_timeout, lambda: page.evaluate(PROBLEM) == "lost", moved, timeout=60
    )


def test_file_app_visitors_spread_over_jupyter_servers(balanced, browser, report_figure):
    url = f"{balanced.nginx.origin}/bokeh-nb/files/ticker.py"
    visitors: list[tuple[object, Page, JupyterServer]] = []
    log = PageLog()
    try:
        # each visitor's key is random: VISITORS of them all land on one server about
        # once in 30 runs, so more come (at most MAX_VISITORS) until both servers have some
        spread: collections.Counter[int] = collections.Counter()
        while len(visitors) < VISITORS or (len(spread) < 2 and len(visitors) < MAX_VISITORS):
            ctx = browser.new_context()  # its own cookies: its own key, its own login
            instrument_context(ctx, log)
            page = ctx.new_page()
            page.goto(f"{url}?token={balanced.token}")
            visitors.append((ctx, page, balanced.server_of(served_by(page))))
            spread[visitors[-1][2].port] += 1
        assert len(spread) == 2, f"every visitor on one server: {spread}"

        victim = max(balanced.servers, key=lambda s: spread[s.port])
        others = [p for _, p, s in visitors if s is not victim]
        hit = [p for _, p, s in visitors if s is victim]
        before = {id(p): len(ticks(p)) for p in others}
        assert victim.proc is not None
        os.killpg(victim.proc.pid, signal.SIGKILL)  # the server and its kernels
        survivor = next(s for s in balanced.servers if s is not victim)
        # each of its visitors is told, or BokehJS's reconnect already took it to the other
        # server (a new session there): never a frozen page
        outcomes = collections.Counter(after_kill(balanced, page, survivor) for page in hit)
        time.sleep(2)
        for page in others:  # the others go on, without a gap
            seen = ticks(page)
            assert len(seen) > before[id(page)] + 3, (before[id(page)], len(seen))
            assert seen == list(range(seen[0], seen[0] + len(seen))), "a tick was lost"
        # back on the other server without the token: the login cookie one server set is
        # valid on the other (one cookie secret)
        t0 = time.monotonic()
        hit[0].goto(url)
        assert balanced.server_of(served_by(hit[0])) is survivor
        expect(hit[0].get_by_text(re.compile(r"^tick [1-9]"))).to_be_visible(timeout=30_000)
        moved = time.monotonic() - t0
        report_figure(
            f"{len(visitors)} visitors of an app file through nginx over 2 Jupyter servers: "
            f"{sorted(spread.values(), reverse=True)} sessions per server; killed the one with "
            f"{spread[victim.port]}: {outcomes['lost']} of their pages said the connection "
            f"was lost, {outcomes['moved']} were reconnected by BokehJS to a new session on "
            f"the other server; one opened the "
            f"app again, without the token, on the other server in {moved:.1f} s (its login "
            f"cookie valid there); the other {len(others)} visitors' ticks went on without a gap"
        )
        assert_no_foreign_requests(log, _Origin(balanced.nginx.origin))
    finally:
        for ctx, _, _ in visitors:
            with contextlib.suppress(Exception):
                ctx.close()  # type: ignore[attr-defined]

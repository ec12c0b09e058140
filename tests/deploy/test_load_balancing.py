"""Three ``bokeh serve`` processes of one apps folder (``python -m bokeh_nb.serverproxy <port>``)
kept by supervisord (``deploy/supervisor/supervisord.conf``) behind nginx with sticky
sessions (``deploy/loadbalance/bokeh-apps.conf``), both as documented, only ports changed.

Figures: how visitors spread over the processes, and what happens when one process is
killed: its visitors are told and, on reload, served by another process; the others' ticks
go on without a gap; supervisord brings the process back. The systemd unit that runs the
same command is checked with ``systemd-analyze verify``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.jupyter import PageLog, assert_no_foreign_requests, instrument_context
from tests.deploy.nginx import (
    DEPLOY,
    HOST,
    Nginx,
    free_port,
    render_site,
    start_nginx,
    stop_nginx,
    told_or_moved,
)

SUPERVISOR_CONF = DEPLOY / "supervisor" / "supervisord.conf"
BALANCER_CONF = DEPLOY / "loadbalance" / "bokeh-apps.conf"
UNIT = DEPLOY / "systemd" / "bokeh-nb-apps@.service"
APPS = Path(__file__).parent / "lbapps"
DOCUMENTED = (5006, 5007, 5008)
VISITORS = 9


@dataclass
class Cluster:
    nginx: Nginx
    ports: dict[int, int]  # documented port -> actual
    supervisord: subprocess.Popen[bytes]
    conf: Path

    def ctl(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout

    def pids(self) -> dict[int, int]:
        """pid -> actual port of each running process."""
        found = {}
        for line in self.ctl("status").splitlines():
            m = re.match(r"apps-(\d+)\s+RUNNING\s+pid (\d+)", line)
            if m:
                found[int(m[2])] = int(m[1])
        return found


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
        return True
    return False


def wait_until(predicate, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout, what
        time.sleep(0.1)
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("balanced")
    ports = {p: free_port() for p in (*DOCUMENTED, 8080)}
    conf = base / "supervisord.conf"
    conf.write_text(render_site(SUPERVISOR_CONF.read_text(), ports))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "BOKEH_NB_APPS_DIR": str(APPS),
    }
    supervisord = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    nginx = None
    try:
        for p in DOCUMENTED:
            wait_until(lambda p=p: listening(ports[p]), 60, f"bokeh serve on {ports[p]}")
        nginx = start_nginx(BALANCER_CONF, base / "nginx", ports=ports, listen=8080)
        yield Cluster(nginx=nginx, ports=ports, supervisord=supervisord, conf=conf)
    finally:
        if nginx is not None:
            stop_nginx(nginx)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisord.pid, signal.SIGTERM)  # stops its programs' groups too
        try:
            supervisord.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(supervisord.pid, signal.SIGKILL)
            supervisord.wait(timeout=10)


def served_by(page: Page) -> int:
    pid = page.get_by_text(re.compile(r"^process \d+$"))
    expect(pid).to_be_visible(timeout=60_000)
    return int(pid.inner_text().split()[1])


def ticks(page: Page) -> list[int]:
    return page.evaluate(
        """() => {
          for (const doc of window.Bokeh.documents) {
            const src = doc.get_model_by_name('ticks');
            if (src) return Array.from(src.data.tick);
          }
          return [];
        }"""
    )


def after_kill(page: Page, victim: int) -> str:
    """A page of the killed process: told ("lost") or on another process ("moved")."""
    return told_or_moved(
        page.wait_for_timeout,
        lambda: page.get_by_text(re.compile("connection was lost|[Rr]econnect")).count() > 0,
        lambda: served_by(page) != victim,
        timeout=30,
    )


def test_visitors_spread_and_survive_a_killed_process(cluster, browser, report_figure):
    url = f"{cluster.nginx.origin}/apps/ticker"
    visitors: list[tuple[object, Page, int]] = []
    log = PageLog()
    try:
        for _ in range(VISITORS):
            ctx = browser.new_context()  # its own cookie: its own key
            instrument_context(ctx, log)
            page = ctx.new_page()
            page.goto(url)
            visitors.append((ctx, page, served_by(page)))
        spread = collections.Counter(pid for _, _, pid in visitors)
        running = cluster.pids()
        assert set(spread) <= set(running), (spread, running)
        assert len(spread) >= 2, f"every visitor on one process: {spread}"
        # sticky: a visitor's reload stays on its process
        ctx0, page0, pid0 = visitors[0]
        page0.reload()
        assert served_by(page0) == pid0

        victim = spread.most_common(1)[0][0]
        others = [(p, pid) for _, p, pid in visitors if pid != victim]
        hit = [p for _, p, pid in visitors if pid == victim]
        before = {id(p): len(ticks(p)) for p, _ in others}
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        # each of its visitors is told (BokehJS's own notice on a bokeh serve page), or
        # BokehJS's first reconnect, at once, already took it to a new session of another
        # process (the notice then shows only for as long as that takes): never a frozen page
        outcomes = collections.Counter(after_kill(page, victim) for page in hit)
        time.sleep(2)
        for page, _ in others:  # the others go on, without a gap
            seen = ticks(page)
            assert len(seen) > before[id(page)] + 3, (before[id(page)], len(seen))
            assert seen == list(range(seen[0], seen[0] + len(seen))), "a tick was lost"
        # a reload of a visitor of the killed process: served by another process
        hit[0].reload()
        moved_to = served_by(hit[0])
        assert moved_to != victim and moved_to in cluster.pids()
        expect(hit[0].get_by_text(re.compile(r"^tick [1-9]"))).to_be_visible()
        back = wait_until(
            lambda: len(cluster.pids()) == 3 and victim not in cluster.pids(),
            60,
            "supervisord did not restart the killed process",
        )
        restarted_in = time.monotonic() - killed_at
        report_figure(
            f"{VISITORS} visitors through nginx over 3 processes: "
            f"{sorted(spread.values(), reverse=True)} sessions per process; killed the one with "
            f"{spread[victim]}: {outcomes['lost']} of their pages said the connection was lost, "
            f"{outcomes['moved']} were reconnected by BokehJS to a new session of another "
            f"process; a reload moved one to another process, the other {len(others)} "
            "visitors' ticks went on without a gap; "
            f"supervisord had it running again after {restarted_in:.1f} s (seen {back:.1f} s after "
            "the checks)"
        )
        assert_no_foreign_requests(log, _Origin(cluster.nginx.origin))
    finally:
        for ctx, _, _ in visitors:
            with contextlib.suppress(Exception):
                ctx.close()


@dataclass
class _Origin:
    """What assert_no_foreign_requests needs of a server: its origins."""

    origin: str

    @property
    def ws_origin(self) -> str:
        return "ws" + self.origin.removeprefix("http")

    def is_same_origin(self, url: str) -> bool:
        return url.startswith((self.origin + "/", self.ws_origin + "/", "data:", "blob:"))


def test_the_systemd_unit_runs_the_same_command(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd package) is needed to check the unit"
    unit = UNIT.read_text()
    command = re.search(r"^ExecStart=(\S+) (.*)$", unit, re.M)
    assert command is not None
    assert command[2] == "-m bokeh_nb.serverproxy %i /apps"
    supervised = re.findall(r"^command=python (.*)$", SUPERVISOR_CONF.read_text(), re.M)
    assert supervised == [f"-m bokeh_nb.serverproxy {p} /apps" for p in DOCUMENTED]
    # verify checks the unit's syntax and that ExecStart is executable: give it this python
    local = tmp_path / UNIT.name
    local.write_text(unit.replace(command[1], sys.executable))
    out = subprocess.run(
        [analyze, "verify", str(tmp_path / "bokeh-nb-apps@5006.service")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr

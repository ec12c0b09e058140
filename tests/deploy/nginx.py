"""Debian's nginx as a test process on loopback: a site config from ``deploy/`` used as is.

``start_nginx(site, base_dir, ports={...})`` writes a minimal main config around the site
file (the part a user drops into ``/etc/nginx/sites-enabled/``), replaces the documented
default ports in it with the test's ports, and runs ``nginx -g 'daemon off;'`` with its
own prefix, pid, logs and temp dirs under ``base_dir``. Nothing else in the site file
changes, so the test proves the config the docs show.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.jupyter import free_port

__all__ = (
    "DEPLOY",
    "NGINX",
    "Nginx",
    "NginxError",
    "free_port",
    "render_site",
    "start_nginx",
    "stop_nginx",
)

NGINX = os.environ.get("BOKEH_NB_TEST_NGINX", "/usr/sbin/nginx")
HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

_MAIN = """\
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log info;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log {base}/access.log;
    client_body_temp_path {base}/tmp/body;
    proxy_temp_path {base}/tmp/proxy;
    fastcgi_temp_path {base}/tmp/fastcgi;
    uwsgi_temp_path {base}/tmp/uwsgi;
    scgi_temp_path {base}/tmp/scgi;
    include {site};
}}
"""


class NginxError(RuntimeError):
    """nginx refused the config or did not start; the message has its error log."""


@dataclass
class Nginx:
    port: int
    base_dir: Path
    proc: subprocess.Popen[bytes]
    site: Path
    _log: Any = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def error_log(self) -> str:
        return _read(self.base_dir / "error.log") + _read(self.base_dir / "nginx.out")

    def access_log(self) -> str:
        return _read(self.base_dir / "access.log")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def render_site(text: str, ports: Mapping[int, int]) -> str:
    """``text`` with each documented port (``8888``) replaced by the test's (``ports[8888]``)."""
    for documented, actual in ports.items():
        text = re.sub(rf"(?<![0-9]){documented}(?![0-9])", str(actual), text)
    return text


def start_nginx(
    site: Path | str,
    base_dir: Path,
    *,
    ports: Mapping[int, int],
    listen: int,
    timeout: float = 20.0,
) -> Nginx:
    """Run nginx with the site config ``site`` (a path under ``deploy/`` or its text).

    ``ports`` maps each port the config documents to the one the test uses; ``listen``
    is the documented port nginx listens on (it must be a key of ``ports``). Returns once
    nginx accepts connections.
    """
    if not Path(NGINX).exists():
        raise NginxError(f"{NGINX} not found: ./dev.sh test installs it (apt-get install nginx)")
    base_dir = Path(base_dir)
    (base_dir / "tmp").mkdir(parents=True, exist_ok=True)
    text = Path(site).read_text() if isinstance(site, Path) else site
    site_path = base_dir / "site.conf"
    site_path.write_text(render_site(text, ports))
    main = base_dir / "nginx.conf"
    # as root, workers run as root too: they only read this test's own temp dirs
    user = "user root;" if os.geteuid() == 0 else ""
    main.write_text(_MAIN.format(base=base_dir, site=site_path, user=user))
    check = subprocess.run(
        [NGINX, "-t", "-p", str(base_dir), "-c", str(main)], capture_output=True, text=True
    )
    if check.returncode != 0:
        raise NginxError(f"nginx -t refused {site_path}:\n{check.stderr}")
    log = open(base_dir / "nginx.out", "ab")  # noqa: SIM115 - closed in stop_nginx
    proc = subprocess.Popen(
        [NGINX, "-p", str(base_dir), "-c", str(main), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Nginx(port=ports[listen], base_dir=base_dir, proc=proc, site=site_path, _log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop_nginx(server)
            raise NginxError(f"nginx exited with {proc.returncode}:\n{server.error_log()}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, server.port), 0.5):
            return server
        time.sleep(0.1)
    stop_nginx(server)
    raise NginxError(
        f"nginx did not listen on {server.port} in {timeout:.0f}s:\n{server.error_log()}"
    )


def stop_nginx(server: Nginx) -> None:
    """Stop nginx (its workers exit with it); bounded."""
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
    if server._log is not None:
        server._log.close()
        server._log = None


def told_or_moved(
    wait: Callable[[int], object],
    told: Callable[[], bool],
    moved: Callable[[], bool],
    timeout: float,
) -> str:
    """After a balanced server was killed: wait until one of its visitors' pages says its
    connection was lost ("lost") or shows a session of another server ("moved": BokehJS's
    first reconnect goes at once, and nginx sends it elsewhere); ``wait(ms)`` between
    looks (the page's ``wait_for_timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if told():
            return "lost"
        if moved():
            return "moved"
        wait(100)
    raise AssertionError("a visitor of the killed server was neither told nor moved")

"""A jupyter-server-proxy entry point: bokeh's own ``bokeh serve`` for a folder of apps,
beside JupyterLab, at ``{base_url}bokeh-apps/{app}``.

For users who want a long-running, multi-session Bokeh server next to their notebooks
(apps that outlive any kernel). jupyter-server-proxy starts it on first use, on a unix
socket (no extra port), and puts Jupyter's login in front of it. The apps are the
scripts, notebooks and app directories in ``$BOKEH_NB_APPS_DIR`` (default: ``apps`` in
the Jupyter server's working directory), found when the Bokeh server starts.

The same command runs the apps folder as a plain ``bokeh serve`` process on a TCP port,
for a load balancer in front of several of them (see "Load balancing" in
docs/deploying.md): ``python -m bokeh_nb.serverproxy 5006 /apps``. Then the process
listens on 127.0.0.1 only, trusts the proxy's ``X-Forwarded-*`` headers, and accepts
websockets only from the origins in ``$BOKEH_ALLOW_WS_ORIGIN`` (bokeh's own setting).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .apps import app_entry

__all__ = ("ROUTE", "app_paths", "main", "setup_bokeh_serve")

#: The proxy's route below the Jupyter server's base URL (the entry point's name).
ROUTE = "bokeh-apps"
APPS_DIR_ENV = "BOKEH_NB_APPS_DIR"


def setup_bokeh_serve() -> dict[str, Any]:
    """jupyter-server-proxy's description of the server (``jupyter_serverproxy_servers``)."""
    return {
        "command": [sys.executable, "-m", "bokeh_nb.serverproxy", "{unix_socket}", "{base_url}"],
        "unix_socket": True,
        # bokeh serve knows its prefix (--prefix) and makes its URLs absolute with it
        "absolute_url": True,
        "timeout": 60,
        "launcher_entry": {"enabled": True, "title": "Bokeh apps"},
        "new_browser_tab": True,
    }


def app_paths(folder: Path) -> list[Path]:
    """The Bokeh apps in folder (``apps.app_entry``: scripts, notebooks and app
    directories), but for hidden and private names."""
    return [
        p
        for p in sorted(folder.iterdir())
        if not p.name.startswith((".", "_")) and app_entry(p) is not None
    ]


def main(argv: list[str]) -> int:
    """``python -m bokeh_nb.serverproxy <unix socket | port> <base url>``: exec bokeh serve."""
    if len(argv) != 3:
        print(
            "usage: python -m bokeh_nb.serverproxy <unix socket | TCP port> <base url>",
            file=sys.stderr,
        )
        return 2
    where, base_url = argv[1], argv[2]
    folder = Path(os.environ.get(APPS_DIR_ENV, "apps")).resolve()
    apps = app_paths(folder) if folder.is_dir() else []
    if not apps:
        print(
            f"bokeh_nb: no Bokeh apps in {folder} (set {APPS_DIR_ENV} to a folder of "
            ".py scripts, .ipynb notebooks or app directories)",
            file=sys.stderr,
        )
        return 1
    args = [sys.executable, "-m", "bokeh", "serve"]
    if where.isdigit():
        # behind a load balancer: its origins are the only ones bokeh accepts
        if not os.environ.get("BOKEH_ALLOW_WS_ORIGIN"):
            print(
                "bokeh_nb: set BOKEH_ALLOW_WS_ORIGIN to the host:port browsers use to reach "
                "the load balancer (e.g. apps.example.org or 127.0.0.1:8080)",
                file=sys.stderr,
            )
            return 2
        prefix = "/" + "/".join(p for p in base_url.split("/") if p)
        args += ["--address", "127.0.0.1", "--port", where, "--use-xheaders"]
        args += ["--prefix", prefix] if prefix != "/" else []
    else:
        prefix = "/" + "/".join(p for p in (*base_url.split("/"), ROUTE) if p)
        args += ["--unix-socket", where, "--prefix", prefix]
        # Only jupyter-server-proxy reaches the socket, and it has checked the login and
        # the websocket's origin against the Jupyter server's own rules.
        args += ["--allow-websocket-origin", "*"]
    os.execv(sys.executable, [*args, *map(str, apps)])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""A server extension for tests only: ``GET {base_url}bokeh-nb-test/census`` (a Jupyter
login required) says how many of bokeh_nb's websocket handlers are still alive after a
garbage collection, how many app file sessions hold a kernel, and the server's resident
memory after glibc returned what it could. Loaded by ``servers.census_server``."""

from __future__ import annotations

import ctypes
import gc
import json
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from bokeh_nb.server.live import AppSocket
from bokeh_nb.server.state import state_of

try:
    _trim: Any = ctypes.CDLL("libc.so.6").malloc_trim
except OSError:  # not glibc
    _trim = None


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return -1.0


class Census(JupyterHandler):
    auth_resource = "kernels"

    @web.authenticated
    def get(self) -> None:
        gc.collect()
        sockets = sum(1 for o in gc.get_objects() if isinstance(o, AppSocket))
        if _trim is not None:
            _trim(0)
        pool = state_of(self.settings).file_apps
        self.finish(
            json.dumps(
                {
                    "sockets": sockets,
                    "file_sessions": sum(pool.active.values()),
                    "rss_mb": _rss_mb(),
                }
            )
        )


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, "bokeh-nb-test/census"), Census)])

"""The Jupyter server half of bokeh_nb. Never imports ipykernel.

Loaded by jupyter_server through ``jupyter-config/server-config/bokeh_nb.json``.
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool
from traitlets.config import Configurable

from .nodelay import with_nodelay
from .urls import handlers

__all__ = ("BokehNb", "_load_jupyter_server_extension")


class BokehNb(Configurable):
    """Settings of bokeh_nb's server extension (``--BokehNb.<name>=...``)."""

    tcp_nodelay = Bool(
        True,
        config=True,
        help="Set TCP_NODELAY on kernel websockets (about 40 ms less per round trip).",
    )


def _load_jupyter_server_extension(serverapp: Any) -> None:
    settings = BokehNb(parent=serverapp)
    web_app = serverapp.web_app
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    if settings.tcp_nodelay:
        base = web_app.settings.get("kernel_websocket_connection_class")
        if base is not None:
            web_app.settings["kernel_websocket_connection_class"] = with_nodelay(base)
    serverapp.log.info(
        "bokeh_nb: serving BokehJS at %sbokeh-nb/ (kernel websocket TCP_NODELAY %s)",
        web_app.settings["base_url"],
        "on" if settings.tcp_nodelay else "off",
    )

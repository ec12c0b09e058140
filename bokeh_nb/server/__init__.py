"""The Jupyter server half of bokeh_nb. Never imports ipykernel.

Loaded by jupyter_server through ``jupyter-config/server-config/bokeh_nb.json``.
"""

from __future__ import annotations

from typing import Any

from .urls import handlers

__all__ = ("_load_jupyter_server_extension",)


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    serverapp.log.info("bokeh_nb: serving BokehJS at %sbokeh-nb/", web_app.settings["base_url"])

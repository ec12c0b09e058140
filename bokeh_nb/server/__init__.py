"""The Jupyter server half of bokeh_nb. Never imports ipykernel.

Loaded by jupyter_server through ``jupyter-config/server-config/bokeh_nb.json``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.gateway.gateway_client import GatewayClient
from traitlets import Bool, Float, Int
from traitlets.config import Configurable

from . import files, logfilter, relay, static
from .base import redact
from .commstatus import untrack_comm_messages, with_comm_activity
from .gateway import binary_gateway_connection
from .limits import AUTHOR, LIMITS_KEY, VISITOR, Limits
from .nodelay import with_nodelay
from .pagefilter import without_relay_traffic
from .shares import MAX_SESSIONS, SETTINGS_KEY, new_registry
from .urls import handlers

__all__ = ("BokehNb", "_load_jupyter_server_extension")


class BokehNb(Configurable):
    """Settings of bokeh_nb's server extension (``--BokehNb.<name>=...``)."""

    tcp_nodelay = Bool(
        True,
        config=True,
        help="Set TCP_NODELAY on kernel websockets (about 40 ms less per round trip).",
    )
    untrack_comm_status = Bool(
        True,
        config=True,
        help="Add comm_msg to the kernel manager's untracked_message_types: pages do not "
        "show the kernel busy, then idle, for every comm message (about 10 ms of a "
        "JupyterLab page per BokehJS event); comm messages from pages still count as "
        "kernel activity.",
    )
    share_max_ttl = Float(
        7 * 24 * 3600.0,
        config=True,
        help="Longest lifetime of a share link, in seconds.",
    )
    share_max_sessions = Int(
        MAX_SESSIONS,
        config=True,
        help="Sessions one share link serves at once; one more is refused (HTTP 429).",
    )
    file_app_pool_size = Int(
        1, config=True, help="Kernels kept warm for app files (bokeh-nb/files/...)."
    )
    file_app_max_per_user = Int(
        4, config=True, help="App file sessions (each a kernel) one user may have at once."
    )
    file_app_max_total = Int(
        10,
        config=True,
        help="App file sessions (each a kernel) the server runs at once, all users together; "
        "one more is refused (HTTP 503) until one ends.",
    )
    max_message_bytes = Int(
        AUTHOR.max_bytes,
        config=True,
        help="Largest Bokeh message (all its websocket messages) an app page of the "
        "notebook's own user may send; a larger one closes its connection.",
    )
    visitor_max_message_bytes = Int(
        VISITOR.max_bytes,
        config=True,
        help="Largest Bokeh message a share link's visitor may send (a view-only visitor: "
        "at most 4 MiB); counted as it arrives, a larger one closes its connection.",
    )
    file_app_idle_timeout = Float(
        1800.0, config=True, help="Seconds without a message after which an app file session ends."
    )


def _redacting(log_function: Any) -> Any:
    """The server's request logger, with share tokens cut out of logged URLs and referers."""

    def log_request(handler: Any) -> None:
        request = handler.request
        uri, referer = request.uri, request.headers.get("Referer")
        if "/bokeh-nb/s/" not in (uri or "") + (referer or ""):
            log_function(handler)
            return
        request.uri = redact(uri or "")
        if referer is not None:
            request.headers["Referer"] = redact(referer)
        try:
            log_function(handler)
        finally:
            request.uri = uri
            if referer is not None:
                request.headers["Referer"] = referer

    return log_request


def _shut_down_with(serverapp: Any, pool: files.FileAppPool) -> None:
    """Shut the file-app kernels down with the server's own kernels. (Were the server
    killed instead, they exit on their own: ipykernel watches its parent process.)"""
    cleanup_kernels = serverapp.cleanup_kernels

    async def cleanup() -> None:
        await pool.shutdown()
        await cleanup_kernels()

    serverapp.cleanup_kernels = cleanup


def _load_jupyter_server_extension(serverapp: Any) -> None:
    logfilter.install(serverapp.log)  # no credential in any log line from here on
    settings = BokehNb(parent=serverapp)
    web_app = serverapp.web_app
    web_app.settings[LIMITS_KEY] = (
        Limits(AUTHOR.max_buffers, settings.max_message_bytes),
        Limits(VISITOR.max_buffers, settings.visitor_max_message_bytes),
    )
    web_app.settings[SETTINGS_KEY] = new_registry(
        web_app.settings, settings.share_max_ttl, settings.share_max_sessions
    )
    if web_app.settings.get("log_function") is not None:
        web_app.settings["log_function"] = _redacting(web_app.settings["log_function"])
    pool = files.FileAppPool(
        serverapp.kernel_spec_manager,
        serverapp.kernel_manager.default_kernel_name,
        serverapp.contents_manager.root_dir,
        settings.file_app_pool_size,
        settings.file_app_max_per_user,
        settings.file_app_max_total,
        remote=GatewayClient.instance().gateway_enabled,
    )
    web_app.settings[files.SETTINGS_KEY] = pool
    web_app.settings["bokeh_nb_file_idle_timeout"] = settings.file_app_idle_timeout
    _shut_down_with(serverapp, pool)
    serverapp.event_logger.add_listener(
        schema_id=relay.KERNEL_ACTIONS, listener=relay.kernel_action
    )
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    static.advertise_bokeh_version(web_app.settings)  # pages load other versions from kernels
    base = web_app.settings.get("kernel_websocket_connection_class")
    if base is not None and GatewayClient.instance().gateway_enabled:
        # remote kernels: their messages with binary buffers must pass the proxy unchanged
        base = binary_gateway_connection(base)
    elif base is not None and hasattr(base, "handle_outgoing_message"):
        # local kernels: notebook pages skip the standalone sessions' iopub traffic
        base = without_relay_traffic(base)
        if settings.untrack_comm_status:  # what the page sends still counts as activity
            base = with_comm_activity(base)
    untracked = settings.untrack_comm_status and untrack_comm_messages(serverapp)
    if base is not None and settings.tcp_nodelay:
        base = with_nodelay(base)
    if base is not None:
        web_app.settings["kernel_websocket_connection_class"] = base
    serverapp.log.info(
        "bokeh_nb: serving BokehJS at %sbokeh-nb/ (kernel websocket TCP_NODELAY %s, "
        "comm messages %s in the kernel status pages show)",
        web_app.settings["base_url"],
        "on" if settings.tcp_nodelay else "off",
        "untracked" if untracked else "tracked",
    )

"""bokeh_nb's Jupyter server extension: its settings (``--BokehNb.<name>=...``,
``c.BokehNb.<name> = ...``), what it adds to the server as it loads, and what it stops
with the server.

Loading makes the ``ServerState`` its handlers share (``state.py``), serves the routes of
``urls.py`` below the server's base URL, keeps credentials out of the server's logs, tells
pages which BokehJS the server serves, extends the kernel websocket connection of
notebook pages (``_jupyter.kernel_connection_class``), and listens to kernel actions, so
that a kernel's client goes when its kernel shuts down or restarts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.gateway.gateway_client import GatewayClient
from traitlets import Bool, Float, Int

from . import logfilter, static
from ._jupyter import kernel_connection_class
from .commstatus import untrack_comm_messages
from .gateway import GatewayTransport
from .kernelclient import KERNEL_ACTIONS, KernelClients, Transport
from .limits import AUTHOR, VISITOR, Limits
from .pool import FileAppPool
from .sharelinks import MAX_SESSIONS, ShareRegistry
from .state import STATE_KEY, ServerState
from .urls import ROUTES
from .wsframes import write_kernel_message
from .zmqtransport import ZmqTransport, client_session

__all__ = ("BokehNb",)


class BokehNb(ExtensionApp):
    """Settings of bokeh_nb's server extension (``--BokehNb.<name>=...``)."""

    name = "bokeh_nb"
    description = "The Bokeh server, inside the Jupyter kernel: live apps and share links"
    load_other_extensions = True

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

    _state: ServerState | None = None

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        # (all three are there once the server initialized, before any extension loads)
        assert serverapp is not None
        assert serverapp.kernel_spec_manager is not None
        assert serverapp.event_logger is not None
        logfilter.install(serverapp.log)  # no credential in any log line from here on
        gateway = GatewayClient.instance().gateway_enabled
        settings: dict[str, Any] = self.settings
        kernel_manager = serverapp.kernel_manager
        self._state = ServerState(
            author_limits=Limits(AUTHOR.max_buffers, self.max_message_bytes),
            interact_limits=Limits(VISITOR.max_buffers, self.visitor_max_message_bytes),
            file_app_idle_timeout=self.file_app_idle_timeout,
            kernels=KernelClients(
                lambda kernel_id: kernel_id in kernel_manager,
                _transports(kernel_manager, gateway),
            ),
            shares=ShareRegistry.for_server(
                settings.get("cookie_secret"), self.share_max_ttl, self.share_max_sessions
            ),
            file_apps=FileAppPool(
                serverapp.kernel_spec_manager,
                kernel_manager.default_kernel_name,
                serverapp.contents_manager.root_dir,
                self.file_app_pool_size,
                self.file_app_max_per_user,
                self.file_app_max_total,
                remote=gateway,
            ),
        )
        settings[STATE_KEY] = self._state
        if settings.get("log_function") is not None:
            settings["log_function"] = logfilter.redacting(settings["log_function"])
        serverapp.event_logger.add_listener(
            schema_id=KERNEL_ACTIONS, listener=self._state.kernels.on_kernel_action
        )
        static.advertise_bokeh_version(settings)  # pages load other versions from kernels
        connection = kernel_connection_class(
            settings.get("kernel_websocket_connection_class"),
            gateway=gateway,
            comm_activity=self.untrack_comm_status,
            nodelay=self.tcp_nodelay,
            write_large=write_kernel_message,
        )
        if connection is not None:
            settings["kernel_websocket_connection_class"] = connection
        untracked = self.untrack_comm_status and untrack_comm_messages(
            kernel_manager, settings.get("page_config_data")
        )
        serverapp.log.info(
            "bokeh_nb: serving BokehJS at %sbokeh-nb/ (kernel websocket TCP_NODELAY %s, "
            "comm messages %s in the kernel status pages show)",
            settings["base_url"],
            "on" if self.tcp_nodelay else "off",
            "untracked" if untracked else "tracked",
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(ROUTES)

    async def stop_extension(self) -> None:
        """The server stops: share links expire no more, the kernel clients stop, and the
        file-app kernels shut down (before the server's own kernels; were the server
        killed instead, they exit on their own: ipykernel watches its parent process)."""
        state, self._state = self._state, None
        if state is None:
            return
        if self.serverapp is not None and self.serverapp.event_logger is not None:
            with contextlib.suppress(KeyError):  # (the schema was never registered)
                self.serverapp.event_logger.remove_listener(
                    schema_id=KERNEL_ACTIONS, listener=state.kernels.on_kernel_action
                )
        await state.stop()


def _transports(kernel_manager: Any, gateway: bool) -> Callable[[str], Transport]:
    """How the server reaches a notebook kernel by its id: over the kernel gateway's
    websocket, or a local kernel's channels with a Jupyter session of the server's own."""

    def transport(kernel_id: str) -> Transport:
        if gateway:  # the kernel runs on a kernel gateway
            return GatewayTransport(kernel_id)
        km = kernel_manager.get_kernel(kernel_id)
        return ZmqTransport(km.client(session=client_session(km.session)))

    return transport

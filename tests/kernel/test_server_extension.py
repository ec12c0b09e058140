"""bokeh_nb's server extension in a real Jupyter server, in this process: it loads as an
ExtensionApp with its ``--BokehNb.*`` settings, the server's client of a notebook kernel
goes when that kernel shuts down, and stopping the server stops what the extension
holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jupyter_server.serverapp import ServerApp

from bokeh_nb.server import BokehNb
from bokeh_nb.server.state import state_of


def test_the_extension_loads_and_lets_go_of_what_it_holds(tmp_path: Path) -> None:
    async def main() -> None:
        app = ServerApp.instance(
            jpserver_extensions={"bokeh_nb": True}, root_dir=str(tmp_path), open_browser=False
        )
        try:
            app.initialize(
                argv=["--BokehNb.share_max_sessions=3", "--IdentityProvider.token=t"],
                find_extensions=False,
            )
            extension = app.extension_manager.extension_points["bokeh_nb"].app
            assert isinstance(extension, BokehNb)
            state = state_of(app.web_app.settings)
            assert state.shares.max_sessions == 3
            assert app.web_app.settings["kernel_websocket_connection_class"]._bokeh_nb

            kernel_id = await app.kernel_manager.start_kernel()
            client = state.kernels.get(kernel_id)
            await asyncio.sleep(0.2)
            assert kernel_id in state.kernels and client.running
            await app.kernel_manager.shutdown_kernel(kernel_id)
            await asyncio.sleep(0.1)
            assert kernel_id not in state.kernels and not client.running

            other = await app.kernel_manager.start_kernel()
            client = state.kernels.get(other)
            await app.extension_manager.stop_all_extensions()
            await asyncio.sleep(0.1)
            assert other not in state.kernels and not client.running
            await app.kernel_manager.shutdown_all()
        finally:
            app.http_server.stop()
            ServerApp.clear_instance()

    asyncio.run(main())

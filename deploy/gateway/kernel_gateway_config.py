"""Jupyter Kernel Gateway for bokeh_nb: the kernels run here, on another machine than the
Jupyter server. Start it in an environment with bokeh_nb (the kernels import it):
    KG_AUTH_TOKEN=... jupyter kernelgateway --config=kernel_gateway_config.py
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by jupyter

# Listen where the Jupyter server can reach it (behind a firewall: only the server talks to
# the gateway, never a browser).
c.KernelGatewayApp.ip = "127.0.0.1"
c.KernelGatewayApp.port = 8889
c.KernelGatewayApp.port_retries = 0
c.KernelGatewayApp.api = "kernel_gateway.jupyter_websocket"
# The Jupyter server authenticates with this token (the same value on both sides).
c.KernelGatewayApp.auth_token = os.environ["KG_AUTH_TOKEN"]
# The Jupyter server lists the gateway's kernels (off by default in the gateway).
c.JupyterWebsocketPersonality.list_kernels = True

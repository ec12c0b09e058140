"""The Jupyter server with bokeh_nb, its kernels on a kernel gateway. Start with:
KG_AUTH_TOKEN=... jupyter lab --config=jupyter_server_config.py"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by jupyter

c.GatewayClient.url = "http://127.0.0.1:8889"
c.GatewayClient.auth_token = os.environ["KG_AUTH_TOKEN"]
# starting a kernel on the gateway may take a while
c.GatewayClient.request_timeout = 120.0
c.GatewayClient.connect_timeout = 60.0

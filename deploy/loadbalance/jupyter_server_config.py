# Each Jupyter server behind deploy/loadbalance/jupyter-servers.conf (jupyter server
# --config=jupyter_server_config.py). A visitor's login cookie, set by whichever server
# they reached first, must be valid on every server: one cookie secret for all, from the
# environment (generate it once: python -c "import secrets; print(secrets.token_hex(32))").
# Start every server with the same JUPYTER_TOKEN (or password) and the same root_dir.
import os

c = get_config()  # noqa: F821
c.ServerApp.cookie_secret = bytes.fromhex(os.environ["BOKEH_NB_COOKIE_SECRET"])

"""JupyterHub for bokeh_nb: each user's JupyterLab, with bokeh_nb, below /user/<name>/.

Run from a directory the hub may write its database and cookie secret to:
    HUB_PASSWORD=... HUB_HOMES=/srv/jupyterhub/home jupyterhub -f jupyterhub_config.py
with bokeh_nb installed (and enabled, pip does that) in the environment of
``jupyterhub-singleuser``, and ``configurable-http-proxy`` (npm) on PATH.
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by jupyterhub

# The public address (the proxy), the hub's own API, and the proxy's API: loopback here; put
# TLS in front (or set ip = "" and ssl_cert / ssl_key) for a real deployment.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 8000
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = 8081
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"

# Each user's server is a local process in its own home directory. A real deployment uses
# LocalProcessSpawner (one unix user each), SystemdSpawner, DockerSpawner or KubeSpawner:
# bokeh_nb needs nothing from the spawner.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(
    os.environ.get("HUB_HOMES", "/srv/jupyterhub/home"), "{username}"
)
c.Spawner.default_url = "/lab"
if os.geteuid() == 0:  # every user's server runs as the hub's own user here
    c.Spawner.args = ["--allow-root"]

# One shared password (at least 8 characters) for the listed users: for a small team or a
# trial. Production uses a real authenticator (PAM, OAuth, LDAP); share links are for
# people without a hub account.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["HUB_PASSWORD"]
c.Authenticator.allowed_users = {"alice", "bob"}

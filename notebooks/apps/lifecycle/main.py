"""Lifecycle: an app directory whose ``server_lifecycle.py`` prints each hook as it runs.

Show it with ``bokeh_nb.App("apps/lifecycle")`` in a notebook (``06_lifecycle_and_callbacks``),
or run it with ``bokeh serve --show notebooks/apps/lifecycle``: the hooks then print to the
server's console.

The hooks keep a visit counter on the server context, which every session can read: the
place for what all sessions of an app share (a database engine, a model loaded once, ...).
"""

from bokeh.io import curdoc
from bokeh.models import Div

doc = curdoc()
visit = getattr(doc.session_context, "visit", "?")  # set by on_session_created
doc.add_root(Div(text=f"You are visit #{visit} of this app.", name="visit"))
doc.title = "Lifecycle"

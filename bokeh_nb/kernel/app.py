"""``bokeh_nb.show`` and ``bokeh_nb.App``: what a notebook cell displays live.

``show(obj)`` displays obj in the current output (a model, layout or Document as it is;
an app as a new session of it). ``App`` is a live app the user names and keeps
(``liveapp.py``): ``app.url`` opens a new session of it in a page of its own, and
displaying it in a cell starts a new session in the output.
"""

from __future__ import annotations

from typing import Any

from ._ipykernel import kernel_id
from .liveapp import LiveApp
from .runtime import runtime
from .widget import widget_for

__all__ = ("App", "kernel_id", "show")


def show(obj: Any) -> None:
    """Display obj live in the current output.

    Returns None, like ``IPython.display.display``: a returned widget would be displayed
    a second time as the cell's result. Use ``BokehWidget(obj)`` to keep a handle.
    """
    from IPython.display import display

    handle = display(widget_for(obj), display_id=True)  # type: ignore[no-untyped-call]
    if handle is not None:
        runtime().shown(handle.display_id)


class App(LiveApp):
    """A Bokeh app in this kernel: a function ``modify_doc(doc)``, a bokeh Application, or
    the path of a script, app directory or notebook. Displaying it starts a new session
    (a new Document), as every visit to a ``bokeh serve`` app does.

    ``args`` become ``curdoc().session_context.request.arguments`` (as query arguments
    would under ``bokeh serve``). ``app.url`` is its standalone page on the Jupyter server.

    Making one has one effect: the app is published in this kernel (it owns its name, is
    the app ``show`` / ``share`` of ``obj`` run, and the notebook page is asked for the
    server's address, which ``app.url`` needs, once the cell has finished).
    """

    def _ipython_display_(self) -> None:
        show(self)

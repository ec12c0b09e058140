"""``BokehWidget``: a live Bokeh document as an ipywidget.

ipywidgets gives the comm lifecycle, restore after a page reload and composition with other
widgets; each Bokeh protocol message travels as exactly one widget custom message (JSON in
``content``, arrays as binary ``buffers``). The wire is specified in ``docs/protocol.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bokeh.document import Document
from bokeh.model import Model
from ipywidgets import DOMWidget
from traitlets import Int, List, Unicode

from .. import _bokeh
from ..protocol import (
    CORE_BUNDLES,
    PROTOCOL_VERSION,
    WIDGET_MODEL,
    WIDGET_MODULE,
    WIDGET_MODULE_VERSION,
    WIDGET_VIEW,
)
from ..wire import error_frame, stream_frame
from . import bokehjs
from ._ipykernel import kernel_id, route_by_sender
from .containers import watch_containers
from .documents import array_bytes, as_document
from .frames import dispatch, encode
from .liveapp import app_for
from .runtime import runtime
from .session import KernelSession
from .snapshot import output_entries

log = logging.getLogger(__name__)

__all__ = ("BokehWidget", "widget_for")

_NO_FRONTEND = (
    "Bokeh output of bokeh_nb. Not shown here: run the cell to connect it to its kernel; "
    "if this frontend does not have bokeh_nb, install it (pip install bokeh_nb) where "
    "JupyterLab or Notebook 7 runs, then reload."
)


def _kernel_id() -> str:
    """This kernel's id on its Jupyter server, or "" outside one."""
    try:
        return kernel_id()
    except Exception:
        return ""


class BokehWidget(DOMWidget):  # type: ignore[misc]
    """A Bokeh model, layout, Document, Application or ``modify_doc`` function, live."""

    _model_name = Unicode(WIDGET_MODEL).tag(sync=True)
    _model_module = Unicode(WIDGET_MODULE).tag(sync=True)
    _model_module_version = Unicode(WIDGET_MODULE_VERSION).tag(sync=True)
    _view_name = Unicode(WIDGET_VIEW).tag(sync=True)
    _view_module = Unicode(WIDGET_MODULE).tag(sync=True)
    _view_module_version = Unicode(WIDGET_MODULE_VERSION).tag(sync=True)

    bokeh_version = Unicode(_bokeh.bokeh_version, read_only=True).tag(sync=True)
    protocol_version = Unicode(PROTOCOL_VERSION, read_only=True).tag(sync=True)
    bundles = List(Unicode(), default_value=list(CORE_BUNDLES)).tag(sync=True)
    #: For an app's session: the app's name and this kernel's id, so the output can offer
    #: "Open in new tab" and "Copy share link" (empty for a plain document).
    app_name = Unicode("", read_only=True).tag(sync=True)
    kernel_id = Unicode("", read_only=True).tag(sync=True)
    #: The document's column data when shown, in bytes: above ``LARGE_OUTPUT_BYTES`` of the
    #: frontend, a page asks before it pulls and draws it.
    #: (In the widget's first state, so no view renders before it knows.)
    data_bytes = Int(0).tag(sync=True)

    def __init__(self, obj: Any, **kwargs: Any) -> None:
        app = None
        session_id = None
        if isinstance(obj, Document | Model):
            document = as_document(obj)
        else:  # an App, Application, modify_doc function or app path: a new session
            app = app_for(obj)
            session_id, document = app.new_session_document()
        super().__init__(data_bytes=array_bytes(document), **kwargs)
        if _bokeh.needs_mathjax(list(document.roots)):
            self.bundles = [*CORE_BUNDLES, "bokeh-mathjax"]
        #: Wire counters (comm messages and bytes each way), for tests and benchmarks.
        self.frames_received = 0
        self.buffer_bytes_sent = self.buffer_bytes_received = 0
        self.session = KernelSession(
            document,
            self,
            budget=runtime().budget,
            on_unused=self.close,
            session_id=session_id,
        )
        if app is not None and session_id is not None:
            app.attach(session_id, self.session)
            self.set_trait("app_name", app.name)
            self.set_trait("kernel_id", _kernel_id())
        runtime().output_opened(document, self)
        self.on_msg(self._on_frame)
        watch_containers()  # so that a container holding this output can keep its snapshot

    @property
    def document(self) -> Document:
        return self.session.document

    @property
    def frames_sent(self) -> int:
        """Bokeh messages sent (a wire counter): the frames the session numbered."""
        return self.session.frames_sent

    # ---- Channel ------------------------------------------------------------------------

    def send_message(self, msg: _bokeh.Message[Any], seq: int, acknowledge: bool = False) -> None:
        frame, payloads = encode(msg, seq, acknowledge)  # the pages acknowledge it by seq
        self.buffer_bytes_sent += sum(memoryview(p).nbytes for p in payloads)
        self.send(frame, buffers=payloads)

    def send_error(self, text: str, traceback: str) -> None:
        log.warning("bokeh_nb: error in a callback: %s", text)
        self.send(error_frame(text, traceback))

    def send_stream(self, name: str, text: str, client: str | None) -> None:
        """What the session's callbacks printed, to the cell of this output."""
        self.send(stream_frame(name, text, client))

    # ---- browser -> kernel --------------------------------------------------------------

    def _on_frame(self, _widget: Any, content: Any, buffers: list[memoryview]) -> None:
        self.frames_received += 1
        self.buffer_bytes_received += sum(memoryview(b).nbytes for b in buffers)
        if bokehjs.is_request(content):  # the page's server lacks this kernel's BokehJS
            bokehjs.answer(self, content)
            return
        dispatch(content, buffers, self.session, self.session.send)

    # ---- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        session = getattr(self, "session", None)
        if session is not None and not session.destroyed:
            runtime().output_closed(session.document, self)
            session.destroy()
        super().close()

    # ---- where no page is attached (headless.py) -----------------------------------------

    def open(self) -> None:
        """Open the widget's comm, except in a run no page sees: there it opens only when
        something needs the widget's model (an ipywidgets container it is put in)."""
        if self.comm is None and runtime().headless():
            return
        self._open_routed()

    @property
    def model_id(self) -> str:
        if self.comm is None:
            self._open_routed()
        return str(self.comm.comm_id)

    def _open_routed(self) -> None:
        """ipywidgets' open, and the page's messages handled in the order it sent them
        (``_ipykernel.route_by_sender``)."""
        super().open()
        if self.comm is not None:
            route_by_sender(self.comm)

    @property
    def _ipython_display_(self) -> Callable[[], None]:
        """In a headless run, how IPython shows this widget: a plain output whose snapshot
        the kernel keeps. Elsewhere absent, so ipywidgets' own display applies."""
        if runtime().headless():
            return self._show_headless
        raise AttributeError("_ipython_display_")

    def _show_headless(self) -> None:
        from IPython.display import display

        bundle = {"text/plain": _NO_FRONTEND, **self._entries()}
        handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        runtime().snapshots.shown(self, handle.display_id, bundle)

    def _entries(self) -> dict[str, Any]:
        return output_entries(list(self.bundles), runtime().snapshot_max_bytes)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        if self.comm is None:
            return {"text/plain": _NO_FRONTEND, **self._entries()}
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = _NO_FRONTEND
            bundle.update(self._entries())
        return bundle  # type: ignore[no-any-return]


def widget_for(obj: Any) -> BokehWidget:
    """The live widget already showing obj's document, or a new one."""
    doc = obj if isinstance(obj, Document) else getattr(obj, "document", None)
    if doc is not None and isinstance(obj, Document | Model):
        existing = runtime().outputs.get(id(doc))
        if isinstance(existing, BokehWidget) and (isinstance(obj, Document) or obj in doc.roots):
            return existing
    return BokehWidget(obj)

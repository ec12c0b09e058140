"""Snapshots the kernel keeps where no page is attached (``docs/snapshots.md``).

A notebook run without a frontend (``jupyter nbconvert --execute``, papermill,
``jupyter execute``, nbval, myst-nb: each sends its execute requests with ``allow_stdin``
false, as no person can answer) has no page to write its outputs' snapshots at save. There
the kernel writes them itself, in the frontend's format (``snapshot.snapshot_html``). A
``BokehWidget`` opens no comm there (no page would use it, and an exported notebook would
otherwise load the ipywidgets manager from a CDN) and is shown as a plain output with a
display id; at the end of each cell, every output whose document changed since its last
snapshot gets an ``update_display_data`` with the document as it is now. The earliest
output still shown that has a snapshot carries the BokehJS bundles the run's snapshots
need, once.

Nothing of this runs while a page is attached: with a frontend that answered the probe, in
an execution a person started (``allow_stdin`` true) or for an output a page views, the
page's save-time snapshot is the source of truth and the kernel sends no snapshot at all.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..protocol import OUTPUT_MIME
from ._ipykernel import shell_request, watch_shell
from .documents import array_bytes
from .snapshot import (
    HEADLESS_FALLBACK,
    bundle_sources,
    bundles_for,
    describe,
    document_snapshot,
    over_bound_note,
    snapshot_html,
)

if TYPE_CHECKING:
    from bokeh.document import Document

    from .frontend import State
    from .session import KernelSession

log = logging.getLogger(__name__)

__all__ = ("HeadlessOutput", "HeadlessSnapshots", "is_headless")


def is_headless(frontend: State) -> bool:
    """True while the kernel runs a request no page sent: no frontend answered the probe
    (``frontend`` is its state) and the execute request cannot ask for input
    (``allow_stdin`` false)."""
    if frontend == "present" or _voila():
        return False
    request = shell_request()
    if request.get("header", {}).get("msg_type") != "execute_request":
        return False
    return request.get("content", {}).get("allow_stdin") is False


def _voila() -> bool:
    """True in a kernel Voilà started: it runs the notebook with no page attached yet, and
    then the dashboard's page attaches to the outputs (which must stay live widgets)."""
    return "VOILA_KERNEL_ID" in os.environ or os.environ.get("SERVER_SOFTWARE", "").startswith(
        "voila/"
    )


class HeadlessOutput(Protocol):
    """What is shown in a headless output (a ``BokehWidget``)."""

    @property
    def document(self) -> Document: ...

    @property
    def session(self) -> KernelSession: ...


@dataclass(eq=False)
class _Output:
    """One output showing a BokehWidget, as the kernel displayed it."""

    display_id: str
    widget: HeadlessOutput
    data: dict[str, Any]  # the bundle as displayed, without a snapshot
    cell: str  # msg id of the execution that displayed it
    dirty: bool = True  # the document changed since the last snapshot sent
    has_snapshot: bool = False
    carried: tuple[str, ...] = ()  # the bundles its last text/html carries
    text: str | None = None  # its last snapshot, kept while it carries the bundles
    note: str = ""
    description: str = ""  # the document in words, for viewers that run no scripts

    @property
    def document(self) -> Document:
        return self.widget.document

    @property
    def usable(self) -> bool:
        """Its document can still be read: the session did not end."""
        return not self.widget.session.destroyed

    @property
    def max_bytes(self) -> int:
        return int(self.data[OUTPUT_MIME]["max_bytes"])


@dataclass
class HeadlessSnapshots:
    """The kernel's headless outputs and their snapshots; ``is_headless`` says whether
    the request being handled is one no page sent."""

    is_headless: Callable[[], bool]
    outputs: list[_Output] = field(default_factory=list)
    installed: bool = False
    #: update_display_data messages sent (a counter for tests)
    sent: int = 0
    _watched: dict[int, Any] = field(default_factory=dict)  # id(doc) -> on_change callback

    def install(self) -> None:
        """Watch this kernel's displays and cells (once; from the kernel's main thread)."""
        if not self.installed:
            self.installed = watch_shell(self._on_message, self._after_cell)

    # ---- what the kernel displays -------------------------------------------------------

    def _on_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        if msg.get("header", {}).get("msg_type") == "clear_output":
            cell = msg.get("parent_header", {}).get("msg_id", "")
            self._forget([o for o in self.outputs if o.cell == cell])  # its outputs are gone
        return msg

    def shown(self, widget: HeadlessOutput, display_id: str, data: dict[str, Any]) -> None:
        """The kernel displayed widget's output (without a widget view) in a headless run."""
        self.install()
        cell = shell_request().get("header", {}).get("msg_id", "")
        self.outputs.append(_Output(display_id, widget, dict(data), cell))
        doc = widget.document
        if id(doc) not in self._watched:
            self._watched[id(doc)] = callback = self._changed_callback(doc)
            doc.on_change(callback)

    def _changed_callback(self, doc: Document) -> Any:
        def changed(event: Any) -> None:
            for output in self.outputs:
                if output.document is doc:
                    output.dirty = True

        return changed

    def _forget(self, gone: list[_Output]) -> None:
        self.outputs = [o for o in self.outputs if o not in gone]
        for output in gone:
            doc = output.document
            if not any(o.document is doc for o in self.outputs):
                callback = self._watched.pop(id(doc), None)
                if callback is not None:
                    doc.remove_on_change(callback)

    # ---- at the end of each cell --------------------------------------------------------

    def _after_cell(self, _result: Any = None) -> None:
        if not self.outputs or not self.is_headless():
            return
        try:
            self.refresh()
        except KeyboardInterrupt:  # interrupted: every output keeps its last good snapshot
            log.info("bokeh_nb: snapshots not brought up to date (interrupted)")

    def refresh(self) -> None:
        """Send a new snapshot of every output whose document changed (and move the BokehJS
        bundles to the output that carries them now). Each message is built whole before it
        is sent, so an interruption leaves the outputs as they were."""
        unviewed = [o for o in self.outputs if o.widget.session.view_count == 0]
        docs = [o.document for o in unviewed if o.usable and o.max_bytes > 0]
        needed = tuple(bundles_for(docs)) if docs else ()
        carrier: _Output | None = None
        for output in unviewed:
            fresh = output.dirty and output.usable
            text = self._snapshot(output) if fresh else None
            has_snapshot = text is not None if fresh else output.has_snapshot
            carries = carrier is None and has_snapshot and (fresh or output.usable or output.text)
            if carries:
                carrier = output
                if not fresh and output.carried == needed:
                    continue
                if text is None:
                    text = output.text if output.text is not None else self._snapshot(output)
                self._send(output, text, needed)
            elif fresh:
                self._send(output, text, ())
            elif output.carried and output.text is not None:  # the bundles moved on
                self._send(output, output.text, ())

    def _snapshot(self, output: _Output) -> str | None:
        """The output's document as snapshot text, or None over its bound (with a note)."""
        output.description = describe(output.document)
        limit = output.max_bytes
        estimate = array_bytes(output.document) * 4 // 3  # base64 of its arrays, at least
        text = document_snapshot(output.document) if limit > 0 and estimate <= limit else None
        if text is not None and len(text) <= limit:
            output.note = ""
            return text
        output.note = over_bound_note(len(text) if text is not None else estimate, limit)
        return None

    def _send(self, output: _Output, text: str | None, bundles: tuple[str, ...]) -> None:
        from IPython.display import update_display

        meta = dict(output.data[OUTPUT_MIME])
        meta.update(note=output.note, snapshot_bytes=len(text or ""))
        meta["saved"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        sources = bundle_sources(list(bundles)) if text is not None else []
        words = f"{output.description} {HEADLESS_FALLBACK}"
        page = snapshot_html(meta, text, sources, fallback=words)
        plain = " ".join(t for t in (output.description, output.note, HEADLESS_FALLBACK) if t)
        bundle = {**output.data, OUTPUT_MIME: meta, "text/html": page, "text/plain": plain}
        update_display(bundle, raw=True, display_id=output.display_id)  # type: ignore[no-untyped-call]
        self.sent += 1
        output.dirty = False
        output.has_snapshot = text is not None
        output.carried = bundles if text is not None else ()
        output.text = text if output.carried else None

"""What can be shown, turned into the Document a session holds."""

from __future__ import annotations

from typing import Any

from bokeh.document import Document
from bokeh.model import Model

from .. import _bokeh

__all__ = ("array_bytes", "as_document", "ShowError")


class ShowError(TypeError):
    """The object cannot be shown by bokeh_nb; the message says what can."""


def as_document(obj: Any) -> Document:
    """A Document for a model, a layout or a Document (apps go through ``App``)."""
    if isinstance(obj, Document):
        return obj
    if isinstance(obj, Model):
        _bokeh.detach_roots(obj)
        if obj.document is not None:
            raise ShowError(
                f"this {type(obj).__name__} is inside a layout that is already shown, and a "
                "bokeh model belongs to one document only: to show that output again, show "
                "its document (bokeh_nb.show(model.document)), or show a new model"
            )
        doc = Document()
        doc.add_root(obj)
        return doc
    raise ShowError(
        f"cannot show a {type(obj).__name__}: bokeh_nb shows a bokeh model or layout, a "
        "Document, an Application, a function modify_doc(doc) or the path of an app"
    )


def array_bytes(document: Document) -> int:
    """About how many bytes of column data ``document`` holds (its ColumnDataSources'
    arrays; 8 bytes per item of a list): what a page must receive to show it."""
    from bokeh.models import ColumnDataSource

    total = 0
    for model in document.models:
        if isinstance(model, ColumnDataSource):
            for value in model.data.values():
                nbytes = getattr(value, "nbytes", None)
                if isinstance(nbytes, int):
                    total += nbytes
                elif hasattr(value, "__len__"):
                    total += 8 * len(value)
    return total

"""How a batch of a session's changes merges a new one: as bokeh's ``hold`` merges them
(the latest value of a property wins), and, beyond bokeh, consecutive streams to one
column data source become one, and new data for a whole source (``source.data = …``)
makes the source's earlier changes in the batch moot. New data goes with the columns as
they were when it was set (``_as_it_is_now``), not as they are when the frame is made.

bokeh never merges ``ColumnsStreamedEvent``: a callback that streams 100 rows per loop turn
sends a page that lags a frame of, say, 15 streams, and the page appends, rolls over and
redraws 15 times for it (and a standalone page receives two websocket messages per column
per stream). Two streams to the same source and property with the same rollover are one
stream of the rows of both, in order: appending A then B, each time keeping the last
``rollover`` rows, leaves what appending A + B does; and of A + B only its last
``rollover`` rows can outlive it, so only those are kept. A stream merges with the latest
stream to the same source only while nothing else of that source (a patch, new data,
another property) came between them, so the page sees the source's changes in their
order.

The rows are joined once, when the frame is made (``joined``): a cell that streams in a
loop while its page lags adds each stream in constant time. A merged stream is a copy of
the first (the event itself is every listener's of the document) that carries its parts
until then.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from copy import copy
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
from bokeh.document.events import (
    ColumnDataChangedEvent,
    ColumnsPatchedEvent,
    ColumnsStreamedEvent,
)

from .. import _bokeh

if TYPE_CHECKING:
    from bokeh.document.events import DocumentPatchedEvent

__all__ = ("joined", "merge_event")

Columns = Mapping[str, Any]

#: the attribute of a merged stream that holds its parts until ``joined``
_PARTS = "_bokeh_nb_parts"


def merge_event(event: DocumentPatchedEvent, batch: list[DocumentPatchedEvent]) -> None:
    """Add event to batch, merged into an earlier one where it can be."""
    if isinstance(event, ColumnDataChangedEvent):
        if event.cols is None:  # all of the source's data: what came before it is moot
            batch[:] = [earlier for earlier in batch if not _replaced_by(event, earlier)]
        batch.append(_as_it_is_now(event))
        return
    if isinstance(event, ColumnsStreamedEvent) and _merge_stream(event, batch):
        return
    _bokeh.combine_event(event, batch)


def joined(batch: list[DocumentPatchedEvent]) -> list[DocumentPatchedEvent]:
    """batch, each merged stream's rows joined into its ``data`` (before it is sent)."""
    for event in batch:
        parts: _Parts | None = getattr(event, _PARTS, None)
        if parts is not None:
            delattr(event, _PARTS)
            event.data = parts.joined(event.rollover)  # type: ignore[attr-defined]
    return batch


class _Parts:
    """The streams a merged stream is made of, as far as they can outlive it."""

    def __init__(self, first: Columns) -> None:
        self.columns: deque[Columns] = deque([first])
        self.rows: deque[int] = deque([_rows(first)])
        self.after_first = 0  # rows of all parts but the first

    def add(self, columns: Columns, rollover: int | None) -> bool:
        """Append a stream's columns (False where they do not join these as they are),
        letting go of the first parts while the parts after them have rollover rows."""
        last = self.columns[-1]
        if last.keys() != columns.keys() or not all(_alike(last[k], columns[k]) for k in last):
            return False
        self.columns.append(columns)
        self.rows.append(_rows(columns))
        self.after_first += self.rows[-1]
        while rollover and len(self.columns) > 1 and self.after_first >= rollover:
            self.columns.popleft()
            self.rows.popleft()
            self.after_first -= self.rows[0]
        return True

    def joined(self, rollover: int | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, first in self.columns[0].items():
            parts = [columns[name] for columns in self.columns]
            column: Any = (
                np.concatenate(parts)
                if isinstance(first, np.ndarray)
                else list(chain.from_iterable(parts))
            )
            data[name] = column[-rollover:] if rollover and len(column) > rollover else column
        return data


def _merge_stream(event: ColumnsStreamedEvent, batch: list[DocumentPatchedEvent]) -> bool:
    for index in range(len(batch) - 1, -1, -1):
        earlier = batch[index]
        if getattr(earlier, "model", None) is not event.model:
            continue  # another model's change: the two models' orders are independent
        if not (
            isinstance(earlier, ColumnsStreamedEvent)
            and _same_property(earlier, event)
            and earlier.rollover == event.rollover
        ):
            return False
        parts: _Parts | None = getattr(earlier, _PARTS, None)
        if parts is None:
            parts = _Parts(earlier.data)
            if not parts.add(event.data, event.rollover):
                return False
            batch[index] = copy(earlier)
            setattr(batch[index], _PARTS, parts)
            return True
        return parts.add(event.data, event.rollover)
    return False


def _replaced_by(event: ColumnDataChangedEvent, earlier: DocumentPatchedEvent) -> bool:
    return isinstance(
        earlier, ColumnDataChangedEvent | ColumnsStreamedEvent | ColumnsPatchedEvent
    ) and _same_property(earlier, event)


def _same_property(earlier: Any, event: Any) -> bool:
    """Whether two data events are of one source's property, from one setter."""
    return bool(
        earlier.model is event.model
        and earlier.attr == event.attr
        and earlier.setter is event.setter
    )


def _as_it_is_now(event: ColumnDataChangedEvent) -> ColumnDataChangedEvent:
    """event, with the source's columns as they are now. bokeh's own event names none
    (``source.data = …`` and ``source.data[name] = …``) and is read when it is sent, which
    is at once in a bokeh server; here the frame goes at the end of the loop turn, and a
    stream after it in the same turn was read twice: in these columns and as the stream
    (the page had its rows twice). Lists are copied (bokeh extends them in place when it
    streams); arrays are not (bokeh streams into new ones)."""
    if event.data is not None:
        return event
    current = getattr(event.model, event.attr)
    names = current.keys() if event.cols is None else [n for n in event.cols if n in current]
    frozen = copy(event)
    frozen.data = {
        name: list(current[name]) if isinstance(current[name], list) else current[name]
        for name in names
    }
    return frozen


def _alike(first: Any, second: Any) -> bool:
    """Whether two columns join as they are: 1-d arrays of one dtype, or lists."""
    if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
        return first.ndim == second.ndim == 1 and first.dtype == second.dtype
    return type(first) is list and type(second) is list


def _rows(columns: Columns) -> int:
    return min((len(column) for column in columns.values()), default=0)

"""A browser's PATCH-DOC, decoded with bounds and applied as bokeh's server does: the
other module that touches bokeh's non-public API (``_bokeh`` re-exports what it offers)."""

from __future__ import annotations

import base64
import logging
import zlib
from typing import TYPE_CHECKING, Any

from bokeh.core.has_props import HasProps
from bokeh.core.serialization import DeserializationError, Deserializer, UnknownReferenceError
from bokeh.protocol.exceptions import MessageError, ProtocolError, ValidationError
from bokeh.util.logconfig import TRACE

if TYPE_CHECKING:
    from bokeh.document import Document
    from bokeh.protocol.message import Message

__all__ = (
    "ARRAY_DTYPES",
    "INFLATE_RATIO",
    "BadMessage",
    "MalformedPatch",
    "apply_patch",
    "inflate",
)

#: bokeh's logger of property changes (its TRACE line formats each new value)
_PROPS_LOG = logging.getLogger("bokeh.core.has_props")

#: What a malformed browser message raises, whatever part of it was wrong.
BadMessage = (
    MessageError,
    ProtocolError,
    ValidationError,
    ValueError,
    KeyError,
    TypeError,
    RecursionError,
)

#: Inline (base64) bytes in a browser message may expand, when bokeh decompresses them, to
#: at most this multiple of their length on the wire. (BokehJS itself never compresses:
#: it sends binary buffers, or plain base64 without a websocket.)
INFLATE_RATIO = 4
#: The element types an array from a browser may have (BokehJS's, and bokeh's int64).
ARRAY_DTYPES = frozenset(
    {"bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}
    | {"int64", "uint64", "object"}
)


def inflate(data: str) -> bytes:
    """Inline bytes of a browser message (base64 of gzip, as bokeh decodes them), refused
    once they would expand beyond ``INFLATE_RATIO`` times their length on the wire."""
    limit = INFLATE_RATIO * len(data)
    try:
        raw = base64.b64decode(data, validate=True)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(raw, limit)
    except (ValueError, zlib.error) as e:
        raise DeserializationError(f"inline bytes that are not base64 of gzip: {e}") from None
    if inflater.unconsumed_tail or (not inflater.eof and len(out) >= limit):
        raise DeserializationError(
            f"inline bytes ({len(data)} characters) expand beyond {limit} bytes"
        )
    if not inflater.eof or inflater.unused_data:
        raise DeserializationError("inline bytes that are not one whole gzip stream")
    return out


class _BoundedDeserializer(Deserializer):
    """bokeh's Deserializer, with what a browser's message may make it allocate bounded
    by the message's size: inline bytes inflate at most ``INFLATE_RATIO`` times, arrays
    have element types of at most 8 bytes."""

    def _decode_bytes(self, obj: Any) -> Any:
        data = obj.get("data") if isinstance(obj, dict) else None
        if isinstance(data, str):
            return inflate(data)
        return super()._decode_bytes(obj)

    def _decode_typed_array(self, obj: Any) -> Any:
        self._check_dtype(obj)
        return super()._decode_typed_array(obj)

    def _decode_ndarray(self, obj: Any) -> Any:
        self._check_dtype(obj)
        return super()._decode_ndarray(obj)

    def _check_dtype(self, obj: Any) -> None:
        dtype = obj.get("dtype") if isinstance(obj, dict) else None
        if not isinstance(dtype, str) or dtype not in ARRAY_DTYPES:
            self.error(f"an array of element type {str(dtype)[:40]!r}")


class MalformedPatch(ValueError):
    """A browser's PATCH-DOC that could not be decoded (its text says why)."""


def apply_patch(msg: Message[Any], document: Document, setter: object) -> None:
    """Apply a browser PATCH-DOC as bokeh's server does (curdoc set, echo marked by setter),
    decoding it with the bounds of ``_BoundedDeserializer``. What could not be decoded
    raises ``MalformedPatch``; what the app's callbacks raise propagates as it is."""
    from bokeh.document.callbacks import invoke_with_curdoc
    from bokeh.document.events import DocumentPatchedEvent

    def apply() -> None:  # bokeh's Document.apply_json_patch, with the bounded decoder
        deserializer = _BoundedDeserializer(list(document.models), setter=setter)  # type: ignore[arg-type]
        try:
            patch = deserializer.deserialize(msg.payload)
        except UnknownReferenceError as error:
            if document.models.seen(error.id):  # a model removed meanwhile: as bokeh does
                logging.getLogger(__name__).debug("dropped a patch of a removed model")
                return
            raise MalformedPatch(f"a reference to an unknown model {error.id!r:.80}") from None
        except BadMessage as error:
            raise MalformedPatch(f"{type(error).__name__}: {str(error):.200}") from None
        events = patch.get("events") if isinstance(patch, dict) else None
        if not isinstance(events, list):
            raise MalformedPatch("a PATCH-DOC without a list of events")
        for event in events:
            if not isinstance(event, dict) or event.get("kind") not in _PATCH_EVENTS:
                raise MalformedPatch(f"an event of kind {str(_kind(event)):.40}")
        for event in events:
            if _is_model_changed(event):
                _model_changed(event["model"], event["attr"], event["new"], setter)
            else:
                DocumentPatchedEvent.handle_event(document, event, setter)  # type: ignore[arg-type]
        document.models.flush_synced(lambda model: not deserializer.has_ref(model))

    invoke_with_curdoc(document, apply)


def _is_model_changed(event: dict[str, Any]) -> bool:
    """A ModelChanged event as bokeh makes it, of a model of this document whose class
    keeps bokeh's ``set_from_json`` (a custom model may intercept a page's changes there)."""
    if event["kind"] != "ModelChanged" or event.keys() != {"kind", "model", "attr", "new"}:
        return False
    model = event["model"]
    return isinstance(model, HasProps) and type(model).set_from_json is HasProps.set_from_json


def _model_changed(model: HasProps, attr: Any, new: Any, setter: Any) -> None:
    """What bokeh does for a ModelChanged (``HasProps.set_from_json``) but its TRACE line,
    which formats the new value before the logger drops it: for a column of 10^6 values from
    a page (an ``array.array``) a 10 MB repr, 240 ms of the kernel's time."""
    if attr not in model.properties(_with_props=True) or _PROPS_LOG.isEnabledFor(TRACE):
        model.set_from_json(attr, new, setter=setter)  # bokeh's warning, or its TRACE line
    else:
        model.lookup(attr).set_from_json(model, new, setter=setter)


#: The types bokeh's walk for model references skips (``bool`` and ``None`` by falling
#: through its checks); a list of nothing else holds no model.
_PLAIN = frozenset({int, float, str, bool, type(None)})


def _walk_faster() -> None:
    """bokeh walks a property's old and new value, element by element, for models it may
    reference, whenever a property changes (``Model.trigger``): 3.4 s for a selection of
    10^6 indices from a page; a list that size set in a cell is walked the same way. A
    list whose elements are all of the plain types that walk skips is now passed over in
    one C-level pass over their types; everything else is walked by bokeh's own function,
    as before."""
    import bokeh.model.model as model_module
    import bokeh.model.util as util_module

    walk = util_module.visit_value_and_its_immediate_references
    if getattr(walk, "bokeh_nb", False):
        return

    def visit(obj: Any, visitor: Any) -> None:
        if type(obj) is list and len(obj) > 16 and _PLAIN.issuperset(map(type, obj)):
            return  # bokeh's walk would visit nothing in it
        walk(obj, visitor)

    visit.bokeh_nb = True  # type: ignore[attr-defined]
    for module in (util_module, model_module):  # its own recursion, and Model.trigger's
        setattr(module, "visit_value_and_its_immediate_references", visit)  # noqa: B010


_walk_faster()

_PATCH_EVENTS = frozenset(
    {
        "ModelChanged",
        "MessageSent",
        "ColumnDataChanged",
        "ColumnsStreamed",
        "ColumnsPatched",
        "TitleChanged",
        "RootAdded",
        "RootRemoved",
    }
)


def _kind(event: Any) -> Any:
    return event.get("kind") if isinstance(event, dict) else type(event).__name__

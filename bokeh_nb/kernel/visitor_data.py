"""What a share-link visitor's page may do to a data source: edit its data columns through
an editable DataTable or an edit tool, nothing more.

A table's edit changes cells (``ColumnsPatched``: existing rows, values of the column's
type); an edit tool (point, box, poly draw...) may also add or remove rows, sending the
whole data (``ColumnDataChanged``). Either way only the source's existing data columns,
never another property (its name, tags, callbacks...), and every column one length.
Binary arrays come as buffers of exactly their announced size, never as inline bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from bokeh.document import Document
from bokeh.models.renderers import GlyphRenderer
from bokeh.models.selections import Selection
from bokeh.models.sources import ColumnarDataSource, ColumnDataSource
from bokeh.models.tools import EditTool
from bokeh.models.widgets.tables import CheckboxEditor, DataTable, IntEditor, NumberEditor

from .visitor_json import finite, is_ref, map_entries, prop
from .visitor_text import excerpt
from .visitor_values import LIST_LIMIT, TEXT_LIMIT, indices_refusal

__all__ = (
    "data_refusal",
    "patch_refusal",
    "selected_rows_refusal",
    "selection_refusal",
    "source_length",
)

Editing = Literal["table", "tool"]

#: rows an edit tool may add in one change
EDIT_GROWTH = 10_000
#: cells one ColumnsPatched may change
PATCH_LIMIT = 100_000
#: byte size of each array element type a browser sends
ITEMSIZE = {
    "bool": 1,
    "uint8": 1,
    "int8": 1,
    "uint16": 2,
    "int16": 2,
    "uint32": 4,
    "int32": 4,
    "float32": 4,
    "float64": 8,
}
_NON_FINITE = ("nan", "inf", "-inf", "+inf")


def source_length(source: ColumnarDataSource) -> int:
    data = prop(source, "data") or {}
    return max((len(v) for v in data.values()), default=0)


def selection_length(selection: Any) -> int:
    """Rows of the source whose selection this is (0 if it is no source's)."""
    doc = selection.document
    for model in doc.models if doc is not None else ():
        if isinstance(model, ColumnarDataSource) and model.selected is selection:
            return source_length(model)
    return 0


SELECTION = ("indices", "line_indices", "multiline_indices", "image_indices")


def selection_refusal(model: Any, attr: Any, raw: Any) -> str | None:
    """Why a page could not select raw (indices of rows) in model, a source's Selection."""
    if attr not in SELECTION:
        return f"setting Selection.{excerpt(attr, 40)} is not allowed"
    count = selection_length(model)
    if attr in ("indices", "line_indices"):
        return indices_refusal(raw, count)
    entries = map_entries(raw) if attr == "multiline_indices" else None
    if entries is not None:
        keys = [k for k, _ in entries]
        if all(isinstance(k, str) and k.isdigit() and int(k) < count for k in keys):
            reasons = [indices_refusal(v, LIST_LIMIT) for _, v in entries]
            return next((r for r in reasons if r is not None), None)
    if attr == "image_indices" and isinstance(raw, list) and len(raw) <= count:
        fields = ("index", "i", "j", "flat_index")
        for item in raw:
            pairs = map_entries(item)
            if pairs is None or any(k not in fields or finite(v) is None for k, v in pairs):
                return "not image indices"
        return None
    return f"Selection.{attr}: not a selection of this source's rows"


def editing(document: Document, source: ColumnDataSource) -> Editing | None:
    """How a page edits source: with an edit tool (rows may come and go), an editable
    DataTable (cells only), or not at all."""
    found: Editing | None = None
    for model in document.models:
        if isinstance(model, EditTool):
            renderers = prop(model, "renderers") or []
            if any(isinstance(r, GlyphRenderer) and r.data_source is source for r in renderers):
                return "tool"
        if isinstance(model, DataTable) and model.editable and model.source is source:
            found = "table"
    return found


def _scalar_kind(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "bool"
    if isinstance(value, str):
        return "string"
    return "number" if hasattr(value, "__float__") else "other"


def column_kind(values: Any) -> str:
    """What a column holds: "number", "string", "bool", or "any" (mixed or empty)."""
    dtype = getattr(values, "dtype", None)
    if dtype is not None and dtype.kind != "O":
        kinds = {"b": "bool", "U": "string", "S": "string"}
        return kinds.get(dtype.kind, "number" if dtype.kind in "iuf" else "any")
    found = {_scalar_kind(v) for v in list(values[:1000])} - {"null"}
    return found.pop() if len(found) == 1 else "any"


def editor_kinds(document: Document, source: ColumnDataSource, name: str) -> set[str]:
    """What the editable tables' cell editors of column name send: numbers from number
    editors, true/false from checkboxes, text from the others."""
    kinds: set[str] = set()
    for model in document.models:
        if isinstance(model, DataTable) and model.editable and model.source is source:
            for column in model.columns:
                if column.field == name:
                    editor = column.editor
                    if isinstance(editor, IntEditor | NumberEditor):
                        kinds.add("number")
                    else:
                        kinds.add("bool" if isinstance(editor, CheckboxEditor) else "string")
    return kinds


def _raw_kind(raw: Any) -> str | None:
    """What a value of a column sent by a page is (None: not a cell value at all)."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "bool"
    if finite(raw) is not None:
        return "number"
    if isinstance(raw, str):
        return "string" if len(raw) <= TEXT_LIMIT else None
    if isinstance(raw, dict) and raw.get("type") == "number" and raw.get("value") in _NON_FINITE:
        return "number" if set(raw) == {"type", "value"} else None
    return None


def _fits(kind: str, column: str) -> bool:
    return kind in ("null", "any") or kind == column or (column == "any" and kind != "mixed")


def _raw_column(raw: Any, buffers: Mapping[str, int]) -> tuple[int, str] | str:
    """(length, kind) of a column a page sent, or why it is not one."""
    if isinstance(raw, list):
        found = {_raw_kind(v) for v in raw}
        kinds = {k for k in found if k is not None and k != "null"}
        if None in found:
            return "a column with a value that is no cell value"
        return len(raw), (kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "any")
    if not isinstance(raw, dict) or raw.get("type") != "ndarray":
        return "a column that is not an array"
    dtype, shape, array = raw.get("dtype"), raw.get("shape"), raw.get("array")
    if set(raw) - {"type", "array", "order", "dtype", "shape"} or raw.get("order") not in (
        "little",
        "big",
    ):
        return "an array with unknown fields"
    if dtype not in ITEMSIZE or not isinstance(shape, list) or len(shape) != 1:
        return "an array of another type or shape than a column's"
    length = shape[0]
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        return "an array of no length"
    kind = "bool" if dtype == "bool" else "number"
    if isinstance(array, list):
        ok = len(array) == length and all(_raw_kind(v) in ("number", "bool") for v in array)
        return (length, kind) if ok else "an array whose values do not match its type"
    data = array.get("data") if isinstance(array, dict) and array.get("type") == "bytes" else None
    if not is_ref(data):
        return "an array that is not a binary buffer"
    if buffers.get(data["id"]) != length * ITEMSIZE[dtype]:
        return "an array whose buffer is not its announced size"
    return length, kind


def _editable(document: Document, source: Any, attr: Any) -> tuple[ColumnDataSource, Editing] | str:
    if not isinstance(source, ColumnDataSource):
        return "a data change to something that is no data source"
    how = editing(document, source)
    if how is None:
        return "a data change on a source that no editable table or edit tool shows"
    if attr != "data":
        return f"changing a source's {excerpt(attr, 40)}"
    return source, how


def data_refusal(
    document: Document, source: Any, attr: Any, raw: Any, cols: Any, buffers: Mapping[str, int]
) -> str | None:
    """Why a page could not replace source's data with raw (ColumnDataChanged, or a
    ModelChanged of ``data``), or None."""
    found = _editable(document, source, attr)
    if isinstance(found, str):
        return found
    model, how = found
    entries = map_entries(raw)
    if entries is None:
        return "data that is not a map of columns"
    names = [name for name, _ in entries]
    if sorted(map(str, names)) != sorted(model.data) or len(set(names)) != len(names):
        return "data with other columns than the source's"
    if cols is not None and (not isinstance(cols, list) or sorted(map(str, cols)) != sorted(names)):
        return "data whose cols are not its columns"
    lengths: set[int] = set()
    for name, column in entries:
        parsed = _raw_column(column, buffers)
        if isinstance(parsed, str):
            return f"column {excerpt(name, 40)}: {parsed}"
        length, kind = parsed
        if not _fits(kind, column_kind(model.data[name])):
            return f"column {excerpt(name, 40)}: values of another type than the column's"
        lengths.add(length)
    current = source_length(model)
    if len(lengths) > 1:
        return "columns of different lengths"
    length = lengths.pop() if lengths else current
    if length != current and (how != "tool" or length > current + EDIT_GROWTH):
        return "a change of the number of rows that the page's editors cannot make"
    return None


def selected_rows_refusal(
    changes: list[tuple[Any, Any, Any]], buffers: Mapping[str, int]
) -> str | None:
    """Why a patch, taken whole, would leave a selection on rows its source no longer has
    (an edit tool deleted rows, and the selection was neither cleared nor moved with
    them), or None. changes are (model, attr, new value) of the patch's events that
    passed the checks of their own, in order."""
    lengths: dict[Any, int] = {}  # source -> its rows after the patch
    chosen: dict[tuple[Any, str], Any] = {}  # (selection, attr) -> its indices after it
    for model, attr, new in changes:
        if isinstance(model, ColumnDataSource) and attr == "data":
            columns = [_raw_column(column, buffers) for _, column in map_entries(new) or ()]
            lengths[model] = next((c[0] for c in columns if isinstance(c, tuple)), 0)
        elif isinstance(model, Selection) and attr in ("indices", "line_indices"):
            chosen[(model, attr)] = new
    for source, length in lengths.items():
        selection = source.selected
        for attr in ("indices", "line_indices"):
            indices = chosen.get((selection, attr), getattr(selection, attr, []))
            if any(isinstance(i, int) and i >= length for i in indices):
                return "a change of the number of rows that leaves rows selected past the end"
    return None


def patch_refusal(document: Document, source: Any, attr: Any, raw: Any) -> str | None:
    """Why a page could not patch these cells of source (ColumnsPatched), or None."""
    found = _editable(document, source, attr)
    if isinstance(found, str):
        return found
    model, _how = found
    entries = map_entries(raw)
    if entries is None:
        return "patches that are not a map of columns"
    cells = 0
    for name, patches in entries:
        if not isinstance(name, str) or name not in model.data:
            return f"a patch of column {excerpt(name, 40)}, which the source does not have"
        if not isinstance(patches, list):
            return "patches of a column that are not a list"
        column = model.data[name]
        kind = column_kind(column)
        editors = editor_kinds(document, model, name)
        cells += len(patches)
        for patch in patches:
            if not (isinstance(patch, list) and len(patch) == 2):
                return "a patch that is not [index, value]"
            index, value = patch
            ok_index = isinstance(index, int) and not isinstance(index, bool)
            if not ok_index or not 0 <= index < len(column):
                return "a patch of a row the source does not have"
            value_kind = _raw_kind(value)
            fits = value_kind is not None and (_fits(value_kind, kind) or value_kind in editors)
            if not fits:
                return f"column {excerpt(name, 40)}: a value of another type than the column's"
        if cells > PATCH_LIMIT:
            return "more cells than a page patches at once"
    return None

"""The code of custom models, built in the kernel and carried by PULL-DOC-REPLY: bokeh's
compiler for ``__implementation__`` TypeScript and JavaScript (JavaScript as written
where there is no node), an extension package's prebuilt bundle, one message naming the
model whose code does not compile, and each build done once (cached by content)."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bokeh.core.has_props import HasProps
from bokeh.document import Document
from bokeh.models import Div

from bokeh_nb import _bokeh, _compiler
from bokeh_nb.kernel import extensions
from bokeh_nb.protocol import EXTENSIONS_ERROR_KEY, EXTENSIONS_KEY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PATHS = [str(FIXTURES / "custom_models"), str(FIXTURES / "extpkg")]
CLICKER_JS = FIXTURES / "extpkg" / "bokeh_nb_clicker" / "dist" / "bokeh_nb_clicker.js"


@dataclass
class Fixtures:
    TsCount: Any
    JsCount: Any
    BrokenDiv: Any
    Clicker: Any


@pytest.fixture(scope="module")
def m() -> Iterator[Fixtures]:
    """The fixture models, imported for these tests only: bokeh's registry of model
    classes is left as it was (other tests list every model bokeh knows)."""
    before = dict(HasProps.model_class_reverse_map)
    sys.path[:0] = PATHS
    try:
        models = importlib.import_module("models")
        clicker = importlib.import_module("bokeh_nb_clicker")
        with pytest.MonkeyPatch.context() as mp:
            # the kernel's caches, empty at the start and shared here (a compile takes seconds)
            mp.setattr(extensions, "_compiled", {})
            mp.setattr(extensions, "_bundles", {})
            mp.setattr(extensions, "_packages", {})
            yield Fixtures(models.TsCount, models.JsCount, models.BrokenDiv, clicker.Clicker)
    finally:
        for path in PATHS:
            sys.path.remove(path)
        for name in ("models", "bokeh_nb_clicker"):
            sys.modules.pop(name, None)
        for name in set(HasProps.model_class_reverse_map) - set(before):
            del HasProps.model_class_reverse_map[name]


def doc_of(*roots: object) -> Document:
    doc = Document()
    for root in roots:
        doc.add_root(root)  # type: ignore[arg-type]
    return doc


def parts(doc: Document) -> list[dict[str, str]]:
    content = extensions.pull_content(doc)
    assert EXTENSIONS_ERROR_KEY not in content
    return content[EXTENSIONS_KEY]  # type: ignore[return-value]


def test_bokehs_own_models_need_nothing(m: Fixtures) -> None:
    assert extensions.pull_content(doc_of(Div(text="plain"))) == {}


def test_typescript_is_compiled_once_and_registers_under_its_own_modules(
    m: Fixtures, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of(m.TsCount(text="a"))
    [part] = parts(doc)
    assert part["name"] == "custom models"
    code = part["code"]
    assert '"TsCount": require("custom/' in code
    # no module named as another bundle's would be (custom/main of every bokeh bundle)
    assert '"custom/main"' not in code and "register_models(models, true)" in code
    assert part["sha256"] == extensions.hashlib.sha256(code.encode()).hexdigest()

    monkeypatch.setattr(_compiler, "compile_with_node", None)  # built: never called again
    monkeypatch.setattr(_compiler, "bundle_custom_models", None)
    started = time.monotonic()
    assert parts(doc_of(m.TsCount(text="b"))) == [part]  # another document, same code
    assert time.monotonic() - started < 0.5


def test_a_models_new_code_is_built_again(m: Fixtures, monkeypatch: pytest.MonkeyPatch) -> None:
    [before] = parts(doc_of(m.TsCount()))
    monkeypatch.setattr(
        m.TsCount,
        "__implementation__",
        type(m.TsCount.__implementation__)(
            m.TsCount.__implementation__.code.replace("ts ${", "TS ${")
        ),
    )
    [after] = parts(doc_of(m.TsCount()))
    assert after["sha256"] != before["sha256"] and "TS ${" in after["code"]


def test_javascript_needs_no_node(m: Fixtures, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_node(_impl: object) -> object:
        raise AssertionError("node was used")

    monkeypatch.setattr(extensions, "_compiled", {})
    monkeypatch.setattr(extensions, "_bundles", {})
    monkeypatch.setattr(_compiler, "node_missing", lambda: "node.js v18 or higher is needed")
    monkeypatch.setattr(_compiler, "compile_with_node", no_node)
    [part] = parts(doc_of(m.JsCount(text="b")))
    assert "class JsCount extends Div" in part["code"]
    assert '"JsCount": require("custom/' in part["code"]
    # TypeScript does need node: the message says so, naming the model
    error = extensions.pull_content(doc_of(m.TsCount()))[EXTENSIONS_ERROR_KEY]
    assert (
        error
        == "the custom model models.TsCount could not be built: node.js v18 or higher is needed"
    )


def test_an_extension_package_brings_its_prebuilt_bundle(
    m: Fixtures, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compiler, "compile_with_node", None)  # never called
    [part] = parts(doc_of(m.Clicker(text="c")))
    assert part["name"] == "bokeh_nb_clicker"
    assert part["code"] == CLICKER_JS.read_text("utf-8")


def test_package_and_custom_models_together_in_load_order(m: Fixtures) -> None:
    names = [p["name"] for p in parts(doc_of(m.Clicker(), m.TsCount(), m.JsCount()))]
    assert names == ["bokeh_nb_clicker", "custom models"]


def test_code_that_does_not_compile_names_the_model_and_the_error(m: Fixtures) -> None:
    content = extensions.pull_content(doc_of(m.BrokenDiv(text="x"), Div()))
    assert list(content) == [EXTENSIONS_ERROR_KEY]
    error = content[EXTENSIONS_ERROR_KEY]
    assert isinstance(error, str)
    assert error.startswith("the custom model models.BrokenDiv could not be built: ")
    assert "TS2322: Type 'string' is not assignable to type 'number'" in error
    assert "\x1b[" not in error  # the compiler's colours are gone


def test_pull_doc_reply_carries_the_code_beside_the_document(m: Fixtures) -> None:
    doc = doc_of(m.TsCount(text="a"))
    msg = _bokeh.pull_reply("r1", doc, extensions.pull_content(doc))
    content = json.loads(_bokeh.content_json(msg))
    assert [r["type"] for r in content["doc"]["roots"]] == ["object"]
    assert content["doc"]["roots"][0]["name"] == "TsCount"
    assert content[EXTENSIONS_KEY][0]["name"] == "custom models"

"""The code of a document's custom models, built in the kernel for the pages that show it.

A model with an ``__implementation__`` (TypeScript, JavaScript or Less) is compiled with
bokeh's own compiler, which runs node offline, as ``bokeh serve`` does; a JavaScript
implementation is used as written where there is no node. A model from an extension
package (``bokeh.ext.json`` next to the package, a prebuilt bundle in ``dist/``) brings
that bundle; nothing needs node. Each distinct implementation is compiled once per kernel
and each distinct set of them bundled once (both cached by content), so showing a
document again costs only a look at its models.

Every PULL-DOC-REPLY of such a document carries its code (``pull_content``): the page,
notebook output or full page, runs it with BokehJS before it builds the document
(``labextension/src/extensions.ts``). Code that cannot be built is a message naming the
model and the compiler's error, which the page shows instead of the document.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from bokeh.document import Document

from .. import _compiler
from ..protocol import EXTENSIONS_ERROR_KEY, EXTENSIONS_KEY

log = logging.getLogger(__name__)

__all__ = ("Extension", "Extensions", "for_document", "pull_content")


class ExtensionPart(TypedDict):
    """One bundle as a PULL-DOC-REPLY carries it (``docs/protocol.md``)."""

    name: str
    sha256: str
    code: str


@dataclass(frozen=True)
class Extension:
    """One bundle of custom model code: an extension package's, or the document's
    ``__implementation__`` models'."""

    name: str
    code: str
    sha256: str


@dataclass(frozen=True)
class Extensions:
    """What a document needs besides BokehJS, or why it cannot have it."""

    bundles: tuple[Extension, ...] = ()
    error: str | None = None


class BuildError(Exception):
    """A custom model's code did not compile: the model and the compiler's words."""

    def __init__(self, model: str, text: str) -> None:
        super().__init__(f"the custom model {model} could not be built: {text.strip()}")


#: Compiled implementations by the hash of (language, code, file).
_compiled: dict[str, _compiler.Compiled] = {}
#: Bundles of custom models by the hash of their names and implementations.
_bundles: dict[str, Extension] = {}
#: Extension packages' bundles by path and modification time.
_packages: dict[tuple[str, int], Extension] = {}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _compile(model: str, impl: _compiler.Implementation) -> _compiler.Compiled:
    key = _digest(impl.lang, impl.code, impl.file)
    compiled = _compiled.get(key)
    if compiled is not None:
        return compiled
    missing = _compiler.node_missing()
    if missing is not None:
        if impl.lang != "javascript":
            raise BuildError(model, missing)
        compiled = _compiler.javascript_as_is(impl)
    else:
        compiled = _compiler.compile_with_node(impl)
        if "error" in compiled:
            raise BuildError(model, _ANSI.sub("", str(_compiler.CompilerError(compiled.error))))
    _compiled[key] = compiled
    return compiled


def _custom_models(classes: list[type]) -> Extension | None:
    """The bundle of the ``__implementation__`` models among classes (and their custom
    bases); it raises ``BuildError`` (or what bokeh's bundler raised) when one fails."""
    custom = _compiler.custom_model_classes(classes)
    if not custom:
        return None
    specs = [_compiler.implementation_of(cls) for cls in custom]
    key = _digest([(name, impl.lang, impl.code, impl.file, deps) for name, impl, deps in specs])
    built = _bundles.get(key)
    if built is None:
        code = _compiler.bundle_custom_models(custom, _compile)
        digest = hashlib.sha256(code.encode()).hexdigest()
        built = Extension(name="custom models", code=code, sha256=digest)
        _bundles[key] = built
    return built


def _package(name: str, path: str) -> Extension:
    file = Path(path)
    key = (path, file.stat().st_mtime_ns)
    ext = _packages.get(key)
    if ext is None:
        code = file.read_text("utf-8")
        ext = Extension(name=name, code=code, sha256=hashlib.sha256(code.encode()).hexdigest())
        _packages[key] = ext
    return ext


def for_document(document: Document) -> Extensions:
    """The custom model code ``document`` needs now (its models' classes), built or
    cached; an error text naming the model that failed instead."""
    classes = sorted({type(m) for m in document.models}, key=lambda c: c.__qualname__)
    if not any(_is_custom(c) for c in classes):
        return Extensions()
    bundles: list[Extension] = []
    try:
        for name, path in _compiler.extension_bundles(classes):
            bundles.append(_package(name, str(path)))
        custom = _custom_models(classes)
    except BuildError as e:
        log.warning("bokeh_nb: %s", e)
        return Extensions(error=str(e))
    except Exception as e:  # what bokeh's bundler raised (a missing module, an npm failure)
        names = ", ".join(c.__name__ for c in _compiler.custom_model_classes(classes))
        text = f"the custom models {names or '?'} could not be built: {type(e).__name__}: {e}"
        log.warning("bokeh_nb: %s", text)
        return Extensions(error=text)
    if custom is not None:
        bundles.append(custom)
    return Extensions(bundles=tuple(bundles))


def _is_custom(cls: type) -> bool:
    module = str(getattr(cls, "__view_module__", "bokeh"))
    return hasattr(cls, "__implementation__") or module.split(".")[0] != "bokeh"


def pull_content(document: Document) -> dict[str, object]:
    """What a PULL-DOC-REPLY of ``document`` carries besides the document: its custom
    model code (``EXTENSIONS_KEY``), or why it could not be built
    (``EXTENSIONS_ERROR_KEY``); nothing for a document of bokeh's own models."""
    found = for_document(document)
    if found.error is not None:
        return {EXTENSIONS_ERROR_KEY: found.error}
    if not found.bundles:
        return {}
    parts = [ExtensionPart(name=b.name, sha256=b.sha256, code=b.code) for b in found.bundles]
    return {EXTENSIONS_KEY: parts}

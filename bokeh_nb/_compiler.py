"""The one module that touches bokeh's builder of custom model code (checked against
bokeh 3.9 and 3.10): ``bokeh.util.compiler`` (``__implementation__`` TypeScript, JavaScript
and Less, compiled with node by bokeh's own compiler) and ``bokeh.embed.bundle`` (the
prebuilt bundle of an extension package: a package with ``bokeh.ext.json`` and its
``dist/`` bundle or ``package.json`` main). What ``bokeh serve`` puts in its pages, built
here per document for ``kernel/extensions.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bokeh.core.has_props import HasProps
from bokeh.embed import bundle as _bundle
from bokeh.resources import Resources
from bokeh.util import compiler as _compiler

__all__ = (
    "Compiled",
    "CompilerError",
    "Implementation",
    "bundle_custom_models",
    "compile_with_node",
    "custom_model_classes",
    "extension_bundles",
    "implementation_of",
    "javascript_as_is",
    "node_missing",
)

Implementation = _compiler.Implementation
Compiled = _compiler.AttrDict
#: What bokeh's compiler raises for code that does not compile.
CompilerError = _compiler.CompilationError

#: A compiler of one model's implementation: (model's full name, implementation) -> the
#: compiled module (``code`` and ``deps``); it raises when the code does not compile.
Compile = Callable[[str, Implementation], Compiled]


def custom_model_classes(classes: Iterable[type[HasProps]]) -> list[type[HasProps]]:
    """The classes among ``classes`` and their bases that carry their own
    ``__implementation__`` (a subclass's code imports its custom base's module)."""
    found: dict[str, type[HasProps]] = {}
    for cls in classes:
        for base in cls.__mro__:
            if isinstance(base, type) and "__implementation__" in vars(base):
                found.setdefault(f"{base.__module__}.{base.__qualname__}", base)
    return [found[k] for k in sorted(found)]


def implementation_of(cls: type[HasProps]) -> tuple[str, Implementation, dict[str, str]]:
    """A custom model's full name (as bokeh names its module), its implementation and its
    npm dependencies."""
    model = _compiler.CustomModel(cls)
    return model.full_name, model.implementation, model.dependencies


@contextmanager
def _hook(compile: Compile) -> Iterator[None]:
    previous = _compiler.get_cache_hook()
    _compiler.set_cache_hook(lambda model, impl: compile(model.full_name, impl))
    try:
        yield
    finally:
        _compiler.set_cache_hook(previous)


def bundle_custom_models(classes: list[type[HasProps]], compile: Compile) -> str:
    """The bundle that registers ``classes`` with BokehJS, as ``bokeh serve`` builds it
    (bokeh's ``_bundle_models``), each model compiled by ``compile``. Unlike bokeh's
    ``bundle_models`` it neither caches by model name nor exits the process on an error:
    it raises."""
    models = _compiler._get_custom_models(classes)
    if models is None:
        return ""
    with _hook(compile):
        code = _compiler._bundle_models(models)
    return _own_modules(code, ["custom/main", *(m.module for m in models.values())])


#: How bokeh's bundle registers its models (``_plugin_template``).
_REGISTER = 'require("base").register_models(models);'


def _own_modules(code: str, modules: list[str]) -> str:
    """A bundle whose module names are its own: BokehJS keeps every module it ran by name,
    and every bundle of bokeh's names its entry ``custom/main`` and a model's module by the
    model's name, so a second bundle on a page (another output's models, or a model's new
    code) would get the first one's modules. Its models replace those registered before
    under their names (the newest code of a model wins)."""
    tag = hashlib.sha256(code.encode()).hexdigest()[:16]
    for module in modules:
        own = f"custom/{tag}/{module.removeprefix('custom/')}"
        for quote in "\"'":
            code = code.replace(f"{quote}{module}{quote}", f"{quote}{own}{quote}")
    return code.replace(_REGISTER, 'require("base").register_models(models, true);')


def compile_with_node(impl: Implementation) -> Compiled:
    """One implementation compiled by bokeh's compiler (node); ``error`` on failure."""
    return _compiler.nodejs_compile(impl.code, lang=impl.lang, file=impl.file)


def node_missing() -> str | None:
    """Why bokeh cannot compile with node here, or None when it can."""
    try:
        _compiler._nodejs_path()
    except RuntimeError as e:
        return str(e)
    return None


#: ``require("...")`` calls of a CommonJS module.
_REQUIRE = re.compile(r"""\brequire\(\s*["']([^"']+)["']\s*\)""")


def javascript_as_is(impl: Implementation) -> Compiled:
    """A JavaScript implementation used as written (a CommonJS module), where no node can
    compile it: its dependencies are the modules it requires."""
    return Compiled(code=impl.code, deps=sorted(set(_REQUIRE.findall(impl.code))))


def extension_bundles(classes: Iterable[type[HasProps]]) -> list[tuple[str, Path]]:
    """The prebuilt bundles of the extension packages ``classes`` come from, as (package,
    path), found as bokeh finds them (``bokeh.ext.json`` next to the package). Only
    packages already imported are looked at (nothing is imported here)."""
    found: dict[str, Path] = {}
    for cls in classes:
        if hasattr(cls, "__implementation__"):
            continue
        name = str(getattr(cls, "__view_module__", "bokeh")).split(".")[0]
        if name in found or name in ("bokeh", "__main__"):
            continue
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not (Path(file).parent / "bokeh.ext.json").exists():
            continue
        # (bokeh reads only the classes of what it is given)
        embeds = _bundle._bundle_extensions({cls}, Resources(mode="inline"))  # type: ignore[arg-type]
        if embeds:
            found[name] = Path(os.fspath(embeds[0].artifact_path))
    return sorted(found.items())

"""The structure a newcomer can rely on, checked on the source: no import cycle, no
import hidden in a function, third-party internals only in the fenced modules, frames
built only by the codec, and the frontend type-checked strictly."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "bokeh_nb"

#: The modules allowed to touch third-party internals, each for its own packages.
FENCED = {
    "bokeh_nb._bokeh": ("bokeh",),
    "bokeh_nb._compiler": ("bokeh",),
    "bokeh_nb.kernel._ipykernel": ("ipykernel", "comm", "IPython", "ipywidgets"),
    "bokeh_nb.server._jupyter": ("jupyter_server", "tornado", "jupyter_client"),
}
THIRD_PARTY = (
    "bokeh",
    "ipykernel",
    "comm",
    "IPython",
    "ipywidgets",
    "jupyter_server",
    "jupyter_client",
    "tornado",
)
#: Attributes of third-party objects that are theirs to change at any release.
PRIVATE_ATTRIBUTES = {"_compressor", "_connection_done", "shell_handlers", "cleanup_kernels"}
#: Calls that wire comms into the kernel: one place, so tests can see and fake them.
COMM_CALLS = {"create_comm", "register_target", "get_comm_manager"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``"""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return hidden


def imports(name: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str, bool]]:
    """(node, imported module, inside a function) for every import that runs."""
    tree = ast.parse(MODULES[name].read_text())
    hidden = type_checking_only(tree)
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    package = name if is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        local = id(node) in in_function
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, local
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node, sub if sub in MODULES else base, local


def graph() -> dict[str, set[str]]:
    return {
        name: {target for _, target, _ in imports(name) if target in MODULES and target != name}
        for name in MODULES
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    # every import that runs counts, also those inside functions (only ``if
    # TYPE_CHECKING:`` imports, which never run, are left out)
    assert cycles(graph()) == []


def test_no_module_of_ours_is_imported_inside_a_function() -> None:
    # a function-level import of our own module hides a cycle; only the package's
    # entry point loads the kernel side lazily (``import bokeh_nb`` stays light)
    hidden = [
        (name, target)
        for name in MODULES
        if name != "bokeh_nb"
        for _, target, local in imports(name)
        if local and target.startswith("bokeh_nb")
    ]
    assert hidden == []


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(name: str) -> list[str]:
    found = []
    for node, target, _ in imports(name):
        top = target.split(".")[0]
        if top not in THIRD_PARTY:
            continue
        if any(private(part) for part in target.split(".")[1:]):
            found.append(target)
        if isinstance(node, ast.ImportFrom):
            found += [f"{target}.{a.name}" for a in node.names if private(a.name)]
    tree = ast.parse(MODULES[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            found.append(f".{node.attr}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "stream"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "ws_connection"
        ):
            found.append(".ws_connection.stream")
    return found


def test_only_the_fenced_modules_touch_third_party_internals() -> None:
    outside = {name: uses for name in MODULES if name not in FENCED if (uses := private_uses(name))}
    assert outside == {}


def test_each_fenced_module_touches_only_its_own_packages() -> None:
    for name, packages in FENCED.items():
        if name not in MODULES:
            continue
        strays = [
            u
            for u in private_uses(name)
            if u.startswith(THIRD_PARTY) and not u.startswith(packages)
        ]
        assert strays == [], name


def test_comms_are_wired_in_one_place() -> None:
    users = sorted(
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Name | ast.Attribute | ast.alias)
        and (
            getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", None)
        )
        in COMM_CALLS
    )
    assert set(users) <= {"bokeh_nb.kernel._ipykernel"}


def test_only_the_codec_builds_frames() -> None:
    builders = sorted(
        name
        for name, path in MODULES.items()
        if name != "bokeh_nb.wire"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Dict)
        and any(isinstance(k, ast.Constant) and k.value == "kind" for k in node.keys)
    )
    assert builders == []


def test_the_frontend_type_checks_strictly() -> None:
    ext = ROOT / "labextension"
    config = json.loads(
        "\n".join(
            line
            for line in (ext / "tsconfig.json").read_text().splitlines()
            if not line.strip().startswith("//")
        )
    )
    assert config["compilerOptions"].get("strict") is True
    tsc = ext / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail("labextension/node_modules is missing: ./dev.sh test installs it")
    node = shutil.which("node")
    assert node is not None
    out = subprocess.run(
        [str(tsc), "--noEmit", "-p", "tsconfig.json"], cwd=ext, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr

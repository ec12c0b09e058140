"""The layer rules of STYLE.md, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "bokeh_nb"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(sub: str = "") -> list[Path]:
    return sorted((PKG / sub).rglob("*.py"))


def test_kernel_never_imports_jupyter_server() -> None:
    bad = [
        p
        for p in files("kernel")
        if any(m.startswith("jupyter_server") for m in imported_modules(p))
    ]
    assert bad == []


def test_server_never_imports_ipykernel() -> None:
    bad = [
        p
        for p in files("server")
        if any(m.startswith(("ipykernel", "ipywidgets")) for m in imported_modules(p))
    ]
    assert bad == []


PRIVATE_BOKEH = (
    "bokeh.server",
    "bokeh.protocol",
    "bokeh.document.callbacks",
    "bokeh.io.doc",
    "bokeh.embed.bundle",
    "bokeh.core.serialization",
)


def test_only_the_bokeh_module_touches_bokeh_internals() -> None:
    bad = [
        (p.name, m)
        for p in files()
        if p.name not in ("_bokeh.py", "_bokeh_patch.py", "_compiler.py")
        for m in imported_modules(p)
        if m.startswith(PRIVATE_BOKEH)
    ]
    assert bad == []


def test_modules_stay_small() -> None:
    big = [(p.name, n) for p in files() if (n := len(p.read_text().splitlines())) > 400]
    assert big == []


def test_import_has_no_side_effects() -> None:
    code = (
        "import sys, bokeh_nb\n"
        "heavy = [m for m in ('ipywidgets', 'jupyter_server', 'bokeh_nb.kernel.widget', 'bokeh.io.notebook') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ruff_and_mypy_strict_are_clean() -> None:
    root = PKG.parent
    for cmd in (
        [sys.executable, "-m", "ruff", "check", "bokeh_nb", "tests"],
        [sys.executable, "-m", "ruff", "format", "--check", "bokeh_nb", "tests"],
        [sys.executable, "-m", "mypy"],
    ):
        out = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        assert out.returncode == 0, f"{' '.join(cmd[2:])}:\n{out.stdout}{out.stderr}"

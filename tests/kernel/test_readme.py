"""The README's Python snippet runs as written (and is the quickstart notebook's first cell)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from .conftest import Kernel

ROOT = Path(__file__).resolve().parents[2]


def readme_python() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [block.split("```")[0] for block in text.split("```python\n")[1:]]


def test_readme_snippet_runs_in_a_kernel(kernel: Kernel) -> None:
    [snippet] = readme_python()
    msgs = kernel.execute(snippet)
    shown = [m for m in msgs if m["msg_type"] == "display_data"]
    assert len(shown) == 1
    assert "application/vnd.jupyter.widget-view+json" in shown[0]["content"]["data"]
    kernel.execute("d.text = 'hello'")
    assert kernel.value("d.text") == "hello"


def test_quickstart_notebook_starts_with_the_readme_snippet() -> None:
    nb = nbformat.read(ROOT / "notebooks" / "01_quickstart.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code[0].strip() == readme_python()[0].strip()

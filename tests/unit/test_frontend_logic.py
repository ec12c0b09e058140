"""The frontend's pure logic, tested in node (`npm test` in labextension/: node's own test
runner over the TypeScript compiled to CommonJS), and the untrusted-snapshot allowlist
checked against every model of the installed bokeh."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bokeh.core.has_props import HasProps, is_abstract

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", "--silent", *args], cwd=LABEXTENSION, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def compiled() -> Path:
    done = npm("run", "build:test")
    assert done.returncode == 0, done.stdout + done.stderr
    return LABEXTENSION / "build" / "test-lib"


def test_typescript_unit_tests_pass(compiled: Path) -> None:
    done = subprocess.run(
        ["node", "--test", "test/"], cwd=LABEXTENSION, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 0" not in done.stdout


def bokeh_models() -> set[str]:
    import bokeh.models  # noqa: F401  (registers every model)
    import bokeh.plotting  # noqa: F401

    return {
        name
        for name, cls in HasProps.model_class_reverse_map.items()
        if not is_abstract(cls) and cls.__module__ != "bokeh.core.property_mixins"
    }


def test_every_bokeh_model_is_allowed_or_withheld_with_a_reason(compiled: Path) -> None:
    script = (
        "const a = require('./build/test-lib/allowlist.js');"
        "console.log(JSON.stringify({allowed: a.allowedModels(), withheld: a.WITHHELD}));"
    )
    done = subprocess.run(
        ["node", "-e", script], cwd=LABEXTENSION, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    lists = json.loads(done.stdout)
    allowed, withheld = set(lists["allowed"]), set(lists["withheld"])
    dom = {name for name in bokeh_models() if name.startswith("bokeh.models.dom.")}
    unclassified = bokeh_models() - allowed - withheld - dom
    assert not unclassified, f"decide for each: shown untrusted or withheld: {unclassified}"
    assert not allowed & withheld
    assert not allowed - bokeh_models(), "names bokeh does not have, or only as a base class"

"""The frontend's pure logic, tested in node (`npm test` in labextension/: node's own test
runner over the TypeScript compiled to CommonJS: the wire codec, the untrusted-snapshot
filter, the app page's problems, the app-path rule, the page's outbox of changes and its
acknowledgements), the untrusted-snapshot allowlist checked against every model of the
installed bokeh, and the app-path rule checked against the Python side's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from bokeh.core.has_props import HasProps, is_abstract

from bokeh_nb import apps

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


def node_json(script: str) -> Any:
    """What a node script prints as JSON, run in labextension/."""
    done = subprocess.run(
        ["node", "-e", f"console.log(JSON.stringify({script}))"], cwd=LABEXTENSION,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_app_suffixes_are_those_of_the_python_side(compiled: Path) -> None:
    suffixes = node_json("require('./build/test-lib/apppaths.js').APP_SUFFIXES")
    assert tuple(suffixes) == apps.APP_SUFFIXES


NAMES = ["a.py", "nb.ipynb", "a.PY", ".py", ".ipynb", "a.py.bak", "x.ipynb~", "a.", "a..py",
         "data.csv", "app", ".hidden.py", "a b.py"]  # fmt: skip


def test_files_the_file_browser_offers_are_the_apps_the_server_runs(
    compiled: Path, tmp_path: Path
) -> None:
    """The file browser offers "Open as Bokeh app" for a file exactly where bokeh_nb runs
    it as an app."""
    offered = node_json(
        f"{json.dumps(NAMES)}.map(n => require('./build/test-lib/apppaths.js').isAppPath(n, false))"
    )
    runs = []
    for name in NAMES:
        (tmp_path / name).write_text("")
        runs.append(apps.app_entry(tmp_path / name) is not None)
    assert dict(zip(NAMES, offered, strict=True)) == dict(zip(NAMES, runs, strict=True))


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

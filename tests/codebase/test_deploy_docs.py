"""docs/deploying.md shows the configs the deployment tests use, byte for byte.

A fenced block right after a line ``<!-- file: deploy/<path> -->`` must equal that file, so
a config copied from the docs is the one ``tests/deploy/`` ran.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "deploying.md"
BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n(?P<body>.*?)```\n", re.S)


def shown_configs() -> dict[str, str]:
    return {m["path"]: m["body"] for m in BLOCK.finditer(DOC.read_text())}


def test_every_config_shown_is_the_file_the_tests_use() -> None:
    shown = shown_configs()
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "deploy").rglob("*") if p.is_file())
    assert files, "deploy/ has no configs"
    assert sorted(shown) == files, "each file in deploy/ is shown once in docs/deploying.md"
    for path, body in shown.items():
        assert (REPO / path).read_text() == body, f"docs/deploying.md shows another {path}"


def test_every_config_is_used_by_a_test() -> None:
    tests = "".join(p.read_text() for p in (REPO / "tests" / "deploy").glob("*.py"))
    for path in shown_configs():
        name = Path(path).name
        assert name in tests, f"no test in tests/deploy/ uses {path}"

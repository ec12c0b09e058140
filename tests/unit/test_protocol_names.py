"""Names on the wire are spelled the same in Python and TypeScript."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bokeh_nb import protocol

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "protocol.json"
TS = ROOT / "labextension" / "src" / "protocol.ts"

NAMES = [
    "PROTOCOL_VERSION",
    "WIDGET_MODULE",
    "WIDGET_MODULE_VERSION",
    "WIDGET_MODEL",
    "WIDGET_VIEW",
    "STATIC_ROUTE",
    "CORE_BUNDLES",
    "OPTIONAL_BUNDLES",
    "MAX_BROWSER_MESSAGE_BYTES",
    "FRONTEND_TARGET",
    "SESSION_TARGET",
    "LIVE_APP_ROUTE",
    "SHARES_API",
    "SHARE_SECONDS",
    "FILES_ROUTE",
    "APPS_TARGET",
    "SHARE_ROUTE",
    "OUTPUT_MIME",
    "SHARE_MIME",
    "CONTAINER_MIME",
    "SNAPSHOT_SCRIPT_TYPE",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_FALLBACK",
    "SNAPSHOT_MAX_BYTES",
    "KIND_BOKEH",
    "KIND_VIEWS",
    "KIND_BYE",
    "KIND_ERROR",
    "KIND_ACK",
    "KIND_STREAM",
    "ACK_EVERY",
    "ACK_AFTER_MS",
    "ACK_GAP_MS",
    "ACK_WINDOW",
    "ACK_WINDOW_BYTES",
    "PAGE_HANDLED",
    "ACKNOWLEDGE_KEY",
    "PACKED_ARG",
    "BROWSER_MSGTYPES",
    "KERNEL_MSGTYPES",
    "KIND_BOKEHJS",
    "SERVER_BOKEH_OPTION",
    "BOKEH_MIN",
    "BOKEH_BELOW",
    "EXTENSIONS_KEY",
    "EXTENSIONS_ERROR_KEY",
]


def ts_constants() -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in re.findall(r"export const (\w+) = (.+?);\n", TS.read_text()):
        out[name] = json.loads(value.replace("'", '"'))
    return out


def python_constants() -> dict[str, object]:
    values = {name: getattr(protocol, name) for name in NAMES}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def test_python_matches_fixture() -> None:
    assert python_constants() == json.loads(FIXTURE.read_text())


def test_typescript_matches_fixture() -> None:
    ts = ts_constants()
    assert {name: ts.get(name) for name in NAMES} == json.loads(FIXTURE.read_text())


def test_one_version_string() -> None:
    package = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert package["name"] == protocol.WIDGET_MODULE
    assert "^" + package["version"] == protocol.WIDGET_MODULE_VERSION
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'source = "nodejs"' in pyproject, "the Python version comes from package.json"

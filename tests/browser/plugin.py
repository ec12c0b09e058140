"""Fixtures for browser tests: real Jupyter servers + headless Chromium (Playwright).

A pytest plugin (``-p tests.browser.plugin`` in pyproject's addopts), so that the
browser tests in ``tests/browser/``, ``tests/reliability/``, ``tests/security/`` and
``tests/deploy/`` share one Chromium and one JupyterLab / Notebook 7 server per run.

Fixtures
--------
lab_server (session)         running ``jupyter lab``; a :class:`JupyterServer`
notebook_server (session)    running ``jupyter notebook`` (Notebook 7)
jupyter_frontend (function)  parametrized ["lab", "notebook"]: one of the two above
browser (session)            Playwright Chromium (/usr/bin/chromium, headless)
context (function)           fresh BrowserContext, instrumented (see ``page_log``)
page (function)              a Page in ``context``
page_log (function)          :class:`PageLog` with console messages, page errors,
                             request / websocket URLs of ``context``
nb_name (function)           a unique notebook file name for the test

Every test that uses one of these fixtures (and every test in ``tests/browser/``)
gets the ``browser`` marker and a 180 s timeout
(override with ``@pytest.mark.timeout(...)``). On failure the tail of the
server log(s) the test used, the page log and the path of a screenshot
(``<tmp_path>/failure.png``) are attached to the report. Kernels are shut down
after each test that used a browser context.

Environment knobs: ``BROWSER_TEST_CHROMIUM`` (default /usr/bin/chromium; the
tests fail if it is missing), ``JUPYTER_HARNESS_TIMEOUT_SCALE`` (multiply
all harness waits, e.g. 2).

Helpers for the tests themselves live in :mod:`.jupyter` (import them with
``from .jupyter import open_notebook, run_all_cells, ...``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.jupyter import (
    TIMEOUT_SCALE,
    JupyterServer,
    PageLog,
    instrument_context,
    shutdown_all_kernels,
    start_jupyter_server,
    stop_jupyter_server,
)

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

HERE = Path(__file__).parent.resolve()
BROWSER_TEST_TIMEOUT = 180
CHROMIUM = os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

_SERVERS: dict[str, JupyterServer] = {}
_PAGE_LOG_KEY = pytest.StashKey[PageLog]()
_PAGE_KEY = pytest.StashKey[tuple]()  # (page, screenshot path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives a real Jupyter server with headless Chromium (slow)"
    )
    with contextlib.suppress(ImportError):
        from playwright.sync_api import expect

        # expect(...) defaults to 5 s, too short for a loaded 2-core machine.
        expect.set_options(timeout=30_000 * TIMEOUT_SCALE)


#: Using any of these makes a test a browser test.
BROWSER_FIXTURES = frozenset(
    {"lab_server", "notebook_server", "jupyter_frontend", "browser", "context", "page"}
)


def is_browser_test(item: pytest.Item) -> bool:
    """A test in ``tests/browser/`` or one that uses a browser fixture."""
    in_dir = HERE in Path(str(item.path)).resolve().parents
    return in_dir or not BROWSER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not is_browser_test(item):
            continue
        item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BROWSER_TEST_TIMEOUT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    callspec = getattr(item, "callspec", None)
    frontend = callspec.params.get("jupyter_frontend") if callspec else None
    for kind, server in _SERVERS.items():
        if f"{kind}_server" in item.fixturenames or frontend == kind:
            report.sections.append(
                (
                    f"jupyter {kind} server log (tail of {server.log_path})",
                    server.log_tail(150),
                )
            )
    page_and_path = item.stash.get(_PAGE_KEY, None)
    if page_and_path is not None and report.when == "call":
        page, path = page_and_path
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path), timeout=10_000)
            report.sections.append(("browser screenshot", str(path)))
    log = item.stash.get(_PAGE_LOG_KEY, None)
    if log is not None:
        report.sections.append(("browser page log", log.summary()))


# ---------------------------------------------------------------- servers


def _server(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_jupyter_server(kind, tmp_path_factory.mktemp(f"jupyter-{kind}"))  # type: ignore[arg-type]
    _SERVERS[kind] = server
    try:
        yield server
    finally:
        _SERVERS.pop(kind, None)
        stop_jupyter_server(server)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A running ``jupyter lab`` (base_url, token, root_dir, origin, log_path, api())."""
    yield from _server("lab", tmp_path_factory)


@pytest.fixture(scope="session")
def notebook_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[JupyterServer]:
    """A running ``jupyter notebook`` (Notebook 7)."""
    yield from _server("notebook", tmp_path_factory)


@pytest.fixture(params=["lab", "notebook"])
def jupyter_frontend(request: pytest.FixtureRequest) -> JupyterServer:
    """Parametrized over JupyterLab and Notebook 7; the server's ``kind`` tells which."""
    return request.getfixturevalue(f"{request.param}_server")


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def _playwright() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(_playwright):
    """Headless Debian Chromium driven by Playwright (never downloads a browser)."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} not found: ./dev.sh test installs it (apt-get install chromium)")
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=120_000
    )
    try:
        yield browser
    finally:
        with contextlib.suppress(Exception):
            browser.close()


@pytest.fixture
def page_log(request: pytest.FixtureRequest) -> PageLog:
    """Console messages, page errors, request and websocket URLs of this test's pages."""
    log = PageLog()
    request.node.stash[_PAGE_LOG_KEY] = log
    return log


@pytest.fixture
def context(browser, page_log: PageLog):
    """A fresh, instrumented browser context (closed after the test)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    ctx.set_default_timeout(60_000)
    ctx.set_default_navigation_timeout(120_000)
    instrument_context(ctx, page_log)
    try:
        yield ctx
    finally:
        with contextlib.suppress(Exception):
            ctx.close()
        # Kernels of this test are not needed any more: keep the 2 cores free.
        for server in list(_SERVERS.values()):
            shutdown_all_kernels(server)


@pytest.fixture
def page(context, request: pytest.FixtureRequest, tmp_path: Path):
    """A page in ``context``; everything it does is recorded in ``page_log``.

    If the test fails, a screenshot is written to ``<tmp_path>/failure.png``.
    """
    pg = context.new_page()
    request.node.stash[_PAGE_KEY] = (pg, tmp_path / "failure.png")
    return pg


@pytest.fixture
def nb_name(request: pytest.FixtureRequest) -> str:
    """A notebook file name unique to this test, e.g. ``test_x-lab-1a2b3c4d.ipynb``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-.")[:60]
    return f"{stem}-{uuid.uuid4().hex[:8]}.ipynb"

"""Suite-wide: fast tests first, browser tests last."""

from __future__ import annotations

import gc

import pytest

from tests.browser.plugin import is_browser_test


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def slowness(item: pytest.Item) -> int:
        path = str(item.path)
        if is_browser_test(item):
            return 2
        if "/tests/kernel/" in path or path.endswith(".ipynb"):
            return 1
        return 0

    items.sort(key=slowness)  # stable: keeps the order within each group


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test():  # type: ignore[no-untyped-def]
    """A socket or file a test leaves open in a reference cycle warns when it is collected;
    collecting after every test lays that warning (an error here) on the test that leaked,
    not on the end of the run."""
    yield
    gc.collect()


#: Figures the tests measured, printed at the end of every run (see ``report_figure``).
FIGURES: list[str] = []


@pytest.fixture
def report_figure(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``report_figure(text)``: a measured figure, shown in the run's summary."""

    def report(text: str) -> None:
        FIGURES.append(f"{request.node.name}: {text}")

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("figures measured in this run")
        for line in FIGURES:
            terminalreporter.write_line(line)

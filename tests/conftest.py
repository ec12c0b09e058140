"""Suite-wide: fast tests first, browser tests last."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def slowness(item: pytest.Item) -> int:
        path = str(item.path)
        if "/tests/browser/" in path:
            return 2
        if "/tests/kernel/" in path or path.endswith(".ipynb"):
            return 1
        return 0

    items.sort(key=slowness)  # stable: keeps the order within each group

"""Helpers for tests of bokeh_nb outputs in a page (on top of the harness in jupyter.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import Locator, Page, expect

from .jupyter import (
    add_and_run_cell,
    cell_output,
    cell_outputs,
    open_notebook,
    run_all_cells,
    write_notebook,
)


def bokeh_output(page: Page, cell: int = 0, view: int = 0, timeout: float = 90_000) -> Locator:
    """The view-th bokeh_nb output of a cell, once BokehJS has rendered it."""
    out = cell_output(page, cell).locator(".bokeh-nb-output").nth(view)
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=timeout)
    return out


def kernel_json(page: Page, expr: str) -> Any:
    """A Python expression's value, evaluated in the notebook's kernel by a new cell."""
    i = add_and_run_cell(page, f"import json as _j; print(_j.dumps({expr}))")
    # read the cell's outputs from the notebook model, not the DOM (a dialog, e.g. the
    # server connection error, may cover it); the execute reply (shell) can overtake the
    # printed line (iopub), so wait for it
    deadline = time.monotonic() + 30
    while not (outputs := cell_outputs(page, i)) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    texts = [o.get("text", "") for o in outputs if o.get("name") == "stdout"]
    text = "".join("".join(t) if isinstance(t, list) else t for t in texts)
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f"cell {i} ({expr}) gave {outputs!r}") from None


def wait_kernel(page: Page, expr: str, expected: Any, timeout: float = 30) -> None:
    """Wait until a Python expression in the notebook's kernel has the expected value
    (browser -> kernel sync is asynchronous: a cell may run before a queued change)."""
    deadline = time.monotonic() + timeout
    while (value := kernel_json(page, expr)) != expected:
        assert time.monotonic() < deadline, f"{expr} = {value!r}, expected {expected!r}"
        time.sleep(0.5)


def drag_handle(page: Page, out: Locator, dx: float, steps: int = 6) -> None:
    """Drag the first slider handle of out dx pixels to the right, as a person would."""
    box = out.locator(".noUi-handle").first.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x + dx * step / steps, y)
    page.mouse.up()


def run_notebook(server: Any, page: Page, nb_name: str, cells: list[str]) -> Locator:
    """Write a notebook of ``cells``, open it, run all cells; the first cell's output."""
    write_notebook(server.root_dir, nb_name, cells)
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    return bokeh_output(page, 0)


def create_share(
    server: Any, kernel_id: str, app: str, mode: str = "view", expires: float = 600
) -> dict[str, Any]:
    """A share link made through the API with the server's token (its JSON)."""
    body = {"kernel_id": kernel_id, "app": app, "mode": mode, "expires": expires}
    share: dict[str, Any] = server.api("POST", "bokeh-nb/api/shares", body)
    share["token"] = share["path"].rsplit("/", 1)[1]
    return share


def shared_app(
    server: Any, page: Page, nb_name: str, cells: list[str], app: str, mode: str = "view"
) -> tuple[Locator, str]:
    """Run a notebook whose cells make the live app ``app``: its first output, and the
    websocket URL of a new share link to that app."""
    out = run_notebook(server, page, nb_name, cells)
    kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
    share = create_share(server, kernel_id, app, mode)
    return out, server.ws_origin + share["path"] + "/ws"

"""A kernel in another environment than the Jupyter server's, with another bokeh.

The server runs in ``.venv`` (bokeh 3.9); a kernelspec points to ``.venv-kernels/bokeh-
3.10.0.dev5`` (``tests/kernel_env.py``). The server cannot serve BokehJS 3.10.0.dev5, so
the page gets it from the kernel over the output's comm, once, and from the browser's cache
after a reload.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page

from tests import kernel_env

from .bokeh import bokeh_output, drag_handle, kernel_json, wait_kernel
from .jupyter import (
    JupyterServer,
    PageLog,
    assert_no_console_errors,
    assert_no_foreign_requests,
    open_notebook,
    reload_page,
    run_all_cells,
    save_notebook,
    write_notebook,
)
from .test_live_document import BROWSER_Y, ISSUE_CELL

KERNEL_NAME = f"bokeh-{kernel_env.OTHER_BOKEH}"

# A property of the first model of a type in the page's BokehJS document (the DOM of
# bokeh's widgets differs between versions; the document does not).
MODEL_PROP = """([el, type, prop]) => {
  const doc = el.bokehNbModel.document;
  return [...doc._all_models.values()].find(m => m.type === type)[prop];
}"""


def prop(out: Locator, model_type: str, name: str) -> object:
    return out.page.evaluate(MODEL_PROP, [out.element_handle(), model_type, name])


def wait_prop(out: Locator, model_type: str, name: str, value: object) -> None:
    out.page.wait_for_function(
        f"a => JSON.stringify(({MODEL_PROP})(a)) === {json.dumps(json.dumps(value))}",
        arg=[out.element_handle(), model_type, name],
        timeout=30_000,
    )


@pytest.fixture(scope="module")
def other_kernel(lab_server: JupyterServer) -> Iterator[str]:
    """A kernelspec of the server whose kernel runs in the other environment."""
    interpreter = kernel_env.ensure()
    spec_dir = lab_server.base_dir / "jupyter_path" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(interpreter), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python (bokeh {kernel_env.OTHER_BOKEH})",
                "language": "python",
            }
        )
    )
    yield KERNEL_NAME


@pytest.mark.timeout(400)
def test_kernel_with_another_bokeh(
    lab_server: JupyterServer, other_kernel: str, page: Page, page_log: PageLog, nb_name: str
) -> None:
    server = lab_server
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL], kernel_name=other_kernel)
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, timeout=180_000)
    assert out.evaluate("el => el.bokehNbModel.get('bokeh_version')") == kernel_env.OTHER_BOKEH

    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] == ["kernel"], loads
    kb, ms = loads[0]["bytes"], loads[0]["ms"]
    print(f"\nBokehJS {kernel_env.OTHER_BOKEH} over the comm: {kb} bytes in {ms:.0f} ms")
    assert kb > 1_000_000
    assert not [u for u in page_log.requests if "bokeh-nb/static/bokehjs" in u]

    # button -> Python -> text; slider -> Python -> line
    out.get_by_role("button", name="press").click()
    wait_prop(out, "Div", "text", "1")
    drag_handle(page, out, 60)
    page.wait_for_function(
        f"a => ({MODEL_PROP})(a) !== 2", arg=[out.element_handle(), "Slider", "value"]
    )
    page.wait_for_timeout(500)
    value = prop(out, "Slider", "value")
    assert isinstance(value, int)
    wait_kernel(page, "s.value", value)
    expected = json.dumps([1, 2**value, 3**value]).replace(" ", "")
    page.wait_for_function(
        f"el => JSON.stringify(({BROWSER_Y})(el)) === '{expected}'",
        arg=out.element_handle(),
        timeout=30_000,
    )
    assert kernel_json(page, "__import__('bokeh').__version__") == kernel_env.OTHER_BOKEH

    # a reloaded page takes it from the browser's cache: nothing more from the kernel
    save_notebook(page)
    reload_page(page)
    out = bokeh_output(page, timeout=180_000)
    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] == ["cache"], loads
    wait_prop(out, "Div", "text", "1")

    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)

"""A kernel in another environment than the Jupyter server's, with another bokeh, both ways.

- The server runs in ``.venv`` (bokeh 3.9); a kernelspec points to ``.venv-kernels/bokeh-
  3.10.0.dev5`` (``tests/kernel_env.py``).
- The reverse: the server runs in ``.venv-kernels/bokeh-3.10.0.dev5`` (with bokeh_nb's
  server extension and labextension, as its wheel installs them); its ``python3`` kernel
  runs in ``.venv`` (bokeh 3.9).

Either way the server cannot serve the kernel's BokehJS, so the page gets it from the
kernel over the output's comm, once, and from the browser's cache after a reload. With no
kernel, a saved output of the other bokeh renders from the BokehJS its notebook carries once
the notebook is trusted, and shows its saved picture until then.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import bokeh
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from bokeh_nb.protocol import STATIC_ROUTE
from tests import kernel_env

from .bokeh import bokeh_output, drag_handle, kernel_json, wait_kernel
from .jupyter import (
    JupyterServer,
    PageLog,
    assert_no_console_errors,
    assert_no_foreign_requests,
    instrument_context,
    open_notebook,
    reload_page,
    run_all_cells,
    save_notebook,
    start_jupyter_server,
    stop_jupyter_server,
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


@pytest.fixture(scope="module")
def other_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """JupyterLab running in the other environment; its ``python3`` kernel runs here."""
    server = start_jupyter_server(
        "lab", tmp_path_factory.mktemp("other-lab"), python=kernel_env.ensure()
    )
    try:
        yield server
    finally:
        stop_jupyter_server(server)


@pytest.mark.timeout(400)
def test_kernel_with_another_bokeh(
    lab_server: JupyterServer,
    other_kernel: str,
    page: Page,
    page_log: PageLog,
    nb_name: str,
    report_figure: Callable[[str], None],
) -> None:
    check_quickstart(
        lab_server, page, page_log, nb_name, other_kernel, kernel_env.OTHER_BOKEH, report_figure
    )


@pytest.mark.timeout(400)
def test_server_with_another_bokeh(
    other_lab: JupyterServer,
    page: Page,
    page_log: PageLog,
    nb_name: str,
    report_figure: Callable[[str], None],
) -> None:
    assert bokeh.__version__ != kernel_env.OTHER_BOKEH
    assert served(other_lab, kernel_env.OTHER_BOKEH)
    assert not served(other_lab, bokeh.__version__)
    check_quickstart(
        other_lab, page, page_log, nb_name, "python3", bokeh.__version__, report_figure
    )
    assert Path(sys.executable).parent.parent.name == ".venv"


@pytest.mark.timeout(400)
def test_saved_outputs_of_another_bokeh_without_a_kernel(
    lab_server: JupyterServer,
    other_kernel: str,
    browser: Browser,
    page: Page,
    page_log: PageLog,
    nb_name: str,
) -> None:
    """Saved by a kernel with the other bokeh, opened where no kernel sends its BokehJS
    and the browser has none cached: untrusted, the saved picture, saying why, with the
    trust button; trusted, the snapshot on the BokehJS the notebook carries. The server is
    never asked for a BokehJS it does not have."""
    server = lab_server
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL], kernel_name=other_kernel)
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, timeout=180_000)
    out.get_by_role("button", name="press").click()
    wait_prop(out, "Div", "text", "1")
    save_notebook(page)
    page.close()
    for kernel in server.api("GET", "api/kernels"):
        server.api("DELETE", f"api/kernels/{kernel['id']}")
    # trust goes by content: a copy changed by hand is untrusted, as one from a repository
    copy = f"copy-{nb_name}"
    nb = json.loads((server.root_dir / nb_name).read_text())
    nb["metadata"]["copied"] = True
    (server.root_dir / copy).write_text(json.dumps(nb))

    log = PageLog()
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    instrument_context(context, log)
    try:
        fresh = context.new_page()
        fresh.set_default_timeout(60_000)
        open_notebook(fresh, server, copy)
        output = fresh.locator(".bokeh-nb-host").first
        expect(output.locator("img.bokeh-nb-picture")).to_be_visible(timeout=90_000)
        said = output.locator(".bokeh-nb-badge").first.inner_text()
        assert f"BokehJS {kernel_env.OTHER_BOKEH} is not on this Jupyter server" in said, said
        assert f"whose bokeh is {bokeh.__version__}" in said, said
        assert output.locator(".bokeh-nb-error").count() == 0

        output.get_by_role("button", name="Trust notebook").click()
        fresh.locator(".jp-Dialog").get_by_role("button", name="Trust", exact=True).click()
        shown = output.locator(".bokeh-nb-static[data-bokeh-nb-rendered='true']")
        expect(shown).to_have_count(1, timeout=90_000)
        loads = shown.evaluate("el => el.bokehNbLoads")
        assert [load["source"] for load in loads] == ["notebook"], loads
        text = shown.evaluate(
            "el => [...el.bokehNbStatic._all_models.values()].find(m => m.type === 'Div').text"
        )
        assert text == "1"
        assert not [u for u in log.requests if "bokeh-nb/static/bokehjs" in u]
        assert_no_foreign_requests(log, server)
        assert_no_console_errors(log)
    finally:
        context.close()


def served(server: JupyterServer, version: str) -> bool:
    """Whether the server serves BokehJS ``version`` itself."""
    url = server.url(f"{STATIC_ROUTE}/{version}/bokeh.min.js")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


def check_quickstart(
    server: JupyterServer,
    page: Page,
    page_log: PageLog,
    nb_name: str,
    kernel_name: str,
    kernel_bokeh: str,
    report_figure: Callable[[str], None],
) -> None:
    """The live-document notebook works with a kernel whose BokehJS the server lacks."""
    write_notebook(server.root_dir, nb_name, [ISSUE_CELL], kernel_name=kernel_name)
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = bokeh_output(page, timeout=180_000)
    assert out.evaluate("el => el.bokehNbModel.get('bokeh_version')") == kernel_bokeh

    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] == ["kernel"], loads
    kb, ms = loads[0]["bytes"], loads[0]["ms"]
    report_figure(f"BokehJS {kernel_bokeh} over the comm, once: {kb} bytes in {ms:.0f} ms")
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
    assert kernel_json(page, "__import__('bokeh').__version__") == kernel_bokeh

    # a reloaded page takes it from the browser's cache: nothing more from the kernel
    save_notebook(page)
    reload_page(page)
    out = bokeh_output(page, timeout=180_000)
    loads = out.evaluate("el => el.bokehNbModel.bokehjsLoads")
    assert [load["source"] for load in loads] == ["cache"], loads
    wait_prop(out, "Div", "text", "1")

    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)

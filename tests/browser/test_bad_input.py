"""Bad installs and bad callbacks: a clear message in the output, never a blank cell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .jupyter import (
    JupyterServer,
    add_and_run_cell,
    assert_no_console_errors,
    cell_output,
    open_notebook,
    run_all_cells,
    start_jupyter_server,
    stop_jupyter_server,
    write_notebook,
)


@pytest.fixture(scope="module")
def lab_without_bokeh_nb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A JupyterLab whose server has neither bokeh_nb's labextension nor its routes."""
    base = tmp_path_factory.mktemp("lab-without-bokeh-nb")
    labconfig = Path(base) / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"bokeh-nb": True}})
    )
    server = start_jupyter_server(
        "lab", base, extra_args=["--ServerApp.jpserver_extensions=bokeh_nb=False"]
    )
    try:
        yield server
    finally:
        stop_jupyter_server(server)


def test_frontend_without_extension_says_what_to_install(lab_without_bokeh_nb, page, nb_name):
    server = lab_without_bokeh_nb
    write_notebook(
        server.root_dir,
        nb_name,
        ["import bokeh_nb\nfrom bokeh.models import Div\nbokeh_nb.show(Div(text='x'))"],
    )
    open_notebook(page, server, nb_name)
    run_all_cells(page)
    expect(cell_output(page, 0)).to_contain_text("pip install bokeh_nb", timeout=60_000)


def test_bokeh_version_nothing_can_deliver(lab_server, page, page_log, nb_name):
    """A kernel whose bokeh no BokehJS of bokeh_nb can render (2.x): one message in the
    output naming both versions and what to install; nothing is requested for it."""
    server = lab_server
    code = (
        "import bokeh_nb\nfrom bokeh.models import Div\nfrom IPython.display import display\n"
        "w = bokeh_nb.BokehWidget(Div(text='x'))\nw.set_trait('bokeh_version', '2.4.3')\ndisplay(w)"
    )
    write_notebook(server.root_dir, nb_name, [code])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    error = cell_output(page, 0).locator(".bokeh-nb-error")
    expect(error).to_contain_text("kernel with bokeh 2.4.3", timeout=60_000)
    expect(error).to_contain_text('Install "bokeh>=3.9,<3.11"')
    assert not [u for u in page_log.requests if "bokehjs/2.4.3" in u]
    assert_no_console_errors(page_log)


def test_callback_exception_shows_traceback_and_next_event_works(
    lab_server, page, page_log, nb_name
):
    server = lab_server
    code = """\
import bokeh_nb
from bokeh.models import Button, Div
from bokeh.layouts import column
clicks = []
b = Button(label="go"); d = Div(text="none")
def on_click():
    clicks.append(1)
    if len(clicks) == 1:
        raise ValueError("first click fails")
    d.text = f"clicks={len(clicks)}"
b.on_click(on_click)
bokeh_nb.show(column(b, d))"""
    write_notebook(server.root_dir, nb_name, [code])
    open_notebook(page, server, nb_name)
    assert run_all_cells(page)
    out = cell_output(page, 0).locator(".bokeh-nb-output").first
    expect(out).to_have_attribute("data-bokeh-nb-rendered", "true", timeout=90_000)
    out.get_by_role("button", name="go").click()
    error = out.locator(".bokeh-nb-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("ValueError: first click fails")
    expect(error.locator("pre")).to_contain_text("Traceback")
    out.get_by_role("button", name="go").click()
    expect(out.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("clicks=2")
    expect(error).to_have_count(1)  # shown once
    i = add_and_run_cell(page, "print(len(clicks))")
    expect(cell_output(page, i)).to_have_text("2")
    assert_no_console_errors(page_log)


def test_kernel_and_frontend_with_other_bokeh_nb_versions(lab_server, page, nb_name):
    server = lab_server
    code = (
        "import bokeh_nb, bokeh_nb._version as v\nv.__version__ = '0.99.0'  # as if the kernel had another release\n"
        "from bokeh.models import Div\nbokeh_nb.show(Div(text='x'))"
    )
    write_notebook(server.root_dir, nb_name, [code])
    open_notebook(page, server, nb_name)
    run_all_cells(page)
    out = cell_output(page, 0)
    expect(out).to_contain_text("bokeh_nb 0.99.0 in the kernel", timeout=60_000)
    expect(out).to_contain_text("Install the same bokeh_nb version")


def test_protocol_version_mismatch(lab_server, page, nb_name):
    server = lab_server
    code = (
        "import bokeh_nb\nfrom bokeh.models import Div\nfrom IPython.display import display\n"
        "w = bokeh_nb.BokehWidget(Div(text='x'))\nw.set_trait('protocol_version', '99')\ndisplay(w)"
    )
    write_notebook(server.root_dir, nb_name, [code])
    open_notebook(page, server, nb_name)
    run_all_cells(page)
    expect(cell_output(page, 0).locator(".bokeh-nb-error")).to_contain_text(
        "protocol 99", timeout=60_000
    )

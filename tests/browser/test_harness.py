"""Proves the browser harness on plain Python cells (no bokeh_nb needed)."""

from __future__ import annotations

import sys

from playwright.sync_api import expect

from .jupyter import (
    add_and_run_cell,
    assert_no_console_errors,
    assert_no_foreign_requests,
    cell_count,
    cell_execution_count,
    cell_output,
    cell_outputs,
    open_notebook,
    read_notebook,
    reload_page,
    run_all_cells,
    run_cell,
    save_notebook,
    set_cell_source,
    trust_notebook,
    write_notebook,
)

CELLS = ["print(6*7)", "from IPython.display import HTML; HTML('<b id=x>hi</b>')"]


def test_run_all_save_reload(jupyter_frontend, page, page_log, nb_name):
    server = jupyter_frontend
    write_notebook(server.root_dir, nb_name, CELLS)
    open_notebook(page, server, nb_name)

    assert run_all_cells(page) is True
    expect(cell_output(page, 0)).to_contain_text("42")
    expect(cell_output(page, 1).locator("#x")).to_have_text("hi")

    save_notebook(page)
    saved = read_notebook(server.root_dir, nb_name)
    assert saved.cells[0].outputs[0]["text"] == "42\n"

    reload_page(page)
    expect(cell_output(page, 0)).to_contain_text("42")
    expect(cell_output(page, 1).locator("#x")).to_have_text("hi")

    assert page_log.requests, "no request recorded"
    assert any(u.startswith(server.ws_origin) for u in page_log.websockets), page_log.websockets
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


def test_cell_helpers_and_kernel(jupyter_frontend, page, page_log, nb_name):
    server = jupyter_frontend
    write_notebook(server.root_dir, nb_name, ["a = 1", "print(a + 1)"])
    open_notebook(page, server, nb_name)

    # run single cells by index
    run_cell(page, 0)
    assert cell_execution_count(page, 0) == 1
    assert cell_execution_count(page, 1) is None
    run_cell(page, 1)
    expect(cell_output(page, 1)).to_have_text("2")

    # edit a cell through the model and re-run it
    set_cell_source(page, 1, "print(a * 100)")
    run_cell(page, 1)
    expect(cell_output(page, 1)).to_have_text("100")

    # add a new cell and run it: the kernel is the venv's python
    index = add_and_run_cell(page, "import sys; print(sys.executable)")
    assert index == 2 and cell_count(page) == 3
    expect(cell_output(page, 2)).to_have_text(sys.executable)
    assert cell_outputs(page, 2)[0]["output_type"] == "stream"

    # errors surface in the output area, not in the browser console
    index = add_and_run_cell(page, "1/0")
    expect(cell_output(page, index)).to_contain_text("ZeroDivisionError")

    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


SCRIPT_OUTPUT = {
    "output_type": "display_data",
    "metadata": {},
    "data": {
        "text/plain": ["<HTML>"],
        "text/html": [
            "<div id='t'>not run</div>",
            "<script>document.getElementById('t').textContent = 'ran'</script>",
        ],
    },
}


def test_trusted_prefilled_outputs(jupyter_frontend, page, page_log, nb_name):
    """Outputs already in the file render without running; trusted ones run scripts."""
    server = jupyter_frontend
    write_notebook(
        server.root_dir,
        nb_name,
        [{"source": "pass", "outputs": [SCRIPT_OUTPUT], "execution_count": 1}],
    )
    trust_notebook(server, nb_name)
    open_notebook(page, server, nb_name)
    expect(cell_output(page, 0).locator("#t")).to_have_text("ran")
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


def test_server_is_isolated_and_offline(jupyter_frontend):
    """No news feed / update check; python3 kernelspec is this interpreter."""
    server = jupyter_frontend
    assert server.api("GET", "lab/api/update") == {"notification": None}
    assert server.api("GET", "lab/api/news") == {"news": []}
    specs = server.api("GET", "api/kernelspecs")
    assert specs["default"] == "python3"
    assert specs["kernelspecs"]["python3"]["spec"]["argv"][0] == sys.executable
    assert server.base_url == f"http://127.0.0.1:{server.port}/"
    assert server.root_dir.is_dir()


def test_a_server_start_that_meets_another_listener_takes_another_port(tmp_path, monkeypatch):
    """What a lane beside another meets: the picked port taken, between the probe and the
    server's bind, by a process that answers with a kernel's ZMQ greeting, not HTTP."""
    import contextlib
    import socket
    import threading

    from . import jupyter

    taken = socket.socket()
    taken.bind((jupyter.HOST, 0))
    taken.listen()
    stop = threading.Event()

    def greet() -> None:  # a ZMQ socket's first bytes, whatever the request
        taken.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = taken.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                conn.recv(65536)  # the request, then the answer an HTTP client cannot read
                conn.sendall(b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f")

    threading.Thread(target=greet, daemon=True).start()
    picks = iter([taken.getsockname()[1]])
    real = jupyter.free_port
    monkeypatch.setattr(jupyter, "free_port", lambda: next(picks, None) or real())
    try:
        server = jupyter.start_jupyter_server("lab", tmp_path)
        try:
            assert server.port != taken.getsockname()[1]
            assert isinstance(server.api("GET", "api/status"), dict)
            assert server.log_text().count("$ ") == 2, "one start on the taken port, one after"
        finally:
            jupyter.stop_jupyter_server(server)
    finally:
        stop.set()
        taken.close()


def test_free_ports_are_below_the_ephemeral_range_and_never_repeat():
    from .jupyter import TEST_PORTS, free_port

    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(p in TEST_PORTS and p < 32768 for p in ports)

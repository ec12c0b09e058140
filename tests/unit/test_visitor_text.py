"""What a page's message can make the kernel allocate, write to its log and send back:
bounded decoding, short escaped excerpts, and tracebacks only for the author."""

from __future__ import annotations

import base64
import gzip
import logging
import tracemalloc

import pytest
from bokeh.models import Button, Div, Slider

from bokeh_nb import _bokeh
from bokeh_nb.kernel.pages import PageChannel, _Indented
from bokeh_nb.kernel.session import KernelSession
from bokeh_nb.kernel.visitor_text import EXCERPT, describe, excerpt, format_traceback

from .conftest import FakeChannel, browser_patch, button_click, model_changed, pull_request
from .test_session import make, run

FORGED = "value\n[W 2099-01-01 00:00:00.000 ServerApp] FORGED LOG LINE\r\x1b[31m"


def test_an_excerpt_is_short_and_has_no_control_characters() -> None:
    short = excerpt(FORGED)
    assert "\n" not in short and "\r" not in short and "\x1b" not in short
    assert "\\n[W 2099" in short
    long = excerpt("x" * 10**6)
    assert len(long) < EXCERPT + 40 and long.endswith("(1000000 characters)")
    assert excerpt(b"\x00" * 10**6) == "<1000000 bytes>"
    assert len(describe(ValueError("y" * 10**6))) < EXCERPT + 40


def test_a_traceback_keeps_its_frames_and_shortens_its_messages() -> None:
    def fail() -> None:
        raise ValueError(FORGED + "z" * 10**5)

    try:
        try:
            fail()
        except ValueError as e:
            raise RuntimeError("while handling") from e
    except RuntimeError as e:
        text = format_traceback(e)
    assert "in fail" in text and "RuntimeError: while handling" in text
    assert "ValueError: value\\n[W 2099" in text
    assert not any(line.startswith("[W 2099") for line in text.splitlines())
    assert len(text) < 5000


def bomb(zeros: int) -> str:
    return base64.b64encode(gzip.compress(bytes(zeros), compresslevel=9)).decode()


def test_inline_bytes_inflate_only_a_few_times_their_size() -> None:
    assert _bokeh.inflate(base64.b64encode(gzip.compress(b"abc" * 10)).decode()) == b"abc" * 10
    for data in (bomb(10**7), "not base64!", base64.b64encode(b"not gzip").decode()):
        with pytest.raises(_bokeh.BadMessage):
            _bokeh.inflate(data)


def test_a_compressed_bomb_from_a_notebook_page_costs_little(channel: FakeChannel) -> None:
    """A page of the author's own notebook is not a visitor, and yet a Slider value of
    gzip-compressed zeros is decoded no further than a few times its size, and answered
    with a short error."""
    data = bomb(200 * 2**20)
    value = {"type": "bytes", "data": data}

    async def main() -> None:
        slider = Slider(start=0, end=10, value=1)
        session = make(channel, slider)
        session.receive(pull_request(), "c1")
        tracemalloc.start()
        try:
            session.receive(browser_patch([model_changed(slider.id, "value", value)], "m1"), "c1")
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        [err] = channel.of_type("ERROR")
        assert "expand beyond" in err.content["text"] and len(err.content["text"]) < 400
        assert err.content["traceback"] is None
        assert peak < 16 * len(data), (peak, len(data))
        assert slider.value == 1

    run(main)


def test_a_value_bokeh_refuses_is_quoted_only_in_short(channel: FakeChannel) -> None:
    async def main() -> None:
        slider = Slider(start=0, end=10, value=1)
        session = make(channel, slider)
        session.receive(pull_request(), "c1")
        session.receive(browser_patch([model_changed(slider.id, "value", FORGED * 10**4)]), "c1")
        [err] = channel.of_type("ERROR")
        text, tb = err.content["text"], err.content["traceback"]
        assert len(text) < 2 * EXCERPT + 100 and "\n" not in text
        # the author's own page gets the traceback, its messages shortened too
        assert "Traceback" in tb and len(tb) < 25_000
        assert not any(line.startswith("[W 2099") for line in tb.splitlines())

    run(main)


def test_a_standalone_page_gets_an_error_id_and_no_traceback(
    channel: FakeChannel, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        button = Button()

        def fail() -> None:
            raise RuntimeError("the secret path /home/author/app.py")

        button.on_click(fail)
        session = make(channel, button, standalone=True)
        session.receive(pull_request(), "c1")
        click = button_click(button.id)
        session.receive(browser_patch([click], "m1"), "c1")
        [err] = channel.of_type("ERROR")
        text = err.content["text"]
        assert text.startswith("error ") and "its author can see the details" in text
        assert err.content["traceback"] is None and "secret" not in text
        incident = text.split()[1].rstrip(":")
        [(logged, tb)] = channel.errors
        assert logged.startswith(f"error {incident}: RuntimeError: the secret path")
        assert "in fail" in tb

    run(main)


class FakeApp:
    def __init__(self, sessions: list[KernelSession]) -> None:
        self.name = "sliders"
        self.sessions = sessions


def test_a_standalone_error_reaches_the_log_and_the_apps_notebook_outputs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        output = FakeChannel()
        notebook = make(output, Div())
        page = make(FakeChannel(), Div(), standalone=True)
        transport = PageChannel(None, FakeApp([notebook, page]))
        with caplog.at_level(logging.ERROR, logger="bokeh_nb.kernel.pages"):
            transport.send_error("error 1234: RuntimeError: boom", "Traceback ...\nin fail")
        assert "error 1234: RuntimeError: boom in a standalone session of app" in caplog.text
        [(text, tb)] = output.errors
        assert text.startswith("error 1234: RuntimeError: boom") and "in fail" in tb

    run(main)


def test_no_log_line_of_the_kernel_can_pass_for_one_of_the_server() -> None:
    record = logging.LogRecord("bokeh_nb", logging.ERROR, __file__, 1, "a\n%s", (FORGED,), None)
    text = _Indented("[bokeh_nb kernel] %(levelname)s | %(message)s").format(record)
    assert all(line.startswith(("[bokeh_nb kernel]", "    ")) for line in text.split("\n"))

"""``server/logfilter.py``: what the Jupyter server's log lines lose on their way out."""

from __future__ import annotations

import io
import logging
import secrets
import sys
from collections.abc import Iterator

import pytest

from bokeh_nb.server.logfilter import Scrubbing, install, scrub

TOKEN = secrets.token_hex(24)
SHARE = f"{secrets.token_urlsafe(18)}.{secrets.token_urlsafe(32)}"


@pytest.fixture(autouse=True)
def _uninstall() -> Iterator[None]:
    """``install`` reaches every logger of the process: this one's test runner's too."""
    yield
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    for logger in loggers:
        for target in (logger, *getattr(logger, "handlers", ())):
            for f in [f for f in getattr(target, "filters", []) if isinstance(f, Scrubbing)]:
                target.removeFilter(f)


def logger_with_stream(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.handlers = [logging.StreamHandler(stream)]
    logger.setLevel(logging.INFO)
    return logger, stream


def test_scrub_leaves_no_credential_and_is_idempotent() -> None:
    text = (
        f"GET /bokeh-nb/s/{SHARE}/ws?token={TOKEN}&_xsrf={TOKEN}&who=ann "
        f"HTTPServerRequest(uri='/lab?token={TOKEN}') Cookie: _xsrf={TOKEN}; a=b\n"
        f'{{"Authorization": "token {TOKEN}"}} shared at {SHARE}'
    )
    once = scrub(text)
    assert TOKEN not in once and SHARE not in once
    assert "who=ann" in once and SHARE.split(".")[0] in once  # the link's id names it
    assert scrub(once) == once


def test_a_traceback_and_its_request_are_scrubbed() -> None:
    logger, stream = logger_with_stream("test_logfilter.traceback")
    install(logger)
    try:
        raise RuntimeError(f"failed on /bokeh-nb/s/{SHARE}?token={TOKEN}")
    except RuntimeError:
        logger.error(
            "Uncaught exception %s\n%r",
            "GET /x",
            f"HTTPServerRequest(uri='/x?token={TOKEN}')",
            exc_info=sys.exc_info(),
        )
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out
    assert TOKEN not in out and SHARE not in out


def test_the_extensions_lines_are_one_line_each() -> None:
    logger, stream = logger_with_stream("test_logfilter.lines")
    logger.addFilter(Scrubbing())
    logger.warning("bokeh_nb: %s: %s", "app 'x'", "value\n[W 2099 ServerApp] FORGED\r")
    logger.warning("other: %s", "two\nlines")  # not the extension's: left as it is
    lines = stream.getvalue().splitlines()
    assert lines[0] == "bokeh_nb: app 'x': value?[W 2099 ServerApp] FORGED?"
    assert lines[1:] == ["other: two", "lines"]


def test_install_reaches_the_handlers_and_is_idempotent() -> None:
    logger, stream = logger_with_stream("test_logfilter.install")
    first, second = install(logger), install(logger)
    assert first is second
    assert sum(isinstance(f, Scrubbing) for f in logger.handlers[0].filters) == 1
    logging.getLogger("test_logfilter.install.child").warning("uri=/a?token=%s", TOKEN)
    assert TOKEN not in stream.getvalue() and "token=[secret]" in stream.getvalue()

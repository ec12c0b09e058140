"""What a standalone page is told when its app cannot start a session (``kernel/pages.py``):
an app file's page the file, as the server named it, and what its code raised, never a
traceback nor a path of the kernel; a notebook's live app's page only that it failed. The
kernel's log (the server's) has the traceback, once. And how the server carries that text
to the page: a websocket close reason (``server/live.py``), which an app file's page shows
(``server/page.py``)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from bokeh.document import Document

from bokeh_nb.apps import as_application
from bokeh_nb.kernel.appcontext import AppContext
from bokeh_nb.kernel.flow import MessageBudget
from bokeh_nb.kernel.pages import Pages
from bokeh_nb.kernel.session import KernelSession
from bokeh_nb.server.live import CLOSE_REASON_BYTES, close_reason
from bokeh_nb.server.page import FILE_PROBLEMS, PROBLEMS, write_app_page

SCRIPTS = {
    "broken.py": 'raise ValueError("boom")\n',
    "nodata.py": 'def load():\n    raise RuntimeError("no data")\n\n\nload()\n',
    # bokeh's document validation reads a Slider's start, which has no value
    "unset.py": (
        "from bokeh.io import curdoc\nfrom bokeh.models import Slider\n"
        'curdoc().add_root(Slider(title="no range"))\n'
    ),
}


class FakeComm:
    comm_id = "c1"

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.sent.append(dict(data))

    def on_msg(self, callback: Any) -> None:
        pass

    def on_close(self, callback: Any) -> None:
        pass


class ScriptApp:
    """An app file as a file-app kernel runs it (its documents made as ``LiveApp`` makes
    them), under the name the server gives the page."""

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self.sessions: list[KernelSession] = []
        self.context = AppContext(as_application(path), path)

    def new_session_document(
        self, arguments: dict[str, list[bytes]] | None = None
    ) -> tuple[str, Document]:
        session_id, doc, _ = self.context.new_document(arguments)
        return session_id, doc

    def attach(self, session_id: str, session: KernelSession) -> None:
        raise AssertionError("no session should start")


class FailingApp(ScriptApp):
    """A notebook's live app whose ``modify_doc`` raises."""

    def __init__(self, name: str, error: Exception) -> None:
        self.name, self.sessions, self.error = name, [], error

    def new_session_document(
        self, arguments: dict[str, list[bytes]] | None = None
    ) -> tuple[str, Document]:
        raise self.error


def refusal(app: Any, data: dict[str, Any], *, raises: Exception | None = None) -> str:
    """The text of the one frame a session comm gets: a refusal."""

    def find_app(_data: Any, _buffers: Any) -> Any:
        if raises is not None:
            raise raises
        return app

    comm = FakeComm()
    Pages(find_app, MessageBudget()).open(comm, {"content": {"data": data}, "buffers": []})
    [frame] = comm.sent
    assert frame["kind"] == "error" and frame["traceback"] == ""
    return str(frame["text"])


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("bokeh_nb.kernel.pages")
    )


@pytest.mark.parametrize(
    ("script", "raised", "line"),
    [
        ("broken.py", "ValueError: boom", 'raise ValueError("boom")'),
        ("nodata.py", "RuntimeError: no data", 'raise RuntimeError("no data")'),
        (
            "unset.py",
            re.compile(
                r"UnsetValueError: Slider\(id='p\d+', \.\.\.\)\.start doesn't have a value set"
            ),
            "in _check_missing_dimension",
        ),
    ],
)
def test_an_app_file_that_raises_is_named_with_what_it_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, script: str, raised: Any, line: str
) -> None:
    kernel_copy = tmp_path / "bokeh-nb-app-x1" / script  # as a kernel on a gateway has it
    kernel_copy.parent.mkdir()
    kernel_copy.write_text(SCRIPTS[script])
    app = ScriptApp(kernel_copy, "broken")
    data = {"app": f"apps/{script}", "arguments": {}, "file": script, "files": [script]}
    with caplog.at_level(logging.ERROR, logger="bokeh_nb"):
        text = refusal(app, data)
    expected = f"the app file 'apps/{script}' raised "
    assert text.startswith(expected), text
    rest = text.removeprefix(expected)
    assert rest == raised if isinstance(raised, str) else raised.fullmatch(rest), text
    assert "Traceback" not in text and "\n" not in text
    assert str(tmp_path) not in text and "bokeh-nb-app-" not in text
    [record] = [r for r in caplog.records if r.name == "bokeh_nb.kernel.pages"]
    log = record.getMessage()
    assert log.count("Traceback (most recent call last)") == 1, log
    assert log.startswith(f"bokeh_nb: {text}\n") and line in log


def test_a_live_app_that_raises_keeps_its_words_and_the_log_has_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FailingApp("sliders", RuntimeError("no data"))
    with caplog.at_level(logging.ERROR, logger="bokeh_nb"):
        text = refusal(app, {"app": "sliders", "arguments": {}})
    assert text == "the app 'sliders' failed to start a session"
    log = logged(caplog)
    assert log.count("Traceback (most recent call last)") == 1
    assert "RuntimeError: no data" in log and "in new_session_document" in log


def test_an_app_file_that_cannot_be_loaded_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "syntax.py"
    bad.write_text("x = (\n")
    with caplog.at_level(logging.ERROR, logger="bokeh_nb"):
        error = None
        try:
            as_application(bad)
        except Exception as e:
            error = e
        assert error is not None
        text = refusal(None, {"app": "syntax.py", "file": str(bad)}, raises=error)
        assert (
            text
            == "the app file 'syntax.py' could not be loaded: SyntaxError: '(' was never closed"
        )
        bundle = ValueError("a malformed app bundle")
        text = refusal(None, {"app": "a", "file": "a", "files": []}, raises=bundle)
        assert text == "the app file 'a' could not be loaded: ValueError: a malformed app bundle"
    assert logged(caplog).count("Traceback (most recent call last)") == 2


def test_what_an_app_raised_is_cut_and_escaped(caplog: pytest.LogCaptureFixture) -> None:
    app = FailingApp("x", RuntimeError("line one\nline two " + "y" * 5000))
    with caplog.at_level(logging.ERROR, logger="bokeh_nb"):
        text = refusal(app, {"app": "apps/x.py", "file": "/srv/apps/x.py"})
    assert text.startswith("the app file 'apps/x.py' raised RuntimeError: line one\\nline two y")
    assert len(text) < 300 and "\n" not in text and text.endswith("characters)")


def test_a_close_reason_fits_a_close_frame() -> None:
    assert close_reason("the app file 'a.py' raised ValueError: boom") == (
        "the app file 'a.py' raised ValueError: boom"
    )
    for text in ("x" * 300, "é" * 300, "the app file 'données.py' raised " + "€" * 100):
        reason = close_reason(text)
        assert len(reason.encode()) <= CLOSE_REASON_BYTES and reason.endswith("…")
        assert text.startswith(reason[:-1])


class FakeHandler:
    def __init__(self) -> None:
        self.body = ""

    def set_header(self, name: str, value: str) -> None:
        pass

    def finish(self, chunk: str) -> None:
        self.body = chunk


def page_problems(**kind: Any) -> dict[str, str]:
    handler = FakeHandler()
    write_app_page(handler, "t", "/bokeh-nb/files/a.py", "/static", **kind)
    item = re.search(r'id="bokeh-nb-item">(.*?)</script>', handler.body, re.S)
    assert item is not None
    return dict(json.loads(item[1])["problems"])


def test_only_an_app_file_page_says_what_its_file_raised() -> None:
    assert page_problems() == PROBLEMS and "no_reason" not in PROBLEMS
    assert page_problems(kind="app") == PROBLEMS
    problems = page_problems(kind="file")
    assert problems == FILE_PROBLEMS
    assert problems["app"] == "This app file could not be opened:"
    assert "notebook kernel may have been restarted" not in problems["app"]
    assert problems["no_reason"] == "the server could not start it; its log says why."

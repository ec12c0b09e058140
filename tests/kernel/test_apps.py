"""Apps in every form, each display a new session, lifecycle hooks, bad apps."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import Kernel, frame

MAIN = """\
from os.path import dirname, join
from bokeh.io import curdoc
from bokeh.models import Div
from bokeh.plotting import figure
import sys
rows = open(join(dirname(__file__), "data", "rows.csv")).read().split()
args = curdoc().session_context.request.arguments
p = figure(name="plot")
curdoc().add_root(Div(text=f"dir app rows={len(rows)} who={args.get('who', [b'-'])[0].decode()}", name="msg"))
curdoc().add_root(p)
sys.modules["__main__"].LOG.append("main ran")
"""

LIFECYCLE = """\
import sys
def log(s): sys.modules["__main__"].LOG.append(s)
def on_server_loaded(server_context): log("server_loaded")
def on_session_created(session_context): log("session_created " + session_context.id[:6])
def on_session_destroyed(session_context): log("session_destroyed " + session_context.id[:6])
def on_server_unloaded(server_context):
    open(sys.modules["__main__"].UNLOADED, "w").write("unloaded")
"""

THEME = """\
attrs:
  Plot:
    background_fill_color: "#123456"
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    d = tmp_path / "dirapp"
    (d / "data").mkdir(parents=True)
    (d / "static").mkdir()
    (d / "templates").mkdir()
    (d / "main.py").write_text(MAIN)
    (d / "server_lifecycle.py").write_text(LIFECYCLE)
    (d / "theme.yaml").write_text(THEME)
    (d / "data" / "rows.csv").write_text("a\nb\nc\n")
    (d / "templates" / "index.html").write_text("{% extends base %}")
    return d


def roots(kernel: Kernel, widget: str) -> list[dict[str, object]]:
    comm = str(kernel.value(f"{widget}.comm.comm_id"))
    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    [reply] = kernel.comm_msgs(comm)
    return list(json.loads(reply["content"]["data"]["content"]["content"])["doc"]["roots"])


def texts(kernel: Kernel, widget: str) -> list[str]:
    return [r["attributes"].get("text") for r in roots(kernel, widget) if "text" in r["attributes"]]  # type: ignore[union-attr, misc]


def test_function_and_application_forms(kernel: Kernel) -> None:
    kernel.execute(
        "import bokeh_nb\nfrom bokeh.io import curdoc\nfrom bokeh.models import Div\n"
        "from bokeh.application import Application\nfrom bokeh.application.handlers import FunctionHandler\n"
        "seen = []\n"
        "def modify_doc(doc):\n    seen.append(curdoc() is doc)\n    doc.add_root(Div(text=f'session {len(seen)}'))\n"
        "w1 = bokeh_nb.BokehWidget(modify_doc); w2 = bokeh_nb.BokehWidget(modify_doc)\n"
        "w3 = bokeh_nb.BokehWidget(Application(FunctionHandler(modify_doc)))"
    )
    assert texts(kernel, "w1") == ["session 1"]
    assert texts(kernel, "w2") == ["session 2"], "each display is a new session"
    assert texts(kernel, "w3") == ["session 3"]
    assert kernel.value("seen") == [True, True, True], "curdoc() is the session's document"
    assert kernel.value("w1.document is not w2.document") is True


def test_showing_an_apps_function_shows_that_app(kernel: Kernel) -> None:
    """``App(f)`` then ``show(f)``: a session of the user's App, which keeps its name (and
    so its URL); the latest App made under a name owns it, as a re-run cell expects."""
    kernel.execute(
        "import bokeh_nb\nfrom bokeh.models import Div\n"
        "def f(doc):\n    doc.add_root(Div(text='f'))\n"
        "app = bokeh_nb.App(f)\nbokeh_nb.show(f)\nw = bokeh_nb.BokehWidget(f)\n"
        "apps = bokeh_nb.kernel.runtime.runtime().apps"
    )
    assert kernel.value("[len(app.sessions), apps['f'] is app, w.app_name]") == [2, True, "f"]
    kernel.execute("again = bokeh_nb.App(f)")
    assert kernel.value("[apps['f'] is again, len(again.sessions)]") == [True, 0]
    kernel.execute("bokeh_nb.show(f)")
    assert kernel.value("[len(again.sessions), len(app.sessions), len(apps)]") == [1, 2, 1]


def test_script_form(kernel: Kernel, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        "from bokeh.io import curdoc\nfrom bokeh.models import Div\ncurdoc().add_root(Div(text='from a script'))\n"
    )
    kernel.execute(f"import bokeh_nb\nw = bokeh_nb.BokehWidget({str(script)!r})")
    assert texts(kernel, "w") == ["from a script"]


def test_notebook_form(kernel: Kernel, tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("an app"),
            nbformat.v4.new_code_cell("from bokeh.io import curdoc\nfrom bokeh.models import Div"),
            nbformat.v4.new_code_cell("curdoc().add_root(Div(text='from a notebook'))"),
        ]
    )
    path = tmp_path / "nbapp.ipynb"
    nbformat.write(nb, path)
    kernel.execute(f"import bokeh_nb\nw = bokeh_nb.BokehWidget({str(path)!r})")
    assert texts(kernel, "w") == ["from a notebook"]


def test_directory_form_and_lifecycle_hooks(kernel: Kernel, app_dir: Path, tmp_path: Path) -> None:
    unloaded = tmp_path / "unloaded.txt"
    kernel.execute(
        f"LOG = []; UNLOADED = {str(unloaded)!r}\nimport bokeh_nb\n"
        f"app = bokeh_nb.App({str(app_dir)!r}, name='dirapp', args={{'who': 'ann'}})\n"
        "w1 = bokeh_nb.BokehWidget(app); w2 = bokeh_nb.BokehWidget(app)"
    )
    assert texts(kernel, "w1") == ["dir app rows=3 who=ann"], "data/ read relative to the app"
    assert (
        kernel.value("w1.document.select_one({'name': 'plot'}).background_fill_color") == "#123456"
    )
    log = kernel.value("LOG")
    assert log.count("server_loaded") == 1
    assert sum(x.startswith("session_created") for x in log) == 2
    assert log.count("main ran") == 2
    assert kernel.value("len(app.sessions)") == 2

    kernel.execute("w1.close()")
    log = kernel.value("LOG")
    assert sum(x.startswith("session_destroyed") for x in log) == 1
    assert kernel.value("len(app.sessions)") == 1
    # the other session goes on
    assert texts(kernel, "w2") == ["dir app rows=3 who=ann"]

    kernel.client.shutdown()
    deadline = time.monotonic() + 20
    # (the hook's file exists from its open(), before its text is written: wait for that)
    while time.monotonic() < deadline and not (unloaded.exists() and unloaded.read_text()):
        time.sleep(0.1)
    assert unloaded.read_text() == "unloaded", "on_server_unloaded ran at kernel shutdown"


BAD_APPS = {
    "missing": ("nope/does_not_exist.py", "the path does not exist"),
    "no_main": ("empty_dir", "has no main.py"),
    "raises": ("raises.py", "boom at import"),
    "bad_theme": ("themed", "theme.yaml"),
    "not_an_app": ("notes.txt", "is not a Bokeh app"),
}


@pytest.mark.parametrize("case", sorted(BAD_APPS))
def test_bad_apps_say_which_file_and_what(kernel: Kernel, tmp_path: Path, case: str) -> None:
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "themed").mkdir()
    (tmp_path / "themed" / "main.py").write_text("pass\n")
    (tmp_path / "themed" / "theme.yaml").write_text("attrs: [unclosed\n")
    (tmp_path / "notes.txt").write_text("hello")
    name, problem = BAD_APPS[case]
    path = tmp_path / name
    kernel.execute(
        "import bokeh_nb\nfrom bokeh.models import Div\nok = bokeh_nb.BokehWidget(Div(text='fine'))"
    )
    msgs = kernel.execute(f"bokeh_nb.show({str(path)!r})", allow_error=True)
    [err] = [m for m in msgs if m["msg_type"] == "error"]
    text = err["content"]["evalue"]
    assert err["content"]["ename"] == "AppError"
    assert problem in text and name.split("/")[0] in text
    # nothing else in the kernel is affected
    assert texts(kernel, "ok") == ["fine"]
    assert kernel.value("len(bokeh_nb.kernel.runtime.runtime().outputs)") == 1

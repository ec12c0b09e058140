"""An app's own page template rendered in the kernel (``kernel/template.py``) and its
static files served only from below its ``static/`` (``server/appstatic.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bokeh.document import Document
from bokeh.models import Div
from tornado import web

from bokeh_nb.apps import AppError, as_application
from bokeh_nb.kernel.template import (
    TemplateError,
    has_template,
    render_template,
    syntax_error,
    template_frame,
)
from bokeh_nb.protocol import TEMPLATE_MSGTYPE
from bokeh_nb.server.appstatic import _static_file

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "template_app"


def app_doc(directory: Path) -> Document:
    doc = Document()
    as_application(directory).initialize_document(doc)
    return doc


def test_an_app_directory_template_renders_as_bokeh_serve_would(tmp_path: Path) -> None:
    app = tmp_path / "template_app"
    shutil.copytree(FIXTURE, app)
    doc = app_doc(app)
    assert has_template(doc)
    html = render_template(doc)
    assert "<title>Sales dashboard | Template app</title>" in html
    assert '<h1 id="tpl-heading">Sales dashboard</h1>' in html
    for root in doc.roots:  # each root where the template embeds it
        assert f'data-root-id="{root.id}"' in html
    # no BokehJS from anywhere, no embed script: the page brings its own
    assert "cdn.bokeh.org" not in html and "embed_items" not in html
    assert html.count("<script") == 1  # the template's own inline script
    frame = template_frame(html, doc, app / "static")
    assert frame["header"]["msgtype"] == TEMPLATE_MSGTYPE
    content = json.loads(frame["content"])
    assert content["prefix"] == "template_app/static/"
    assert content["root_ids"] == [root.id for root in doc.roots]
    assert frame["metadata"] == {"static": str(app / "static")}


def test_bokehs_default_page_is_no_template() -> None:
    doc = Document()
    doc.add_root(Div())
    assert not has_template(doc)


def test_a_template_that_fails_names_its_file_line_and_error(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURE, app)
    (app / "templates" / "index.html").write_text(
        "{% extends base %}\n{% block contents %}\n{{ nope.attr }}\n{% endblock %}\n"
    )
    with pytest.raises(TemplateError) as info:
        render_template(app_doc(app))
    assert str(info.value) == "templates/index.html, line 3: UndefinedError: 'nope' is undefined"
    assert str(tmp_path) not in str(info.value)


def test_a_template_bokeh_cannot_read_is_named_with_its_line(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURE, app)
    (app / "templates" / "index.html").write_text("{% extends base %}\n\n{{ x }\n")
    with pytest.raises(AppError) as info:
        as_application(app)
    assert syntax_error(info.value) == (
        "templates/index.html, line 3: TemplateSyntaxError: unexpected '}'"
    )
    assert syntax_error(ValueError("x")) is None


@pytest.mark.parametrize(
    "name",
    [
        "../main.py",
        "css/../../main.py",
        "/etc/passwd",
        ".secret",
        "css/.x.css",
        "link.css",
        "css",
        "a\\b.css",
        "missing.css",
        "",
    ],
)
def test_static_files_only_below_the_apps_static_directory(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    app = root / "app"
    shutil.copytree(FIXTURE, app)
    (app / "static" / ".secret").write_text("s")
    (app / "static" / "css" / ".x.css").write_text("s")
    (tmp_path / "outside.css").write_text("o")
    (app / "static" / "link.css").symlink_to(tmp_path / "outside.css")
    assert _static_file(app / "static", "css/styles.css", root, False).name == "styles.css"
    with pytest.raises(web.HTTPError) as info:
        _static_file(app / "static", name, root, False)
    assert info.value.status_code == 404

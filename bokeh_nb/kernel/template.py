"""An app's own page template, rendered for one standalone session as ``bokeh serve``
renders it, for the app page to show around the session's roots.

An app directory's ``templates/index.html`` becomes ``doc.template`` (bokeh's
``DirectoryHandler``), and an app's code may set ``doc.template`` and
``doc.template_variables`` itself. Under ``bokeh serve`` the page is that template
rendered by ``html_page_for_render_items``; here it is rendered with the same context
(``base``, ``macros``, ``doc``, ``docs``, ``roots``, ``title``, ``embed``, the app's
variables), but without BokehJS's resources and embed script: the page loads BokehJS from
the Jupyter server and renders the session with its own script, the one its CSP lets
run. The result travels to the page in one message of ``TEMPLATE_MSGTYPE``; an app with
bokeh's default template sends none and its page stays as it is.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bokeh.core.templates import FILE, MACROS
from bokeh.embed.elements import div_for_render_item
from bokeh.embed.util import RenderItem
from jinja2 import TemplateSyntaxError

from ..protocol import TEMPLATE_MSGTYPE
from ..wire import BokehFrame, bokeh_frame
from .visitor_text import describe

if TYPE_CHECKING:
    from bokeh.document import Document

__all__ = (
    "TemplateError",
    "has_template",
    "render_template",
    "syntax_error",
    "template_frame",
)


class TemplateError(Exception):
    """A template that could not be rendered: the message names its file and why."""


def has_template(doc: Document) -> bool:
    """Whether the document's page is a template of the app's own."""
    return doc.template is not FILE


def _shown_name(filename: str | None) -> str:
    """A template's file as a visitor may see it: ``templates/index.html`` of an app
    directory, the file's name for another (never a path of the kernel's machine)."""
    if not filename:
        return "the template set on the document"
    path = Path(filename)
    return f"{path.parent.name}/{path.name}" if path.parent.name == "templates" else path.name


def syntax_error(error: BaseException) -> str | None:
    """Where and what, if loading an app failed on its template's syntax (bokeh reads an
    app directory's template as it loads the app): ``templates/index.html, line 3:
    TemplateSyntaxError: ...``; None for any other error."""
    cause = error if isinstance(error, TemplateSyntaxError) else error.__cause__
    if not isinstance(cause, TemplateSyntaxError):
        return None
    return f"{_shown_name(cause.filename)}, line {cause.lineno}: {describe(cause)}"


def _line_of(error: BaseException, filename: str | None) -> int | None:
    """The template's line the error was raised at (jinja2 rewrites its tracebacks to
    point at the template's own lines)."""
    line = getattr(error, "lineno", None)
    tb = error.__traceback__
    while tb is not None:
        if filename is not None and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line if isinstance(line, int) else None


def render_template(doc: Document) -> str:
    """The document's template rendered as ``bokeh serve`` renders its page, less
    BokehJS's resources and embed script; TemplateError naming the template's file and
    what went wrong."""
    item = RenderItem(token="-", roots=doc.roots, use_for_title=False)
    context: dict[str, Any] = dict(doc.template_variables)
    context.update(
        title=doc.title,
        bokeh_js="",
        bokeh_css="",
        plot_script="",
        docs=[item],
        doc=item,
        roots=item.roots,
        base=FILE,
        macros=MACROS,
        plot_div=div_for_render_item(item),
    )
    try:
        return str(doc.template.render(context))
    except Exception as e:
        name = _shown_name(getattr(doc.template, "filename", None))
        line = _line_of(e, getattr(doc.template, "filename", None))
        where = f"{name}, line {line}" if line is not None else name
        raise TemplateError(f"{where}: {describe(e)}") from e


def template_frame(html: str, doc: Document, static: Path | None) -> BokehFrame:
    """The rendered template as the message a page gets: ``html``, the ids of the
    document's roots in order, and ``prefix``, how the template names the app's static
    files (``{app}/static/``, as under ``bokeh serve``). The metadata, for the server
    alone, says where those files are (``static``)."""
    header = {"msgid": uuid.uuid4().hex, "msgtype": TEMPLATE_MSGTYPE}
    content = {
        "html": html,
        "root_ids": [root.id for root in doc.roots],
        "prefix": f"{static.parent.name}/static/" if static is not None else None,
    }
    metadata = {"static": str(static)} if static is not None else {}
    return bokeh_frame(header, metadata, json.dumps(content), [])

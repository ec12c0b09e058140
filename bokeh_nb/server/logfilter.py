"""No credential in any log line of the Jupyter server, and no line of the extension's
that a visitor can forge.

``Scrubbing`` is a ``logging.Filter`` installed on the server's loggers and on every
handler they write through: each record's text (its message with its arguments, and a
traceback's text) loses the secret values of URLs (``?token=...``, ``_xsrf``, ...), share
tokens (in ``/bokeh-nb/s/<token>`` paths and anywhere else) and the values of
``Authorization``, ``Cookie`` and XSRF headers, wherever they are: in a summary line, in
the ``HTTPServerRequest(...)`` that tornado prints with an uncaught exception, in a
traceback.
In the extension's own lines (``bokeh_nb: ...``) the arguments, which may come from a
visitor, keep no control character: no newline that starts a forged log line.

``redact`` is the same for one URL, where it is known to be one: the server's request log
(``redacting``) and tornado's summary of a request (``_jupyter.LogScrubbing``) name
requests without their credentials.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tornado.web import RequestHandler

__all__ = ("Scrubbing", "install", "redact", "redacting", "scrub")

#: Query arguments whose values never reach a log line, in a URL (``redact``).
SECRET_ARGS = frozenset({"token", "auth", "key", "code", "state", "xsrf", "_xsrf"})
_SHARE_LINK = re.compile(r"(/bokeh-nb/s/)[^/?#]+")

#: Query arguments whose values never reach a log line, in any text (see also
#: ``SECRET_ARGS``).
_SECRET_QUERY = re.compile(
    r"((?:[?&;]|&amp;|\\u0026)(?:token|auth|key|code|state|xsrf|_xsrf|access_token)=)"
    r"[^&;\s'\"#<>\\]+",
    re.IGNORECASE,
)
_SHARE_PATH = re.compile(r"(/bokeh-nb/s/)(?!\[token\])[^/?#\s'\"\\]+")
_SECRET_HEADER = re.compile(
    r"((?:authorization|proxy-authorization|cookie|set-cookie|x-xsrftoken|x-csrftoken)"
    r"['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n]+",
    re.IGNORECASE,
)
#: a share link's token (``shares.py``: ``{id}.{signature}``) wherever it is; the id
#: names the link in log lines, the signature is the credential
_SHARE_TOKEN = re.compile(r"(?<![\w-])([\w-]{24})\.[\w-]{43}(?![\w-])", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
#: the extension's own log lines start so
PREFIX = "bokeh_nb:"


def scrub(text: str) -> str:
    """text without the credentials it names (see the module's text)."""
    text = _SECRET_QUERY.sub(r"\1[secret]", text)
    text = _SHARE_PATH.sub(r"\1[token]", text)
    text = _SHARE_TOKEN.sub(r"\1.[signature]", text)
    return _SECRET_HEADER.sub(r"\1[secret]", text)


def redact(uri: str) -> str:
    """uri without credentials: share tokens in the path and secret query values."""
    parts = urlsplit(_SHARE_LINK.sub(r"\1[token]", uri))
    if not parts.query:
        return urlunsplit(parts)
    query = [
        (k, "[secret]" if k.lower() in SECRET_ARGS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]/")))


def redacting(
    log_function: Callable[[RequestHandler], None],
) -> Callable[[RequestHandler], None]:
    """The server's request logger (tornado's ``log_function`` setting), with share
    tokens cut out of logged URLs and referers."""

    def log_request(handler: RequestHandler) -> None:
        request = handler.request
        uri, referer = request.uri, request.headers.get("Referer")
        if "/bokeh-nb/s/" not in (uri or "") + (referer or ""):
            log_function(handler)
            return
        request.uri = redact(uri or "")
        if referer is not None:
            request.headers["Referer"] = redact(referer)
        try:
            log_function(handler)
        finally:
            request.uri = uri
            if referer is not None:
                request.headers["Referer"] = referer

    return log_request


def _one_line(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL.sub("?", value)
    return value


class Scrubbing(logging.Filter):
    """Rewrites a record's text without credentials (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # a record that cannot be formatted is logging's own to report
        with contextlib.suppress(Exception):
            self._scrub(record)
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(PREFIX):
            if isinstance(record.args, tuple):
                record.args = tuple(_one_line(a) for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: _one_line(v) for k, v in record.args.items()}
        message = record.getMessage()
        clean = scrub(message)
        if clean != message or not isinstance(record.msg, str):
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)


#: the loggers the Jupyter server and tornado write through
LOGGERS = ("tornado", "tornado.access", "tornado.application", "tornado.general")


def install(server_log: logging.Logger) -> Scrubbing:
    """Scrub every record of the server's loggers and of every handler they write
    through (the server's, the root logger's and any other logger's handlers there are
    now); idempotent."""
    found = [f for f in server_log.filters if isinstance(f, Scrubbing)]
    scrubbing = found[0] if found else Scrubbing()
    loggers = [server_log, logging.getLogger(), *(logging.getLogger(n) for n in LOGGERS)]
    loggers += [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, Scrubbing) for f in target.filters):
                target.addFilter(scrubbing)
    return scrubbing

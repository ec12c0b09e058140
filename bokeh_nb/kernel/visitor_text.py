"""Text that came from a browser, made safe for a log line, a refusal or an ERROR reply.

Whatever a page or a share-link visitor sends may end up in an exception's message (bokeh
puts the whole offending value into a validation error) and from there in the kernel's
log, which the Jupyter server writes out as its own, and in the replies pages show. Here
it is shortened to a bounded excerpt with every control character escaped, so that no
message makes a huge log line or reply, and no newline from a visitor starts a line of
its own in the server's log.
"""

from __future__ import annotations

import re
import traceback

__all__ = ("EXCERPT", "describe", "excerpt", "format_traceback")

#: characters of someone else's text a log line or reply carries at most
EXCERPT = 200
#: characters a traceback sent to a notebook page carries at most
TRACEBACK_LIMIT = 20_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    return f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """At most about ``limit`` characters of str(value), control characters escaped, and
    how much was left out. Only the part kept is ever converted."""
    text = value if isinstance(value, str) else _bounded_str(value, limit)
    head = _CONTROL.sub(_escape, text[: limit + 1])
    if len(text) <= limit and len(head) <= limit:
        return head
    return f"{head[:limit]}… ({len(text)} characters)"


def _bounded_str(value: object, limit: int) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    try:
        return str(value)
    except Exception:  # a str() that fails says nothing useful either
        return f"<{type(value).__name__}>"


def describe(error: BaseException) -> str:
    """``Type: message`` for an exception, as a short escaped excerpt."""
    name = type(error).__name__
    return f"{name}: {excerpt(_bounded_str(error, EXCERPT), EXCERPT - len(name))}"


def format_traceback(error: BaseException, limit: int = TRACEBACK_LIMIT) -> str:
    """The traceback of error (and of the exceptions it came from) with each exception's
    message shortened and escaped, and the whole bounded: the source lines of the stack
    come from files, the messages may carry what a browser sent."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(parts) < 10:
        seen.add(id(current))
        stack = traceback.extract_tb(current.__traceback__)
        frames = "".join(stack.format())
        parts.append(f"Traceback (most recent call last):\n{frames}{describe(current)}\n")
        current = current.__cause__ or current.__context__
    text = "\nThe above exception led to the following one:\n\n".join(reversed(parts))
    return text if len(text) <= limit else f"… ({len(text)} characters)\n{text[-limit:]}"

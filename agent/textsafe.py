"""Text that crosses a trust boundary: file names, policy text, user input, URLs shown to people.

Pure functions with no project imports, so every layer (tools, graphs, agent, CLI) can use them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a reader sees.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_TEXT = re.compile(f"[{_CONTROLS}{_BIDI}]")
_UNSAFE_IN_NAME = re.compile(f"[\t\n{_CONTROLS}{_BIDI}]")
_SECRET_KEY = re.compile(r"key|token|secret|password|passwd|pwd|sig|signature|auth|credential", re.IGNORECASE)


def valid_unicode(text: str) -> str:
    """Replace lone surrogates (undecodable bytes smuggled in by argv or stdin) with U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode(
            "utf-8", "replace"
        ).decode("utf-8")


def clean_text(text: str) -> str:
    """Valid Unicode without terminal control sequences; tabs and newlines stay."""
    return _UNSAFE_IN_TEXT.sub("", valid_unicode(text))


def printable(name: str) -> str:
    """A name safe to print on one line: controls become visible escapes (``\\x1b``), never bytes."""
    name = valid_unicode(name)
    return _UNSAFE_IN_NAME.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), name)


def redact_url(url: str | None) -> str | None:
    """A URL without embedded credentials: user:password@ and secret-looking query values."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rpartition("@")[2]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, "***" if _SECRET_KEY.search(k) else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "(unparseable URL hidden)"


def markup_safe(text: str) -> str:
    """One line of stored or untrusted text for a rich console: no escapes, no rich markup."""
    from rich.markup import escape

    return escape(printable(text))

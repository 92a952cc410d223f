"""Text from HubSpot made safe for the people who read it: terminals and spreadsheets.

A company name is whatever someone typed or imported. In a terminal, control characters (ESC,
BEL, NUL) can clear the screen or set the window's title, and bidirectional overrides (U+202E)
make text read backwards; in a spreadsheet, a cell that starts with ``=``, ``+``, ``-`` or ``@``
is run as a formula. Slack's escaping lives with the webhook (``integrations.webhook``).
"""

from __future__ import annotations

import re
import unicodedata

# Cc: C0/C1 controls (ESC, BEL, NUL, DEL...); Cf: format characters (bidi overrides and
# isolates, zero-width joiners) that change how the rest of a line is shown.
_INVISIBLE = {"Cc", "Cf"}
# OWASP's CSV injection guidance: these first characters make a spreadsheet evaluate a cell.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def for_terminal(text: str) -> str:
    """Every control or format character shown as its escape (``\\x1b``, ``\\u202e``): visible,
    and inert. Plain spaces stay; newlines and tabs are escaped too (a table cell is one line)."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)


def inert(value: object) -> object:
    """A JSON document (or a message) with every string in it ``for_terminal``: a bidirectional
    override or a control code from HubSpot reaches no reader raw, through any tool."""
    if isinstance(value, str):
        return for_terminal(value)
    if isinstance(value, dict):
        return {inert(key): inert(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [inert(item) for item in value]
    return value


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def csv_cell(value: object) -> str:
    """A CSV cell no spreadsheet runs as a formula: a leading ``'`` where one would start (a
    plain number such as ``-120.00`` stays a number), and control characters escaped."""
    text = for_terminal("" if value is None else str(value))
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text

"""Plain text tables for the terminal: wrapped or cut cells, wide characters counted double."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Sequence

from babel.dates import format_date

from worker.safe_text import for_terminal


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, widths: dict[int, int] | None = None, wrap: dict[int, int] | None = None) -> str:
    """A plain text table. Cells of a ``wrap`` column run over as many lines as they need at that
    width (a message or a subject is read whole); other long cells are cut to ``widths`` (an id or
    an email stays on one line). Widths are terminal columns: wide characters count double."""
    widths, wrap = widths or {}, wrap or {}
    cells = [[_one_line(for_terminal(str(cell))) for cell in row] for row in rows]
    wrapped = [[_wrap(cell, wrap[i]) if i in wrap else [_cut(cell, widths.get(i, 40))] for i, cell in enumerate(row)] for row in cells]
    sizes = [max([_width(header[i])] + [_width(line) for row in wrapped for line in row[i]]) for i in range(len(header))]
    lines = ["  ".join(_pad(h, sizes[i]) for i, h in enumerate(header)).rstrip(), "  ".join("-" * s for s in sizes)]
    for row in wrapped:
        for n in range(max(len(parts) for parts in row)):
            lines.append("  ".join(_pad(parts[n] if n < len(parts) else "", sizes[i]) for i, parts in enumerate(row)).rstrip())
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """Line breaks and runs of spaces as one space; a no-break space stays (1.200,00 US$ is one word)."""
    return " ".join(_ASCII_SPACE.split(text)).strip()


_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def _wrap(text: str, limit: int) -> list[str]:
    """``text`` in lines of at most ``limit`` terminal columns, broken between words; a word longer
    than a line is broken where it must."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        while _width(word) > limit:
            if line:
                lines.append(line)
                line = ""
            head, word = _split_at(word, limit)
            lines.append(head)
        if not line:
            line = word
        elif _width(line) + 1 + _width(word) <= limit:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    return lines


def _split_at(word: str, limit: int) -> tuple[str, str]:
    """The longest head of ``word`` that fits ``limit`` columns (at least one character), and the rest."""
    used = 0
    for index, ch in enumerate(word):
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > limit:
            return word[: max(index, 1)], word[max(index, 1) :]
    return word, ""


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, size: int) -> str:
    return text + " " * (size - _width(text))


def short_day(value: date | None, language: str) -> str:
    """A date on one line as people of the language write it: Dec 9, 2026 / 9 dic 2026."""
    return format_date(value, format="medium", locale=language) if value else ""

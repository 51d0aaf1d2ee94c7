"""A tiny, safe markdown-to-HTML renderer for model cards (no dependency).

The subset covers what `zoo` model cards use: ``#`` headings, paragraphs, ``|`` tables with a
``|---|`` separator row, fenced code blocks (```), ``-``/``*`` bullet lists, and inline
``code``, ``**bold**``, ``*italic*`` and ``[links](https://...)``. A YAML front matter block
(``---`` ... ``---`` at the very top, the Hugging Face card metadata) is dropped.

Everything is HTML-escaped first: raw HTML in a card is shown as text, never interpreted. Links
keep only ``http``, ``https``, ``mailto`` and relative targets (no ``javascript:``).
"""

from __future__ import annotations

import html
import re

__all__ = ["render_markdown", "strip_front_matter"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_SAFE_URL = re.compile(r"^(https?://|mailto:|#|\./|\.\./|[\w.-]+(/|$|#|\?))", re.IGNORECASE)


def strip_front_matter(text: str) -> str:
    """``text`` without a leading YAML front matter block (``---`` lines); unchanged otherwise."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                return "".join(lines[i + 1 :]).lstrip("\r\n")
    return text


def _inline_plain(text: str) -> str:
    out = html.escape(text, quote=True)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), html.unescape(match.group(2))
        if ":" in url.split("/")[0] and not _SAFE_URL.match(url):
            return match.group(0)  # javascript:, data:, ... stay visible as text
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'

    out = _LINK.sub(link, out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _ITALIC.sub(r"<em>\1</em>", out)


def _inline(text: str) -> str:
    """Escape ``text`` and apply the inline rules; code spans are literal."""
    parts: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(_inline_plain(text[last : match.start()]))
        parts.append(f"<code>{html.escape(match.group(2).strip(), quote=True)}</code>")
        last = match.end()
    parts.append(_inline_plain(text[last:]))
    return "".join(parts)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]


def _table(header: str, rows: list[str]) -> str:
    head = "".join(f"<th>{_inline(c)}</th>" for c in _cells(header))
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_markdown(text: str, *, heading_offset: int = 0) -> str:
    """Render the markdown subset above to an HTML fragment.

    Args:
        text: markdown (a model card). A YAML front matter block is dropped.
        heading_offset: added to every heading level (capped at 6), so that a card's ``#`` title
            sits below the page's own headings. Default 0.

    Returns:
        An HTML fragment in which every character of ``text`` that is not markdown syntax is
        escaped.

    Raises:
        TypeError: ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"Unexpected type for `text`: expected str, found {type(text).__name__}")
    lines = strip_front_matter(text.replace("\r\n", "\n")).split("\n")
    blocks: list[str] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append("<p>" + _inline(" ".join(s.strip() for s in paragraph)) + "</p>")
            paragraph.clear()
        if bullets:
            blocks.append("<ul>" + "".join(f"<li>{_inline(b)}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
                code.append(lines[i])
                i += 1
            lang = f' class="language-{fence.group(2)}"' if fence.group(2) else ""
            blocks.append(f"<pre><code{lang}>{html.escape(chr(10).join(code), quote=True)}</code></pre>")
            i += 1  # the closing fence (or the end of the text)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + heading_offset)
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif "|" in line and i + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[i + 1]) and "|" in lines[i + 1]:
            flush()
            rows: list[str] = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(lines[i])
                i += 1
            blocks.append(_table(line, rows))
            continue
        elif _BULLET.match(line):
            if paragraph:
                flush()
            bullets.append(_BULLET.match(line).group(1))  # type: ignore[union-attr]
        elif not line.strip():
            flush()
        elif bullets and line.startswith((" ", "\t")):
            bullets[-1] += " " + line.strip()  # a wrapped list item
        else:
            if bullets:
                flush()
            paragraph.append(line)
        i += 1
    flush()
    return "\n".join(blocks)

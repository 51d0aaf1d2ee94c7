"""The card renderer: the markdown subset (headings, tables, paragraphs, lists, code) and escaping."""

from __future__ import annotations

import re

import pytest

from zoo.report import render_markdown
from zoo.report.markdown import strip_front_matter


def test_headings_paragraphs_and_offset() -> None:
    out = render_markdown("# Title\n\nfirst line\nsame paragraph\n\n### Small ###\n\nsecond")
    assert out.split("\n") == ["<h1>Title</h1>", "<p>first line same paragraph</p>", "<h3>Small</h3>", "<p>second</p>"]
    assert render_markdown("# T\n###### six", heading_offset=2) == "<h3>T</h3>\n<h6>six</h6>"


def test_table() -> None:
    out = render_markdown("| metric | value |\n|---|:---:|\n| esr | `0.1` |\n| a \\| b | **2** |\n\nafter")
    assert out == (
        "<table><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>"
        "<tr><td>esr</td><td><code>0.1</code></td></tr><tr><td>a \\| b</td><td><strong>2</strong></td></tr>"
        "</tbody></table>\n<p>after</p>"
    )


def test_fenced_code_is_literal() -> None:
    out = render_markdown("```python\nx = a < b and **c**\n# not a heading\n```\ntext")
    assert out == '<pre><code class="language-python">x = a &lt; b and **c**\n# not a heading</code></pre>\n<p>text</p>'


def test_inline_and_lists() -> None:
    out = render_markdown("- one *it*\n- two [link](https://example.org/a?b=1&c=2)\n  continued\n\nplain `a<b>` end")
    assert out == (
        '<ul><li>one <em>it</em></li><li>two <a href="https://example.org/a?b=1&amp;c=2">link</a> continued</li></ul>\n'
        "<p>plain <code>a&lt;b&gt;</code> end</p>"
    )


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "| <b>x</b> |\n|---|\n| <i>y</i> |", "# <h1>"],
)
def test_html_in_a_card_is_shown_as_text(text: str) -> None:
    out = render_markdown(text)
    for tag in ("<script", "<img", "<b>", "<i>", "<h1><h1>"):
        assert tag not in out
    assert "&lt;" in out


def test_unsafe_links_stay_text() -> None:
    out = render_markdown('[x](javascript:alert(1)) [y](data:text/html,hi) [z](docs/results.md)')
    assert "href=\"javascript" not in out and "href=\"data" not in out
    assert '<a href="docs/results.md">z</a>' in out


def test_front_matter_is_dropped() -> None:
    card = "---\nlibrary_name: zoo\ntags: [a]\n---\n\n# name\n"
    assert strip_front_matter(card) == "# name\n"
    assert render_markdown(card) == "<h1>name</h1>"
    assert strip_front_matter("no front matter\n---\n") == "no front matter\n---\n"
    with pytest.raises(TypeError, match="text"):
        render_markdown(None)  # type: ignore[arg-type]


def test_shipped_cards_render(tmp_path) -> None:
    from pathlib import Path

    from zoo import hub

    for name in hub.list_checkpoints():
        card = (Path(hub.resolve_checkpoint(name)) / "README.md").read_text()
        out = render_markdown(card)
        separators = [line for line in card.splitlines() if re.fullmatch(r"\|(---\|)+", line.strip())]
        assert out.count("<table>") == len(separators) and "<pre><code" in out and "library_name" not in out

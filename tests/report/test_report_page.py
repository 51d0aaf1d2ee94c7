"""`write_report`: page structure, escaping, offline assets, clip length, refusing to overwrite."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zoo.report import MAX_CLIP_S, Clip, Image, ReportSection, Table, check_out_dir, is_report_dir, write_report



def tone(seconds: float, sample_rate: int = 8000) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(int(seconds * sample_rate)) / sample_rate)).astype(np.float32)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(index: Path) -> _Collect:
    parser = _Collect()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


def test_structure_players_images_tables(tmp_path: Path, section: ReportSection) -> None:
    index = write_report(tmp_path / "page", title="Title", sections=[section, ReportSection("Second")], card_markdown="# Card\n\ntext")
    assert index == tmp_path / "page" / "index.html"
    page = _parse(index)
    audios = [a for tag, a in page.tags if tag == "audio"]
    images = [a for tag, a in page.tags if tag == "img"]
    assert len(audios) == 2 and all("controls" in a for a in audios)
    assert len(images) == 1 and int(images[0]["width"]) > 0 and int(images[0]["height"]) > 0
    # every asset sits beside the page, with the exact length of its clip
    for audio, seconds in zip(audios, (1.0, 1.0)):
        file = tmp_path / "page" / audio["src"]
        assert sf.info(str(file)).duration == pytest.approx(seconds) and sf.info(str(file)).subtype == "PCM_16"
    assert (tmp_path / "page" / images[0]["src"]).read_bytes()[:4] == b"\x89PNG"
    assert sum(tag == "table" for tag, _ in page.tags) == 1
    assert sum(tag == "section" for tag, _ in page.tags) == 3  # two sections + the card
    html = index.read_text()
    assert "<title>Title</title>" in html and "0.01235" in html and "&mdash;" in html  # 4 significant digits, NaN
    assert [a["href"] for tag, a in page.tags if tag == "a" and a.get("href", "").startswith("#")] == ["#a-tone-co", "#second"]


def test_text_is_escaped(tmp_path: Path, section: ReportSection) -> None:
    evil = ReportSection(title="<script>alert(1)</script>", text='"quoted" & <i>', tables=[Table("<t>", ["<h>"], [["<c>"]])])
    index = write_report(tmp_path / "page", title="<b>page</b>", sections=[section, evil], intro="a <tag>")
    html = index.read_text()
    assert "<script>" not in html and "<b>page" not in html and "<i>" not in html and "<c>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;page&lt;/b&gt;" in html
    assert "A &lt;tone&gt; &amp; co" in html and "dry &amp; wet &lt;b&gt;" in html


def test_page_is_offline(tmp_path: Path, section: ReportSection) -> None:
    index = write_report(tmp_path / "page", title="t", sections=[section], card_markdown="[paper](https://arxiv.org/abs/2404.07970)")
    html = index.read_text()
    page = _parse(index)
    sources = [a.get("src") for tag, a in page.tags if a.get("src")] + [a.get("href") for tag, a in page.tags if tag == "link"]
    assert sources and not [s for s in sources if re.match(r"^(https?:)?//", s or "")]
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert "base64" not in html
    # a link in the card is text to click, not an asset the page loads
    assert '<a href="https://arxiv.org/abs/2404.07970">paper</a>' in html


def test_clips_longer_than_ten_seconds_are_refused(tmp_path: Path) -> None:
    ok = Clip("ten", np.zeros(int(MAX_CLIP_S * 100)), 100)
    write_report(tmp_path / "ok", title="t", sections=[ReportSection("s", clips=[ok])])
    long = Clip("long", np.zeros(int(MAX_CLIP_S * 100) + 1), 100)
    with pytest.raises(ValueError, match="'long'.*at most 10 s"):
        write_report(tmp_path / "long", title="t", sections=[ReportSection("s", clips=[long])])
    assert not (tmp_path / "long").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ok"]  # no temporary folder left behind


def test_refuses_to_overwrite_without_force(tmp_path: Path, section: ReportSection) -> None:
    out = tmp_path / "page"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty.*force"):
        write_report(out, title="t", sections=[section])
    with pytest.raises(FileExistsError):
        check_out_dir(out)
    assert (out / "mine.txt").read_text() == "keep me" and not is_report_dir(out)
    write_report(out, title="t", sections=[section], force=True)
    assert not (out / "mine.txt").exists() and is_report_dir(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        write_report(tmp_path / "file", title="t", sections=[section], force=True)


def test_an_empty_existing_folder_is_used(tmp_path: Path, section: ReportSection) -> None:
    (tmp_path / "page").mkdir()
    assert write_report(tmp_path / "page", title="t", sections=[section]).is_file()


def test_file_names(tmp_path: Path, small_png: bytes) -> None:
    sections = [
        ReportSection("Same", clips=[Clip("dry", tone(0.1), 8000), Clip("dry", tone(0.1), 8000)]),
        ReportSection("Same", clips=[Clip("x", tone(0.1), 8000, filename="fx_dry.wav")], images=[Image("a", small_png, filename="fx.png")]),
    ]
    write_report(tmp_path / "page", title="t", sections=sections, extra_files={"demo.png": small_png})
    assert sorted(p.name for p in (tmp_path / "page").iterdir()) == [
        "demo.png", "fx.png", "fx_dry.wav", "index.html", "same_dry-2.wav", "same_dry.wav",
    ]
    with pytest.raises(ValueError, match="used twice"):
        twice = [Clip("a", tone(0.1), 8000, filename="a.wav"), Clip("b", tone(0.1), 8000, filename="a.wav")]
        write_report(tmp_path / "twice", title="t", sections=[ReportSection("s", clips=twice)])
    with pytest.raises(ValueError, match="filename"):
        Clip("a", tone(0.1), 8000, filename="../escape.wav")
    with pytest.raises(ValueError, match="extra_files"):
        write_report(tmp_path / "bad", title="t", sections=[], extra_files={"../x.png": small_png})


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match="PNG"):
        Image("not a png", b"GIF89a")
    with pytest.raises(ValueError, match="shape"):
        Clip("empty", np.zeros(0), 8000)
    with pytest.raises(ValueError, match="sample_rate"):
        Clip("rate", np.zeros(10), 0)
    with pytest.raises(ValueError, match="row length"):
        Table("t", ["a", "b"], [[1]])


def test_loud_clips_are_clipped_not_wrapped(tmp_path: Path) -> None:
    loud = Clip("loud", np.array([2.0, -3.0, 0.5, np.nan], dtype=np.float32), 100)
    write_report(tmp_path / "page", title="t", sections=[ReportSection("s", clips=[loud])])
    data, _ = sf.read(str(tmp_path / "page" / "s_loud.wav"))
    np.testing.assert_allclose(data, [1.0, -1.0, 0.5, 0.0], atol=1e-4)

"""The page writer: `write_report` turns `ReportSection` objects into an offline listening page.

The folder it writes is self-contained and works from a USB stick or ``file://``: ``index.html``
with its CSS inline and no script, every clip as a 16-bit wav file and every image as a PNG file
beside it (never base64, never a CDN). See `zoo.report` for the public API.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .markdown import render_markdown

__all__ = ["MAX_CLIP_S", "GENERATOR", "Clip", "Image", "Table", "ReportSection", "write_report", "is_report_dir", "check_out_dir"]

#: the longest clip (s) a page may hold: pages are for listening, not for archiving recordings
MAX_CLIP_S = 10.0
#: the ``<meta name="generator">`` of every page, so `is_report_dir` recognises our own output
GENERATOR = "zoo report"
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "item"


@dataclass(frozen=True)
class Clip:
    """One audio player: a label and its samples.

    Args:
        label: what it is ("dry", "real effect", "our model"...), shown above the player.
        samples: the audio, ``(T,)`` or ``(C, T)``, float in [-1, 1] (louder samples are clipped
            when written as 16-bit PCM).
        sample_rate: (Hz), > 0.
        filename: the wav's name beside the page (``[A-Za-z0-9._-]``, ending in ``.wav``).
            Default: made from the section title and the label.

    Raises:
        ValueError: empty audio, a bad shape or rate, or a bad file name.
    """

    label: str
    samples: np.ndarray
    sample_rate: int
    filename: str | None = None

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
            raise ValueError(f"Unexpected shape for the samples of clip {self.label!r}: expected (T,) or (C, T) with T > 0, found {samples.shape}")
        if not int(self.sample_rate) > 0:
            raise ValueError(f"Unexpected value for the sample_rate of clip {self.label!r}: expected > 0 (Hz), found {self.sample_rate}")
        if self.filename is not None and (not _FILENAME.match(self.filename) or not self.filename.endswith(".wav")):
            raise ValueError(f"Unexpected value for `filename`: expected a plain name like 'dry.wav', found {self.filename!r}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def duration_s(self) -> float:
        """Length (s)."""
        return self.samples.shape[-1] / self.sample_rate


@dataclass(frozen=True)
class Image:
    """One PNG image with a caption.

    Args:
        caption: shown under the image (and its ``alt`` text).
        png: the PNG file's bytes (see `zoo.report.plots`, which returns them).
        filename: its name beside the page (``[A-Za-z0-9._-]``, ending in ``.png``). Default: made
            from the section title and the caption.

    Raises:
        ValueError: ``png`` is not a PNG, or a bad file name.
    """

    caption: str
    png: bytes
    filename: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.png, (bytes, bytearray)) or self.png[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError(f"Unexpected value for the png of image {self.caption!r}: expected the bytes of a PNG file")
        if self.filename is not None and (not _FILENAME.match(self.filename) or not self.filename.endswith(".png")):
            raise ValueError(f"Unexpected value for `filename`: expected a plain name like 'curve.png', found {self.filename!r}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, read from the PNG header."""
        return struct.unpack(">II", bytes(self.png[16:24]))


@dataclass(frozen=True)
class Table:
    """A small table: numbers are shown with 4 significant digits, NaN/None as an em dash.

    Args:
        caption: shown above the table.
        header: column names.
        rows: cells (str, int, float or None), each row as long as ``header``.

    Raises:
        ValueError: a row whose length differs from the header's.
    """

    caption: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"Unexpected row length in table {self.caption!r}: expected {len(self.header)} cells, found {len(row)}")


@dataclass(frozen=True)
class ReportSection:
    """One block of the page: a heading, a note, players, images, tables and an optional card.

    Args:
        title: the section's heading.
        text: a plain-text note under the heading (escaped, not markdown). Default "".
        clips: players shown side by side (e.g. dry / real effect / our model). Default none.
        images: PNGs (spectrograms, learned controls, fit curve). Default none.
        tables: metrics, learned parameters... Default none.
        card_markdown: a model card shown folded at the end of the section (the demo page has one
            per checkpoint). Default None.
    """

    title: str
    text: str = ""
    clips: Sequence[Clip] = ()
    images: Sequence[Image] = ()
    tables: Sequence[Table] = ()
    card_markdown: str | None = None


_CSS = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fbfbfd; --muted: #6e6e73; --line: #d2d2d7; --box: #fff; }
@media (prefers-color-scheme: dark) { :root { --fg: #f5f5f7; --bg: #161617; --muted: #a1a1a6; --line: #3a3a3c; --box: #1f1f21; } }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
       max-width: 1180px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid var(--line); }
nav a { margin-right: 1rem; } .note { color: var(--muted); }
section { margin-bottom: 2rem; }
.players { display: flex; flex-wrap: wrap; gap: 1rem; margin: .8rem 0; }
.players figure { margin: 0; padding: .6rem .8rem; background: var(--box); border: 1px solid var(--line); border-radius: 8px; }
.players figcaption { font-weight: 600; margin-bottom: .3rem; } .players audio { width: 300px; display: block; }
.players .dur { font-weight: 400; color: var(--muted); font-size: .85em; }
.images figure { margin: 1rem 0; } .images img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.images figcaption, table caption { color: var(--muted); font-size: .9em; text-align: left; }
.tables { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: .25rem .6rem; text-align: left; } td.num { text-align: right; }
pre { background: var(--box); border: 1px solid var(--line); border-radius: 6px; padding: .7rem; overflow-x: auto; }
details.card, section.card { background: var(--box); border: 1px solid var(--line); border-radius: 8px; padding: .4rem 1rem; }
details.card summary { cursor: pointer; font-weight: 600; }
footer { color: var(--muted); font-size: .85em; margin-top: 3rem; }
"""


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return '<td class="num">&mdash;</td>'
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{value}</td>"
    if isinstance(value, (int, np.integer)):
        return f'<td class="num">{int(value)}</td>'
    if isinstance(value, (float, np.floating)):
        return f'<td class="num">{float(value):.4g}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    return f"<table><caption>{html.escape(table.caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _unique(name: str, used: set[str]) -> str:
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{stem}-{n}{dot}{ext}", n + 1
    used.add(candidate)
    return candidate


def _write_wav(path: Path, clip: Clip) -> None:
    import soundfile

    audio = np.clip(np.nan_to_num(clip.samples, nan=0.0), -1.0, 1.0)
    soundfile.write(str(path), audio.T if audio.ndim == 2 else audio, clip.sample_rate, subtype="PCM_16")


def is_report_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a page written by `write_report` (its index.html names the generator)."""
    index = Path(path) / "index.html"
    try:
        return f'<meta name="generator" content="{GENERATOR}">' in index.read_text(errors="replace")[:2000]
    except OSError:
        return False


def check_out_dir(out_dir: str | os.PathLike, force: bool = False) -> None:
    """Refuse a file, or a non-empty folder unless ``force``: call it before the expensive work.

    Raises:
        FileExistsError: as `write_report`.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder: choose another output folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise FileExistsError(f"{out_dir} exists and is not empty: choose another output folder or pass force=True (--force) to replace it")


def _install(tmp: Path, out_dir: Path) -> None:
    """Move the finished ``tmp`` folder to ``out_dir``; an old ``out_dir`` is removed only after."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rename(out_dir, old / "previous")
    os.rename(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_report(
    out_dir: str | os.PathLike,
    *,
    title: str,
    sections: Sequence[ReportSection],
    card_markdown: str | None = None,
    intro: str = "",
    extra_files: Mapping[str, bytes] | None = None,
    force: bool = False,
) -> Path:
    """Write ``out_dir/index.html`` with its clips (wav) and images (PNG) beside it.

    The page is built in a temporary folder beside ``out_dir`` and renamed into place when
    complete, so an interrupted run never leaves half a page.

    Args:
        out_dir: the folder to write (created; its parent too).
        title: the page title (``<title>`` and ``<h1>``).
        sections: the blocks of the page, in order.
        card_markdown: a model card (markdown, see `zoo.report.markdown`) shown after the sections.
            Default None.
        intro: a plain-text note under the title. Default "".
        extra_files: more files to write beside the page, name -> bytes (e.g. ``demo.png``).
        force: replace an existing non-empty ``out_dir``. Default False.

    Returns:
        The path of ``index.html``.

    Raises:
        FileExistsError: ``out_dir`` is a file, or a non-empty folder and ``force`` is False.
        ValueError: a clip longer than `MAX_CLIP_S`, two files with the same name, or a bad extra
            file name.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    for section in sections:
        for clip in section.clips:
            if clip.duration_s > MAX_CLIP_S + 1e-9:
                raise ValueError(
                    f"Unexpected length for clip {clip.label!r} of section {section.title!r}: expected at most "
                    f"{MAX_CLIP_S:g} s, found {clip.duration_s:.2f} s; trim it first"
                )
    extra_files = dict(extra_files or {})
    for name in extra_files:
        if not _FILENAME.match(name) or name == "index.html":
            raise ValueError(f"Unexpected name in `extra_files`: expected a plain file name, found {name!r}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the page from a web server's user
    try:
        used = set(extra_files) | {"index.html"}
        for name, data in extra_files.items():
            (tmp / name).write_bytes(data)
        body = [f"<h1>{html.escape(title)}</h1>"]
        if intro:
            body.append(f'<p class="note">{html.escape(intro)}</p>')
        taken: set[str] = set()
        ids = [_unique(_slug(s.title), taken) for s in sections]
        if len(sections) > 1:
            body.append("<nav>" + "".join(f'<a href="#{i}">{html.escape(s.title)}</a>' for i, s in zip(ids, sections)) + "</nav>")
        for section_id, section in zip(ids, sections):
            body.append(_section_html(tmp, section, section_id, used))
        if card_markdown:
            body.append(f'<section class="card" id="card"><h2>Model card</h2>{render_markdown(card_markdown, heading_offset=2)}</section>')
        body.append(f"<footer>Written by {GENERATOR}: every clip and image is a file beside this page; it works offline.</footer>")
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="generator" content="{GENERATOR}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n"
            # no favicon request: a 404 for /favicon.ico would be the page's only network error
            '<link rel="icon" href="data:,">\n'
            "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
        )
        (tmp / "index.html").write_text(page, encoding="utf-8")
        check_out_dir(out_dir, force)  # it may have appeared while we worked
        _install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "index.html"


def _asset_name(explicit: str | None, default: str, used: set[str]) -> str:
    """The file name of a clip or image beside the page: an explicit name must be unused; a default is made unique."""
    if explicit and explicit in used:
        raise ValueError(f"Unexpected value for `filename`: {explicit!r} is used twice on the page")
    return _unique(explicit or default, used)


def _section_html(folder: Path, section: ReportSection, section_id: str, used: set[str]) -> str:
    parts = [f'<section id="{section_id}"><h2>{html.escape(section.title)}</h2>']
    if section.text:
        parts.append(f'<p class="note">{html.escape(section.text)}</p>')
    if section.clips:
        parts.append('<div class="players">')
        for clip in section.clips:
            name = _asset_name(clip.filename, f"{section_id}_{_slug(clip.label)}.wav", used)
            _write_wav(folder / name, clip)
            parts.append(
                f'<figure><figcaption>{html.escape(clip.label)} <span class="dur">{clip.duration_s:.1f} s</span></figcaption>'
                f'<audio controls preload="metadata" src="{html.escape(name)}"></audio></figure>'
            )
        parts.append("</div>")
    if section.images:
        parts.append('<div class="images">')
        for image in section.images:
            name = _asset_name(image.filename, f"{section_id}_{_slug(image.caption.split(':')[0])[:40]}.png", used)
            (folder / name).write_bytes(bytes(image.png))
            width, height = image.size
            caption = html.escape(image.caption)
            parts.append(
                f'<figure><img src="{html.escape(name)}" alt="{caption}" width="{width}" height="{height}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
        parts.append("</div>")
    if section.tables:
        parts.append('<div class="tables">' + "".join(_table_html(t) for t in section.tables) + "</div>")
    if section.card_markdown:
        parts.append(f'<details class="card"><summary>Model card</summary>{render_markdown(section.card_markdown, heading_offset=2)}</details>')
    parts.append("</section>")
    return "\n".join(parts)


"""Listening pages: an offline ``index.html`` that plays the dry signal, the real effect and our model.

One page per checkpoint (``zoo report``), one for every shipped checkpoint (``zoo demo``), and one
for any caller that builds `ReportSection` objects itself (``zoo fit``, notebooks)::

    from zoo.report import Clip, Image, ReportSection, Table, write_report
    from zoo.report.plots import spectrograms_png

    section = ReportSection(
        title="my phaser",
        text="A plucked phrase through the pedal and through our model.",
        clips=[Clip("dry", dry, 44100), Clip("real effect", wet, 44100), Clip("our model", pred, 44100)],
        images=[Image("Spectrograms", spectrograms_png([("dry", dry, 44100), ("ours", pred, 44100)]))],
        tables=[Table("Metrics", ["metric", "value"], [["ESR", 0.012]])],
    )
    index = write_report(Path("out/page"), title="My phaser", sections=[section],
                         card_markdown=Path("README.md").read_text(), force=False)

The stable API (everything else is internal):

- ``write_report(out_dir, *, title, sections, card_markdown=None, intro="", extra_files=None,
  force=False) -> Path`` (`zoo.report.page.write_report`): writes ``out_dir/index.html`` and, beside
  it, one 16-bit wav per `Clip` (at most `MAX_CLIP_S` = 10 s each, else ValueError) and one PNG per
  `Image`. CSS is inline, there is no script and no external URL, so the page works offline. The
  folder is built in a temporary folder beside ``out_dir`` and renamed into place; a non-empty
  ``out_dir`` is refused (FileExistsError) unless ``force``.
- `ReportSection` (title, text, clips, images, tables, card_markdown), `Clip` (label, samples,
  sample_rate, filename), `Image` (caption, png bytes, filename), `Table` (caption, header, rows).
- `check_out_dir(out_dir, force)`: the same refusal, to call before expensive work.
- `is_report_dir(path)`: whether ``path`` holds a page written here.
- `render_markdown(text)`: the card renderer (escaped; headings, tables, paragraphs, lists, code).
- `report_checkpoint(checkpoint_or_run, out_dir, *, input_path=None, force=False, duration_s=4.0,
  seed=0) -> Path`: the ``zoo report`` page of a checkpoint or run.
- `zoo.report.plots`: ``spectrograms_png``, ``curves_png``, ``fit_curve_png`` (PNG bytes);
  `zoo.report.sections.effect_section`: a full block for one effect run
  (`zoo.report.clips.performance`).
- `zoo.report.cli.register_report(subparsers)`: the ``zoo report`` subcommand.
"""

from __future__ import annotations

from .build import report_checkpoint
from .markdown import render_markdown
from .page import MAX_CLIP_S, Clip, Image, ReportSection, Table, check_out_dir, is_report_dir, write_report

__all__ = [
    "MAX_CLIP_S",
    "Clip",
    "Image",
    "ReportSection",
    "Table",
    "check_out_dir",
    "is_report_dir",
    "render_markdown",
    "report_checkpoint",
    "write_report",
]

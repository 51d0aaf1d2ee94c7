"""`zoo demo` replaces its own earlier output, and only that, without --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.demo import _earlier_demo, run_demo
from zoo.report import ReportSection, write_report


def test_earlier_output_is_recognised(tmp_path: Path) -> None:
    write_report(tmp_path / "page", title="t", sections=[ReportSection("s")])
    assert _earlier_demo(tmp_path / "page")
    legacy = tmp_path / "legacy"  # the wavs + demo.png written before the page existed
    legacy.mkdir()
    for name in ("demo.png", "phaser-pedalboard_dry.wav", "phaser-pedalboard_model.wav", "phaser-pedalboard_real.wav"):
        (legacy / name).write_bytes(b"x")
    assert _earlier_demo(legacy)
    (legacy / "my-song.wav").write_bytes(b"x")
    assert not _earlier_demo(legacy)
    assert not _earlier_demo(tmp_path / "missing")


def test_a_foreign_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        run_demo(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"

"""Shared pieces of the listening-page tests: a small section with real audio and a PNG."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.report import Clip, Image, ReportSection, Table
from zoo.report.plots import spectrograms_png


def tone(seconds: float, sample_rate: int = 8000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="session")
def small_png() -> bytes:
    return spectrograms_png([("tone", tone(0.5), 8000)])


@pytest.fixture
def section(small_png: bytes) -> ReportSection:
    return ReportSection(
        title="A <tone> & co",
        text="dry & wet <b>",
        clips=[Clip("dry", tone(1.0), 8000), Clip("our model", tone(1.0, hz=220.0), 8000)],
        images=[Image("Spectrogram", small_png)],
        tables=[Table("Metrics", ["metric", "value"], [["ESR", 0.0123456], ["MR-STFT", float("nan")]])],
    )

"""From results to page blocks: one `ReportSection` for an effect run on its clips."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np

from .clips import Performance
from .page import MAX_CLIP_S, Clip, Image, ReportSection, Table
from .plots import curves_png, fit_curve_png, spectrograms_png
from .scores import esr, mrstft

__all__ = ["effect_section", "metrics_table", "parameters_table", "unit_of"]

_UNITS = (("_db", "dB"), ("_ms", "ms"), ("_hz", "Hz"), ("_rad", "rad"), ("_s", "s"), ("_coef", "coefficient"))


def unit_of(name: str) -> str:
    """The unit a parameter name ends in (``attack_ms`` -> "ms"), "" when it names none."""
    return next((unit for suffix, unit in _UNITS if name.endswith(suffix)), "")


def metrics_table(performance: Performance, test_metrics: Mapping[str, float] | None = None) -> Table:
    """ESR and MR-STFT of our model against the real effect on this clip, next to the card's test metrics."""
    test_metrics = dict(test_metrics or {})
    pred, target = performance.prediction, performance.target
    here = {"esr": float("nan"), "mrstft": float("nan")}
    if target is not None:
        here = {"esr": esr(pred, target), "mrstft": mrstft(pred, target)}
    labels = {"esr": "ESR", "mrstft": "MR-STFT", "l1": "L1"}
    names = ["esr", "mrstft", *[k for k in test_metrics if k not in ("esr", "mrstft")]]
    rows = [[labels.get(n, n), here.get(n), test_metrics.get(n)] for n in names]
    what = "target note" if performance.synth else "real effect"
    return Table(f"Distance to the {what} (lower is better)", ["metric", "this clip", "held-out test split (card)"], rows)


def parameters_table(learned: Mapping[str, float]) -> Table:
    """The learned global parameters with their units."""
    return Table("Learned parameters", ["parameter", "value", "unit"], [[k, float(v), unit_of(k)] for k, v in learned.items()])


def _trim(audio: np.ndarray, rate: int) -> np.ndarray:
    return audio[..., : int(MAX_CLIP_S * rate)]


def effect_section(
    title: str,
    performance: Performance,
    *,
    test_metrics: Mapping[str, float] | None = None,
    metrics_csv: str | Path | None = None,
    card_markdown: str | None = None,
    file_prefix: str | None = None,
    method: str | None = None,
) -> ReportSection:
    """A page block for one effect: players, spectrograms, learned controls, fit curve, tables.

    Args:
        title: the section heading.
        performance: the clips and the model's output (`zoo.report.clips.performance`).
        test_metrics: the card's held-out metrics (name -> value). Default none.
        metrics_csv: a Lightning ``metrics.csv``: adds the fit curve. Default None.
        card_markdown: a model card, folded at the end of the block. Default None.
        file_prefix: name the wavs ``<prefix>_{dry,real,model}.wav`` (as ``zoo demo`` always has).
            Default None: the page writer names them.
        method: the implementation that ran (shown in the captions). Default None.

    Returns:
        The `ReportSection`; clips longer than 10 s are cut to their first 10 s.
    """
    from .sources import read_metrics_csv

    rate = performance.sample_rate
    ours = f"our model ({method})" if method else "our model"
    named = lambda suffix, ext="wav": f"{file_prefix}_{suffix}.{ext}" if file_prefix else None  # noqa: E731
    audio: list[tuple[str, np.ndarray, str]] = []
    if performance.synth:
        if performance.target is not None:
            audio.append(("target notes (real ladder filter)", performance.target, "real"))
        audio.append((f"{ours}: re-synthesis", performance.prediction, "model"))
    else:
        if performance.dry is not None:
            audio.append(("dry", performance.dry, "dry"))
        if performance.target is not None:
            audio.append(("real effect", performance.target, "real"))
        audio.append((ours, performance.prediction, "model"))
    clips = [Clip(label, _trim(samples, rate), rate, filename=named(suffix)) for label, samples, suffix in audio]
    text = performance.origin
    longest = max(len(a) for _, a, _ in audio) / rate
    if longest > MAX_CLIP_S:
        text += f". The players hold the first {MAX_CLIP_S:g} s of {longest:.1f} s; the metrics cover all of it"
    images = [Image("Spectrograms: " + ", ".join(label for label, _, _ in audio), spectrograms_png([(label, a, rate) for label, a, _ in audio]), named("spectrograms", "png"))]
    if performance.curves:
        names = ", ".join(performance.curves)
        images.append(Image(f"Learned controls: {names}", curves_png(performance.curves), named("controls", "png")))
    if metrics_csv is not None:
        series = read_metrics_csv(metrics_csv)
        if series:
            images.append(Image(f"Fit curve ({Path(metrics_csv).name}): " + ", ".join(series), fit_curve_png(series), named("fit_curve", "png")))
    tables = [metrics_table(performance, test_metrics)]
    if performance.learned:
        tables.append(parameters_table(performance.learned))
    if math.isfinite(performance.run_s):
        text += f". Our model ran in {performance.run_s:.3f} s for {len(performance.prediction) / rate:.2f} s of audio"
    return ReportSection(title=title, text=text + ".", clips=clips, images=images, tables=tables, card_markdown=card_markdown)

"""`report_checkpoint`: the whole ``zoo report`` page for one checkpoint or run."""

from __future__ import annotations

import os
from pathlib import Path

from .clips import performance
from .page import check_out_dir, write_report
from .sections import effect_section
from .sources import load_source

__all__ = ["report_checkpoint"]


def report_checkpoint(
    checkpoint_or_run: str,
    out_dir: str | os.PathLike,
    *,
    input_path: str | os.PathLike | None = None,
    force: bool = False,
    duration_s: float = 4.0,
    seed: int = 0,
) -> Path:
    """Write the listening page of a checkpoint or a training run.

    Args:
        checkpoint_or_run: a shipped checkpoint name (``zoo list``), a checkpoint folder, or a
            ``zoo train`` run folder or ``.ckpt`` (see `zoo.report.sources`).
        out_dir: the page's folder.
        input_path: a dry audio file to play through the model (its first 10 s). Default None: the
            checkpoint's ``audio/`` clips, else generated material (see `zoo.report.clips`).
        force: replace a non-empty ``out_dir``. Default False.
        duration_s: length of generated material (s). Default 4.0.
        seed: seed of generated material. Default 0.

    Returns:
        The path of ``index.html``.

    Raises:
        FileExistsError: ``out_dir`` is not empty and ``force`` is False (checked before any work).
        FileNotFoundError: ``input_path`` does not exist.
        ValueError: nothing loadable at ``checkpoint_or_run``, or unusable audio.
    """
    check_out_dir(out_dir, force)
    source = load_source(checkpoint_or_run)
    run = performance(
        source.effect, effect_name=source.effect_name, input_path=input_path,
        audio_dir=None if source.folder is None else source.folder / "audio",
        data_spec=source.data_spec, duration_s=duration_s, seed=seed,
    )
    section = effect_section(
        f"{source.name}: {type(source.effect).__name__}", run, test_metrics=source.test_metrics,
        metrics_csv=source.metrics_csv, file_prefix=source.name if _plain(source.name) else "clip",
        method=getattr(source.effect, "method", None),
    )
    what = "the target notes and our re-synthesis" if run.synth else "the dry signal, the real effect and our model"
    intro = f"Listen to {what} side by side ({source.effect_name}, {run.sample_rate} Hz, differentiable all-pole filters)."
    return write_report(out_dir, title=f"zoo: {source.name}", sections=[section], card_markdown=source.card_markdown, intro=intro, force=force)


def _plain(name: str) -> bool:
    return name.replace("-", "").replace("_", "").replace(".", "").isalnum() and name[:1].isalnum()

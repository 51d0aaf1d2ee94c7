"""`zoo demo`: every pretrained effect on generated audio, as a listening page, a PNG and a table.

Writes into ``<out>``:

* ``index.html``: the listening page (see `zoo.report`): for each shipped checkpoint, dry / real
  effect / our model players (for the synth: the target notes and our re-synthesis), spectrograms,
  the learned controls, the metrics, the learned parameters and the model card;
* ``<checkpoint>_{dry,real,model}.wav`` (the page's clips; the synth has no dry clip);
* ``demo.png``: spectrograms of the dry clip, our model's output and the real effect's output,
  plus each effect's first learned control, one row per checkpoint;

and returns the rows of a table (`format_table`): how close each model is to the real effect it
was trained on (ESR and MR-STFT on this clip, which none of them saw in training) and how fast it
ran.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import hub
from .report.clips import Performance, performance
from .report.page import check_out_dir, is_report_dir, write_report
from .report.plots import curve_labels, png_bytes, spectrogram_axes
from .report.scores import esr, mrstft
from .report.sections import effect_section


def _overview_png(results: list[tuple[str, str, Performance]]) -> bytes:
    """demo.png: one row per checkpoint: dry (synth: target), our model, real effect, first control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 4, figsize=(13, 2.6 * len(results)), squeeze=False)
    for row_axes, (name, method, perf) in zip(axes, results):
        rate = perf.sample_rate
        dry = perf.dry if perf.dry is not None else perf.target
        spectrogram_axes(row_axes[0], dry, rate, f"{name}: dry")
        spectrogram_axes(row_axes[1], perf.prediction, rate, f"{name}: our model ({method})")
        if perf.target is not None:
            spectrogram_axes(row_axes[2], perf.target, rate, f"{name}: real effect")
        else:
            row_axes[2].axis("off")
        if perf.curves:
            curve_name, (xs, ys) = next(iter(perf.curves.items()))
            row_axes[3].plot(xs, ys, lw=1)
            row_axes[3].set_title(f"learned: {curve_name}", fontsize=8)
            row_axes[3].set_xlabel(curve_labels(curve_name)[0], fontsize=7)
            row_axes[3].tick_params(labelsize=6)
        else:
            row_axes[3].axis("off")
    fig.tight_layout()
    return png_bytes(fig, dpi=80)


def _earlier_demo(out: Path) -> bool:
    """Whether ``out`` holds an earlier page, or the wavs + demo.png of a demo from before the page."""
    if is_report_dir(out):
        return True
    names = [p.name for p in out.iterdir()] if out.is_dir() else []
    legacy = lambda n: n == "demo.png" or n.endswith(("_dry.wav", "_model.wav", "_real.wav"))  # noqa: E731
    return "demo.png" in names and all(legacy(n) for n in names)


def run_demo(out_dir: str | os.PathLike = "out/demo", *, duration_s: float = 4.0, seed: int = 0, force: bool = False) -> list[dict[str, Any]]:
    """Run every shipped checkpoint on generated audio, write the page and demo.png; return the table rows.

    Args:
        out_dir: the output folder. It is replaced when it holds an earlier demo or report page
            (or when ``force``); another non-empty folder is refused.
        duration_s: length of the generated dry clip (s), > 0. The page plays its first 10 s.
            Default 4.0.
        seed: seed of the generated material. Default 0.
        force: replace a non-empty ``out_dir`` that is not an earlier page. Default False.

    Returns:
        One dict per checkpoint: checkpoint, effect, method, audio_s, run_s, esr_vs_real,
        mss_vs_real, card_test_esr.

    Raises:
        RuntimeError: no shipped checkpoint is found.
        FileExistsError: ``out_dir`` is a non-empty folder that holds no earlier page, and not ``force``.
    """
    out = Path(out_dir)
    force = force or _earlier_demo(out)
    check_out_dir(out, force)
    checkpoints = hub.list_checkpoints()
    if not checkpoints:
        raise RuntimeError("No shipped checkpoints found (zoo list shows none); build them with `make checkpoints`")
    rows: list[dict[str, Any]] = []
    sections = []
    results: list[tuple[str, str, Performance]] = []
    for name, config in checkpoints.items():
        folder = Path(hub.resolve_checkpoint(name))
        effect = hub.from_pretrained(folder).eval()
        card = config.get("card", {})
        perf = performance(effect, effect_name=config["effect"], data_spec=card.get("data"), duration_s=duration_s, seed=seed)
        test_metrics = {k: float(v) for k, v in card.get("test_metrics", {}).items() if isinstance(v, (int, float))}
        readme = folder / hub.CARD_NAME
        sections.append(
            effect_section(
                name, perf, test_metrics=test_metrics, file_prefix=name, method=effect.method,
                card_markdown=readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else None,
            )
        )
        results.append((name, effect.method, perf))
        real = perf.target
        comparable = real is not None and len(real) == len(perf.prediction)
        rows.append(
            {
                "checkpoint": name,
                "effect": type(effect).__name__,
                "method": effect.method,
                "audio_s": len(perf.prediction) / perf.sample_rate,
                "run_s": perf.run_s,
                "esr_vs_real": esr(perf.prediction, real) if comparable else float("nan"),
                "mss_vs_real": mrstft(perf.prediction, real) if comparable else float("nan"),
                "card_test_esr": card.get("test_metrics", {}).get("esr", float("nan")),
            }
        )
    write_report(
        out,
        title="zoo demo: every pretrained effect, by ear",
        intro=(
            "Each shipped checkpoint on audio it never saw in training: the dry clip, the real effect it was "
            "fitted to, and our differentiable all-pole model (Yu et al., DAFx 2024). Everything on this page "
            "is a file beside it; it works offline."
        ),
        sections=sections,
        extra_files={"demo.png": _overview_png(results)},
        force=force,
    )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows of `run_demo` as a markdown table."""
    head = (
        "| checkpoint | effect | method | audio (s) | run (s) | ESR vs real effect (this clip) "
        "| MSS vs real effect (this clip) | card test ESR |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['checkpoint']} | {r['effect']} | {r['method']} | {r['audio_s']:.2f} | {r['run_s']:.3f} | "
            f"{r['esr_vs_real']:.4f} | {r['mss_vs_real']:.4f} | {r['card_test_esr']:.4f} |"
        )
    return "\n".join(lines)


__all__ = ["run_demo", "format_table"]

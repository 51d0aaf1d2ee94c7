"""What an exported file says about itself: the effect, its interface and its state layout (JSON).

The same dictionary goes into the TorchScript file (``metadata.json`` extra file), the ONNX model
(``metadata_props``, plus a ``.json`` sidecar) and, summarised, the Neutone model's metadata.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["describe", "state_layout", "card_summary"]


def state_layout(module: Any, channels: int) -> list[dict[str, Any]]:
    """The state vector of ``module.step`` for ``channels`` channels: ``[{"name", "offset", "size", "meaning"}]``."""
    fields: list[tuple[str, int, str]]
    if type(module).__name__ == "PhaserStream":
        k1 = module.num_stages + 1
        chain = ("u[n-1], y_1[n-1], ..., y_K[n-1] (DF1)" if module.form == 0
                 else "y_K[n-1], s_1, ..., s_K (TPT integrator states)")
        fields = [
            ("offset", 1, "samples processed so far (places the LFO's control frames and damping)"),
            ("lfo_cycles", 1, "LFO phase in cycles, in [0, 1), at the next sample"),
            ("chain", channels * k1, f"per channel (row-major, C x {k1}): {chain}"),
            ("biquad", channels * 4, "per channel (C x 4): o[n-1], o[n-2], y[n-1], y[n-2] of the output biquad"),
        ]
    else:
        first = "r[n-1], the RMS detector's mean power" if module.paper else (
            "env[n-1], the smoothed level" if module.level_smoothing else "unused (0)")
        fields = [
            ("detector", 1, first),
            ("gain", 1, "g_hat[n-1], the smoothed linear gain (1 at rest)"),
            ("previous_output", channels, "y_c[n-1] per channel (read by the feedback topology only)"),
        ]
    out, offset = [], 0
    for name, size, meaning in fields:
        out.append({"name": name, "offset": offset, "size": size, "meaning": meaning})
        offset += size
    return out


def card_summary(folder: str | Path | None, limit: int = 500) -> str:
    """A plain-text summary (<= ``limit`` characters) of a checkpoint's model card (README.md), or ""."""
    if folder is None:
        return ""
    path = Path(folder) / "README.md"
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block or block.startswith(("#", "|", "```", "- ")):
            continue
        paragraphs.append(re.sub(r"[`*_]", "", " ".join(block.split())))
    summary = " ".join(paragraphs)
    if len(summary) > limit:
        summary = summary[: limit - 3].rsplit(" ", 1)[0] + "..."
    return summary


def describe(effect: Any, module: Any, *, source: str, fmt: str, channels: int | None = None,
             block_size: int | None = None) -> dict[str, Any]:
    """The metadata dictionary of an export (JSON-serialisable)."""
    from .. import __version__

    is_phaser = type(module).__name__ == "PhaserStream"
    controls = (["rate_hz", "depth_scale", "feedback_g2", "mix"] if is_phaser
                else ["threshold_db", "ratio", "release_coef", "makeup_gain_db"])
    meta: dict[str, Any] = {
        "format": fmt,
        "effect": "phaser" if is_phaser else "compressor",
        "source": source,
        "sample_rate": module.sample_rate,
        "structure": ({"num_stages": module.num_stages, "lfo": ["mlp", "sweep"][module.lfo_kind],
                       "stage_form": ["df1", "tpt"][module.form], "feedback_delay": module.delay}
                      if is_phaser else {"structure": module.structure}),
        "init_args": {k: v for k, v in getattr(effect, "init_args", {}).items() if isinstance(v, (int, float, str, bool, list, type(None)))},
        "controls": dict(zip(controls, [float(v) for v in module.default_controls.tolist()])),
        "interface": {
            "torchscript": "forward(block: float32 (channels, samples)) -> same shape, state carried; reset(); "
                           "step(block, state float64, controls float64 (4,)) -> (out, new_state); sample_rate",
            "onnx": "(block float32 (channels, samples), state float64 (N,)) -> (out, new_state)",
        },
        "zoo_version": __version__,
    }
    if channels is not None:
        meta["channels"] = channels
        meta["state_size"] = int(module.state_size(channels))
        meta["state_layout"] = state_layout(module, channels)
    if block_size is not None:
        meta["block_size"] = block_size
    return meta

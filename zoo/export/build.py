"""From a zoo effect to its self-contained streaming module (the fitted values copied into buffers).

`streaming_module` is the one entry point: it reads a `Phaser` or a `Compressor` (any structure
their constructors accept) and returns a `PhaserStream` or `CompressorStream`, eager modules whose
code is TorchScript (`torch.jit.script` them to save a file that runs without zoo).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

__all__ = ["streaming_module", "EXPORTABLE"]

#: registry names of the effects that export (the synth re-synthesises notes: no audio stream)
EXPORTABLE = ("phaser", "compressor")


def _f(t: torch.Tensor) -> float:
    return float(t.detach())


@torch.no_grad()
def _phaser(effect) -> nn.Module:
    from .phaser import PhaserStream

    values: dict = {
        "g1": _f(effect.g1),
        "g2": _f(effect.g2),
        "biquad_b": [float(v) for v in effect.biquad_b.detach().tolist()],
        "biquad_a": [float(v) for v in effect.biquad_a.detach().tolist()],
    }
    if effect.lfo_kind == "sweep":
        sw = effect.sweep
        values.update(
            rate_hz=_f(sw.rate_hz), phase=_f(sw.phase), shape_mix=_f(torch.sigmoid(sw.shape_logit).double()),
            log_centre=_f(sw.log_centre), span=_f(sw.span), curve=[float(v) for v in sw.curve.detach().tolist()],
            log_low=sw.log_low, log_high=sw.log_high,
        )
        if sw.stage_offsets is not None:
            values["stage_offsets"] = [float(v) for v in sw.stage_offsets.detach().tolist()]
        mlp: nn.Module = nn.Identity()
        lfo_kind = 1
    else:
        lfo, osc = effect.lfo, effect.lfo.oscillator
        values.update(rate_hz=_f(osc.rate_hz), phase=_f(osc.phase), sigma=_f(osc.sigma), bias=_f(lfo.bias),
                      depth=_f(lfo.depth))
        mlp = copy.deepcopy(lfo.mlp.net).float().requires_grad_(False)
        lfo_kind = 0
    module = PhaserStream(effect.sample_rate, effect.num_stages, effect.hop, lfo_kind,
                          0 if effect.stage_form == "df1" else 1, int(effect.feedback_delay), values, mlp).eval()
    module.signed_feedback = bool(effect.signed_feedback)  # the feedback knob's range (zoo.export.neutone)
    return module


@torch.no_grad()
def _compressor(effect) -> nn.Module:
    from .compressor import CompressorStream

    paper = bool(effect.paper_structure)
    values = {
        "threshold_db": _f(effect.threshold_db),
        "ratio": _f(effect.ratio),
        "attack_coef": _f(effect.attack_coef),
        "release_coef": _f(effect.release_coef),
        "rms_coef": _f(effect.rms_coef),
        "makeup_gain_db": _f(effect.makeup_gain_db),
        "knee_db": float(effect.knee_db),
        "expander_threshold_db": effect.expander_threshold_db,
        "expander_ratio": float(effect.expander_ratio),
        "limiter_threshold_db": effect.limiter_threshold_db,
    }
    if not math.isfinite(values["ratio"]):
        values["ratio"] = 1e30
    structure = "paper" if paper else f"{effect.detector}-{effect.smoothing}-{effect.topology}"
    return CompressorStream(effect.sample_rate, structure, values).eval()


def streaming_module(effect) -> nn.Module:
    """The streaming module of a fitted effect (eager; its methods are TorchScript code).

    Args:
        effect: a `zoo.effects.phasers.Phaser` or `zoo.effects.compressors.Compressor`.

    Returns:
        `PhaserStream` or `CompressorStream` with the effect's values copied (float32 parameters).

    Raises:
        ValueError: another effect (the synth has no audio-in stream).
    """
    name = getattr(effect, "name", type(effect).__name__)
    if type(effect).__name__ == "Phaser":
        return _phaser(effect)
    if type(effect).__name__ == "Compressor":
        return _compressor(effect)
    raise ValueError(
        f"Unexpected effect {name!r} ({type(effect).__name__}): only the audio effects {', '.join(EXPORTABLE)} "
        "stream block by block; the synth re-synthesises notes from f0 and note-on times, it has no audio input"
    )

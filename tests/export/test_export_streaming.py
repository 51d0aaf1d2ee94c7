"""The streaming modules equal the effects' own stream (what `zoo apply` runs), block by block, for
every structure the constructors accept (random fitted values), eager and scripted, at odd block sizes."""

from __future__ import annotations

import pytest
import torch

from zoo.effects.compressors import Compressor
from zoo.effects.phasers import Phaser
from zoo.export import streaming_module
from zoo.export.formats import script_module

from _export_helpers import effect_stream, module_stream, relative_error, test_signal

PHASERS = {
    "paper-mlp-k4": dict(num_stages=4, g2=0.6, lfo_rate_hz=2.0),
    "mlp-tpt-delay1": dict(num_stages=6, stage_form="tpt", feedback_delay=1, g2=0.5),
    "sweep-df1-k6": dict(lfo="sweep", num_stages=6, g2=0.3),
    "sweep-tpt-signed-maps-k8": dict(lfo="sweep", num_stages=8, stage_form="tpt", feedback_delay=1,
                                     signed_feedback=True, g2=-0.6, stage_maps=True, lfo_shape=0.5),
    "sweep-tpt-k12": dict(lfo="sweep", num_stages=12, stage_form="tpt", g2=0.7, lfo_rate_hz=4.0),
    "sweep-df1-k4-delay1-signed": dict(lfo="sweep", num_stages=4, feedback_delay=1, signed_feedback=True, g2=0.4),
}
COMPRESSORS = {
    "paper-hard": dict(threshold_db=-24.0, ratio=6.0, attack_ms=1.0, release_ms=80.0, rms_coef=0.5, makeup_gain_db=2.0),
    "paper-knee-expander-limiter": dict(threshold_db=-20.0, ratio=3.0, knee_db=6.0, expander_threshold_db=-45.0,
                                        limiter_threshold_db=-6.0),
    "peak-level-feedforward": dict(detector="peak", smoothing="level", threshold_db=-20.0, ratio=4.0, attack_ms=2.0),
    "rms-gain-feedforward": dict(detector="rms", smoothing="gain", threshold_db=-25.0, knee_db=4.0),
    "rms-level-feedforward": dict(detector="rms", smoothing="level", threshold_db=-25.0, ratio=8.0),
    "peak-level-feedback": dict(detector="peak", smoothing="level", topology="feedback", threshold_db=-20.0, ratio=3.0),
    "rms-gain-feedback": dict(detector="rms", smoothing="gain", topology="feedback", threshold_db=-22.0, knee_db=3.0),
}


def _phaser(name: str) -> Phaser:
    effect = Phaser(44100, **PHASERS[name])
    gen = torch.Generator().manual_seed(len(name))
    with torch.no_grad():  # "fitted" values away from the constructor's
        for p in effect.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return effect.eval()


@pytest.mark.parametrize("name", list(PHASERS))
def test_phaser_structures(name):
    effect = _phaser(name)
    x = test_signal(44100, 0.5)
    ref = effect_stream(effect, x, 512)
    eager = streaming_module(effect)
    for block in (63, 500):
        assert relative_error(module_stream(eager, x, block), ref) < 1e-4, block
    assert relative_error(module_stream(script_module(eager), x, 512), ref) < 1e-4


@pytest.mark.parametrize("name", list(COMPRESSORS))
def test_compressor_structures(name):
    effect = Compressor(44100, **COMPRESSORS[name]).eval()
    x = test_signal(44100, 1.0)
    ref = effect_stream(effect, x, 4096)
    eager = streaming_module(effect)
    for block in (63, 500):
        assert relative_error(module_stream(eager, x, block), ref) < 1e-4, block
    assert relative_error(module_stream(script_module(eager), x, 512), ref) < 1e-4


@pytest.mark.parametrize("kind", ["phaser", "compressor"])
def test_one_sample_blocks_mono_and_channel_change(kind):
    effect = _phaser("sweep-df1-k6") if kind == "phaser" else Compressor(44100, **COMPRESSORS["paper-hard"]).eval()
    scripted = script_module(effect)
    x = test_signal(44100, 0.03, channels=1)
    ref = effect_stream(effect, x, 1)
    assert relative_error(module_stream(scripted, x, 1), ref) < 1e-4
    # another channel count starts a new signal at rest; an empty block changes nothing
    stereo = test_signal(44100, 0.03, channels=2, seed=1)
    scripted(x[:, :100])
    assert scripted(stereo[:, :0]).shape == (2, 0)
    out = torch.cat([scripted(stereo[:, :700]), scripted(stereo[:, 700:])], -1)
    assert relative_error(out.double(), effect_stream(effect, stereo, 700)) < 1e-4


def test_reset_restarts_the_signal():
    scripted = script_module(_phaser("paper-mlp-k4"))
    x = test_signal(44100, 0.1)
    first = module_stream(scripted, x, 256)
    scripted(x[:, :1000])
    assert torch.equal(module_stream(scripted, x, 256), first)  # module_stream calls reset()
    assert scripted.sample_rate == 44100.0

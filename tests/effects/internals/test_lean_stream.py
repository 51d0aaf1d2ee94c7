"""`zoo.effects.lean_stream`: the inference path of `Effect.stream` equals the general path, block by block."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.effects.compressors import Compressor
from zoo.effects.lean_stream import DeviceCompressorStream, PaperCompressorStream, SweepPhaserStream, lean_stream_for
from zoo.effects.phasers import Phaser

SR = 22050
PHASERS = [
    dict(lfo="sweep", num_stages=6, stage_form="df1", feedback_delay=0, g2=0.3),
    dict(lfo="sweep", num_stages=8, stage_form="tpt", feedback_delay=1, stage_maps=True, g2=-0.5, signed_feedback=True),
    dict(lfo="sweep", num_stages=4, stage_form="df1", feedback_delay=1, g2=0.6, signed_feedback=True),
]
COMPRESSORS = [
    dict(),
    dict(knee_db=6.0),
    dict(expander_threshold_db=-50.0, limiter_threshold_db=-3.0),
    dict(detector="peak", smoothing="level", topology="feedforward", knee_db=3.0),
    dict(detector="rms", smoothing="gain", topology="feedback"),
    dict(detector="peak", smoothing="level", topology="feedback"),
]


def _phaser(kwargs: dict) -> Phaser:
    torch.manual_seed(0)
    effect = Phaser(SR, lfo_rate_hz=1.3, lfo_phase_rad=0.4, centre_hz=700.0, sweep_octaves=1.5, **kwargs)
    with torch.no_grad():
        for p in effect.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return effect.eval()


def _compressor(kwargs: dict) -> Compressor:
    return Compressor(SR, threshold_db=-24.0, ratio=5.0, attack_ms=2.0, release_ms=80.0, makeup_gain_db=3.0,
                      **kwargs).eval()


def _blocks(total: int, seed: int = 0) -> list[tuple[int, int]]:
    sizes = np.random.default_rng(seed).integers(0, 600, size=200)
    edges = np.minimum(np.cumsum(np.concatenate([[0], sizes])), total)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])] + [(int(edges[-1]), total)]


def _general(effect, x, blocks) -> torch.Tensor:
    """The general path (`process_block`): gradients wanted, so the lean path is not taken."""
    effect.reset_stream()
    with torch.enable_grad():
        return torch.cat([effect.stream(x[..., a:b]).detach() for a, b in blocks], dim=-1)


def _lean(effect, x, blocks) -> torch.Tensor:
    effect.reset_stream()
    with torch.inference_mode():
        return torch.cat([effect.stream(x[..., a:b]) for a, b in blocks], dim=-1)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("kwargs", PHASERS, ids=str)
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1)])
def test_sweep_phaser_lean_equals_general(kwargs: dict, shape: tuple) -> None:
    effect = _phaser(kwargs)
    x = 0.3 * torch.randn(*shape, SR)
    blocks = _blocks(SR)
    lean = _lean(effect, x, blocks)
    assert isinstance(lean_stream_for(effect), SweepPhaserStream)
    assert _rel(lean, _general(effect, x, blocks)) < 1e-5
    assert _rel(lean, effect(x).detach()) < 1e-5  # and one pass


@pytest.mark.parametrize("kwargs", COMPRESSORS, ids=str)
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 2)])
def test_compressor_lean_equals_general(kwargs: dict, shape: tuple) -> None:
    effect = _compressor(kwargs)
    t = torch.arange(SR) / SR
    x = torch.randn(*shape, SR) * (0.02 + 0.5 * (torch.sin(2 * torch.pi * 1.5 * t) > 0))  # loud and quiet
    blocks = _blocks(SR, seed=1)
    lean = _lean(effect, x, blocks)
    expected = PaperCompressorStream if effect.paper_structure else DeviceCompressorStream
    assert isinstance(lean_stream_for(effect), expected)
    assert _rel(lean, _general(effect, x, blocks)) < 1e-5


def test_paths_alternate_within_one_stream_and_parameter_changes_are_seen() -> None:
    effect = _phaser(PHASERS[1])
    x = 0.3 * torch.randn(1, 1, 8000)
    reference = effect(x).detach()
    effect.reset_stream()
    parts = []
    for i, (a, b) in enumerate(_blocks(8000, seed=2)):
        with torch.enable_grad() if i % 2 else torch.no_grad():  # (inference tensors cannot enter autograd)
            parts.append(effect.stream(x[..., a:b]).detach())
    assert _rel(torch.cat(parts, -1), reference) < 1e-5
    with torch.no_grad():  # a knob moves between blocks: the lean path reads it again
        effect.g1.mul_(0.5)
    effect.reset_stream()
    with torch.inference_mode():
        moved = effect.stream(x)
    assert _rel(moved, effect(x).detach()) < 1e-5 and _rel(moved, reference) > 1e-2


def test_structures_without_a_lean_path_stream_as_before() -> None:
    effect = Phaser(SR).eval()  # the paper's MLP-LFO structure
    assert lean_stream_for(effect) is None
    x = 0.3 * torch.randn(1, 1, 3000)
    effect.reset_stream()
    with torch.inference_mode():
        y = torch.cat([effect.stream(x[..., a:b]) for a, b in _blocks(3000, seed=3)], -1)
    assert _rel(y, effect(x).detach()) < 1e-5


def test_float64_and_shape_changes_take_the_general_path() -> None:
    effect = _compressor({})
    with torch.inference_mode():
        effect.reset_stream()
        y = effect.stream(torch.randn(1, 1, 256, dtype=torch.float64))
        assert y.dtype == torch.float64
        effect.reset_stream()
        effect.stream(torch.randn(1, 1, 256))
        with pytest.raises(ValueError, match="state"):  # the general path's clear error
            effect.stream(torch.randn(2, 1, 256))

"""The fused TD synth voice (`FusedSynthVoiceFunction`): equal to the composed path, gradients, dispatch."""

from __future__ import annotations

import pytest
import torch

import zoo.filters.recursions
from zoo.effects.synth import SynthVoice
from zoo.filters import use_fused
from zoo.effects.synth_functional import can_fuse_voice, synth_voice_td_fused

SR = 48000.0
HOP = 32
GLOBALS = ("osc_mix", "env_exponent", "osc_gain", "dist_gain", "q", "phase_rad")
allpole_module = zoo.filters.recursions


def _inputs(filter_type: str, batch: int, num_samples: int, n_frames: int, n_on: list[int], dtype, seed=0,
            ctrl_batch: int | None = None, scale: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    n_ctrl = 1 if filter_type == "lp" else 5
    frames = scale * torch.randn(ctrl_batch or batch, n_frames, n_ctrl, generator=gen, dtype=torch.float64)
    if filter_type == "coeff":
        frames[..., :3] *= 0.5
    f0 = 40.0 + 400.0 * torch.rand(batch, generator=gen, dtype=torch.float64)
    return frames.to(dtype), f0.to(dtype), torch.tensor(n_on)


def _given_globals(voice: SynthVoice, batch: int, dtype, seed=1) -> dict[str, torch.Tensor]:
    """Per-note physical globals (B,) for every global but env_exponent (which the voice's own serves)."""
    gen = torch.Generator().manual_seed(seed)
    values = {
        "osc_mix": torch.rand(batch, generator=gen, dtype=torch.float64),
        "osc_gain": 0.2 + 0.8 * torch.rand(batch, generator=gen, dtype=torch.float64),
        "dist_gain": 0.3 + 3.0 * torch.rand(batch, generator=gen, dtype=torch.float64),
        "q": 0.8 + 5.0 * torch.rand(batch, generator=gen, dtype=torch.float64),
        "phase_rad": torch.randn(batch, generator=gen, dtype=torch.float64),
    }
    return {k: v.to(dtype).requires_grad_() for k, v in values.items() if k in voice.global_names}


def _run(voice: SynthVoice, fused: bool, frames, f0, n_on, num_samples, given, grad_y):
    """Output and the gradients of <y, grad_y> for the frames, the given globals and the voice's own."""
    voice.fused = fused
    frames = frames.detach().clone().requires_grad_()
    given = {k: v.detach().clone().requires_grad_() for k, v in given.items()}
    voice.zero_grad(set_to_none=True)
    y = voice(f0, n_on, num_samples, frames, given)
    (y * grad_y).sum().backward()
    grads = {"frames": frames.grad, **{k: v.grad for k, v in given.items()}}
    grads.update({f"own.{n}": p.grad for n, p in voice.named_parameters()})
    return y, {k: None if v is None else v.clone() for k, v in grads.items()}  # clones: .to() moves .grad


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("learn_globals", [True, False])
@pytest.mark.parametrize("num_samples, n_frames", [(700, 12), (700, 23), (640, 30)])
def test_fused_equals_composed(filter_type, batch, learn_globals, num_samples, n_frames):
    # N_on shorter than, equal to and longer than T; frames fewer than (padded), equal to and more than needed
    n_on = [num_samples // 3, num_samples, num_samples + 50][:batch]
    voice = SynthVoice(SR, filter_type, control_hop=HOP, learn_globals=learn_globals, env_exponent=2.5).double()
    frames, f0, n_on = _inputs(filter_type, batch, num_samples, n_frames, n_on, torch.float64)
    given = _given_globals(voice, batch, torch.float64)
    grad_y = torch.randn(batch, num_samples, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    y_ref, g_ref = _run(voice, False, frames, f0, n_on, num_samples, given, grad_y)
    y, g = _run(voice, True, frames, f0, n_on, num_samples, given, grad_y)
    assert "FusedSynthVoice" not in type(y_ref.grad_fn).__name__
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-10)
    assert g.keys() == g_ref.keys()
    for name in g_ref:
        if g_ref[name] is None:
            assert g[name] is None, name
            continue
        scale = g_ref[name].abs().max().clamp_min(1e-30)
        torch.testing.assert_close(g[name] / scale, g_ref[name] / scale, rtol=0, atol=1e-9, msg=name)


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_broadcast_controls_and_own_globals_only(filter_type):
    # filter controls with batch 1 shared by every note, no globals given: the voice's own serve
    voice = SynthVoice(SR, filter_type, control_hop=HOP).double()
    frames, f0, n_on = _inputs(filter_type, 3, 500, 16, [200, 500, 400], torch.float64, ctrl_batch=1)
    grad_y = torch.randn(3, 500, dtype=torch.float64)
    y_ref, g_ref = _run(voice, False, frames, f0, n_on, 500, {}, grad_y)
    y, g = _run(voice, True, frames, f0, n_on, 500, {}, grad_y)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-10)
    for name in g_ref:
        torch.testing.assert_close(g[name], g_ref[name], rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_note_on_below_one_is_clamped_as_composed(filter_type):
    voice = SynthVoice(SR, filter_type, control_hop=HOP).double()
    frames, f0, n_on = _inputs(filter_type, 3, 300, 10, [0, -5, 1], torch.float64)
    given = _given_globals(voice, 3, torch.float64)  # phase != 0: sample 0 sounds
    grad_y = torch.randn(3, 300, dtype=torch.float64)
    y_ref, g_ref = _run(voice, False, frames, f0, n_on, 300, given, grad_y)
    y, g = _run(voice, True, frames, f0, n_on, 300, given, grad_y)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-10)
    assert (y_ref[:2].abs().amax(-1) > 0).all()  # N_on <= 0 is clamped to 1, which still sounds
    for name in g_ref:
        if g_ref[name] is None:
            assert g[name] is None, name
            continue
        torch.testing.assert_close(g[name], g_ref[name], rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_float32_close_to_float64(filter_type):
    voice = SynthVoice(SR, filter_type, control_hop=HOP)
    frames, f0, n_on = _inputs(filter_type, 3, 2000, 63, [1500, 2000, 900], torch.float64)
    given = _given_globals(voice, 3, torch.float64)
    grad_y = torch.randn(3, 2000, dtype=torch.float64)
    y64, g64 = _run(voice.double(), True, frames, f0, n_on, 2000, given, grad_y)
    y32, g32 = _run(voice.float(), True, frames.float(), f0.float(), n_on, 2000,
                    {k: v.float() for k, v in given.items()}, grad_y.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=0, atol=2e-3)
    for name in g64:
        if g64[name] is None:  # an own global overridden by a given one
            assert g32[name] is None, name
            continue
        scale = g64[name].abs().max()
        torch.testing.assert_close(g32[name].double() / scale, g64[name] / scale, rtol=0, atol=5e-3, msg=name)


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_gradcheck_through_fused_path(filter_type):
    voice = SynthVoice(SR, filter_type, control_hop=4, learn_globals=False).double()
    frames, f0, n_on = _inputs(filter_type, 3, 20, 5, [12, 20, 25], torch.float64)
    given = _given_globals(voice, 3, torch.float64)
    names = tuple(given)

    def fn(frames, *values):
        return voice(f0, n_on, 20, frames, dict(zip(names, values)))

    frames.requires_grad_()
    assert "FusedSynthVoice" in type(fn(frames, *given.values()).grad_fn).__name__
    assert torch.autograd.gradcheck(fn, (frames, *given.values()))


def test_double_backward_equals_composed():
    voice = SynthVoice(SR, "lp", control_hop=4).double()
    frames, f0, n_on = _inputs("lp", 2, 24, 7, [20, 24], torch.float64)
    frames.requires_grad_()
    results = []
    for fused in (False, True):
        voice.fused = fused
        y = voice(f0, n_on, 24, frames)
        (g,) = torch.autograd.grad(y.square().sum(), frames, create_graph=True)
        results.append(torch.autograd.grad(g.square().sum(), frames)[0])
    torch.testing.assert_close(results[1], results[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_default_td_path_is_fused(filter_type):
    voice = SynthVoice(SR, filter_type)
    frames, f0, n_on = _inputs(filter_type, 2, 600, 19, [300, 600], torch.float32)
    y = voice(f0, n_on, 600, frames.requires_grad_())
    assert type(y.grad_fn).__name__ == "FusedSynthVoiceFunctionBackward"
    assert voice.fused
    assert can_fuse_voice(f0, frames)


def test_use_fused_false_takes_composed_path_through_the_allpole_layer(monkeypatch):
    # e.g. the authors' torchlpc layer in benchmarks/_authors_path.py, which swaps the layer and
    # forbids fused kernels explicitly: the voice must then run through the (swapped) layer
    calls = []
    original = allpole_module.allpole_function

    def spy(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(allpole_module, "allpole_function", spy)
    voice = SynthVoice(SR, "lp")
    frames, f0, n_on = _inputs("lp", 2, 600, 19, [300, 600], torch.float32)
    with use_fused(False):
        assert not can_fuse_voice(f0, frames)
        y = voice(f0, n_on, 600, frames.requires_grad_())
    assert "FusedSynthVoice" not in type(y.grad_fn).__name__
    assert calls
    assert can_fuse_voice(f0, frames)  # allowed again outside the block


def test_fallbacks():
    voice = SynthVoice(SR, "lp", n_win=128)
    frames, f0, n_on = _inputs("lp", 2, 300, 10, [300, 300], torch.float32)
    assert not can_fuse_voice(f0.requires_grad_(), frames)  # f0 gradient: composed path
    f0 = f0.detach()
    assert not can_fuse_voice(f0, frames.double())  # mixed dtypes
    assert not can_fuse_voice(f0, frames, torch.ones(2, dtype=torch.float64))
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        assert not can_fuse_voice(f0, frames)
        dual = fwAD.make_dual(frames, torch.ones_like(frames))
        tangent = fwAD.unpack_dual(voice(f0, n_on, 300, dual)).tangent
    assert tangent is not None and torch.isfinite(tangent).all()
    # the FS method never takes the fused path
    y = voice(f0, n_on, 300, frames.requires_grad_(), method="fs")
    assert "FusedSynthVoice" not in type(y.grad_fn).__name__


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_nan_at_extremes(filter_type, dtype):
    # saturated controls (tanh / sigmoid at +-1), extreme globals, N_on = 1 and beyond T
    voice = SynthVoice(SR, filter_type, control_hop=HOP).to(dtype)
    frames, f0, n_on = _inputs(filter_type, 4, 800, 26, [1, 800, 5000, 2], dtype, scale=40.0)
    given = {
        "osc_mix": torch.tensor([0.0, 1.0, 0.5, 1.0], dtype=dtype),
        "env_exponent": torch.tensor([0.1, 6.0, 6.0, 0.1], dtype=dtype),
        "dist_gain": torch.tensor([0.01, 4.0, 4.0, 1.0], dtype=dtype),
    }
    if filter_type == "lp":
        given["q"] = torch.tensor([0.7071, 8.0, 8.0, 2.0], dtype=dtype)
    given = {k: v.requires_grad_() for k, v in given.items()}
    frames.requires_grad_()
    y = voice(f0, n_on, 800, frames, given)
    assert type(y.grad_fn).__name__ == "FusedSynthVoiceFunctionBackward"
    y.square().mean().backward()
    assert torch.isfinite(y).all()
    own = [p for n, p in voice.raw_globals.named_parameters() if n not in given]
    assert own  # osc_gain, phase_rad (and q for "coeff": not a global there)
    for t in (frames, *given.values(), *own):
        assert t.grad is not None and torch.isfinite(t.grad).all()


def test_argument_checks():
    f0 = torch.full((2,), 100.0)
    n_on = torch.tensor([10, 20])
    frames = torch.zeros(2, 3, 1)
    with pytest.raises(ValueError, match="filter_type"):
        synth_voice_td_fused(f0, n_on, 20, SR, frames, 8, "hp", 0.5, 1.0, 0.5, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="filter_controls"):
        synth_voice_td_fused(f0, n_on, 20, SR, torch.zeros(2, 3, 5), 8, "lp", 0.5, 1.0, 0.5, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="`q`"):
        synth_voice_td_fused(f0, n_on, 20, SR, frames, 8, "lp", 0.5, 1.0, 0.5, 1.0, 0.0, None)
    with pytest.raises(ValueError, match="control_hop"):
        synth_voice_td_fused(f0, n_on, 20, SR, frames, 0, "lp", 0.5, 1.0, 0.5, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="filter_controls"):
        SynthVoice(SR, "lp")(f0, n_on, 20, torch.zeros(2, 3, 5))

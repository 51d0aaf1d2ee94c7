"""Neutone FX export (neutone-sdk with zoo's torchaudio stand-in): the saved ``.nm`` loads with torch,
its default knobs reproduce the fitted effect, and each knob moves the sound the documented way."""

from __future__ import annotations

import functools
import math
import sys

import pytest
import torch

from zoo import hub
from zoo.export import export_command
from zoo.export.build import streaming_module
from zoo.export.neutone import knob_ranges

from _export_helpers import effect_stream, relative_error, test_signal

# no skip: without neutone-sdk (pip install --no-deps neutone-sdk==1.5.2; pip install '.[export]') these fail
BLOCK = 512


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nm")
    out = {}
    for name in ("phaser-pedalboard", "compressor-pedalboard"):
        path = folder / f"{name}.nm"
        meta = export_command(name, "neutone", path)  # raises ImportError without neutone-sdk: a failure
        out[name] = (path, meta)
    return out


@functools.lru_cache(maxsize=None)
def _load(path) -> torch.jit.ScriptModule:
    return torch.jit.load(str(path))


@functools.lru_cache(maxsize=None)
def _knobs(name: str) -> tuple:
    return tuple(knob_ranges(streaming_module(hub.from_pretrained(name))))


def _run(path, x: torch.Tensor, sample_rate: float, positions: list[float] | None) -> torch.Tensor:
    model = _load(path)
    model.set_daw_sample_rate_and_buffer_size(int(sample_rate), BLOCK)
    model.reset()
    params = None if positions is None else torch.tensor(positions, dtype=torch.float32)[:, None].expand(4, BLOCK)
    with torch.no_grad():
        # the wrapper returns its own output buffer, reused by the next call: copy it
        return torch.cat([model(x[:, i : i + BLOCK], params).clone() for i in range(0, x.shape[1] - BLOCK + 1, BLOCK)], 1)


def _positions(name: str, **physical: float) -> list[float]:
    """Knob positions (0..1) for physical values (keyed by knob name), the others at their defaults."""
    knobs = _knobs(name)
    unknown = set(physical) - {k["name"] for k in knobs}
    assert not unknown, unknown
    out = []
    for knob in knobs:
        value = physical.get(knob["name"])
        if value is None:
            out.append(knob["default_0to1"])
        elif knob["scale"] == "log":
            out.append(math.log(value / knob["low"]) / math.log(knob["high"] / knob["low"]))
        else:
            out.append((value - knob["low"]) / (knob["high"] - knob["low"]))
    return out


def test_metadata_and_no_torchaudio_left(models):
    for name, (path, meta) in models.items():
        assert [p["name"] for p in meta["neutone_parameters"].values()] == (
            ["rate", "depth", "feedback", "mix"] if "phaser" in name else ["threshold", "ratio", "release", "makeup"])
        assert 0 < len(meta["model_long_description"]) <= 500
        assert meta["native_sample_rates"] == [44100]
    assert "torchaudio" not in sys.modules or not getattr(sys.modules["torchaudio"], "__zoo_stand_in__", False)


@pytest.mark.parametrize("name", ["phaser-pedalboard", "compressor-pedalboard"])
def test_default_knobs_are_the_fitted_effect(name, models):
    effect = hub.from_pretrained(name)
    x = test_signal(effect.sample_rate, 1.0)[:, : 86 * BLOCK]
    out = _run(models[name][0], x, effect.sample_rate, None)
    assert relative_error(out.double(), effect_stream(effect, x, BLOCK)) < 1e-4


def _tone_levels_db(y: torch.Tensor) -> torch.Tensor:
    """Levels (dB) of the test tones (bins `TONE_BINS` of a 2048-point STFT, hop 512) per frame: (frames, tones)."""
    spec = torch.stft(y[0], 2048, 512, window=torch.hann_window(2048), return_complex=True).abs()
    return 20 * torch.log10(spec[TONE_BINS].t() + 1e-9)


#: tones centred on STFT bins (44100 / 2048 Hz apart): about 300, 710, 1510, 3010 and 6030 Hz
TONE_BINS = [14, 33, 70, 140, 280]


def test_phaser_knob_directions(models):
    """Notches sweeping across steady tones modulate their levels: faster with the rate, not at all at depth 0
    and more with depth up to the fitted sweep (beyond it the sweep reaches the audio band's clip, where
    the notches stop), and feedback colours the spectrum (the tones' average levels spread apart)."""
    path, sr = models["phaser-pedalboard"][0], 44100
    t = torch.arange(3 * sr) / sr
    tones = sum(torch.sin(2 * math.pi * (k * sr / 2048) * t + k) for k in TONE_BINS) * 0.1
    x = torch.stack([tones, tones]).float()
    run = lambda **k: _tone_levels_db(_run(path, x, sr, _positions("phaser-pedalboard", **k)))[4:-4]  # noqa: E731
    movement = lambda h: float((h[1:] - h[:-1]).abs().mean())  # noqa: E731 - dB per frame
    assert movement(run(rate=4.0)) > 2.0 * movement(run(rate=0.2))  # faster notch movement
    assert movement(run(depth=0.0)) < 0.01  # static notches
    assert movement(run(depth=1.0)) > 1.1 * movement(run(depth=0.5)) > 0.5  # wider sweep
    contrast = lambda h: float(h.mean(0).std())  # noqa: E731 - spread of the tones' average levels (dB)
    assert contrast(run(feedback=0.9)) > 1.5 * contrast(run(feedback=0.0))
    dry = _run(path, x, sr, _positions("phaser-pedalboard", mix=0.0))
    torch.testing.assert_close(dry, x[:, : dry.shape[1]], rtol=1e-5, atol=1e-6)


def test_compressor_knob_directions(models):
    path, sr = models["compressor-pedalboard"][0], 44100
    gen = torch.Generator().manual_seed(1)
    n = sr // 2
    x = torch.cat([0.5 * torch.randn(2, n, generator=gen), 0.05 * torch.randn(2, n, generator=gen)], 1)
    level = lambda y, a=0, b=None: float(y[:, a:b].square().mean().sqrt())  # noqa: E731
    run = lambda **k: _run(path, x, sr, _positions("compressor-pedalboard", **k))  # noqa: E731
    assert level(run(threshold=-40.0)) < 0.8 * level(run(threshold=-10.0))  # lower threshold: more reduction
    assert level(run(ratio=12.0)) < 0.8 * level(run(ratio=1.5))  # higher ratio: more reduction
    quiet = slice(n, n + sr // 5)  # the first 200 ms after the loud part: still recovering
    slow, fast = run(release=1500.0), run(release=20.0)
    assert level(slow, quiet.start, quiet.stop) < 0.8 * level(fast, quiet.start, quiet.stop)  # longer release
    assert level(run(makeup=12.0)) > 3.0 * level(run(makeup=0.0))  # make-up gain: louder


@pytest.mark.parametrize("kind", ["phaser-mlp-signed", "compressor-feedback"])
def test_other_structures_export_with_their_fitted_defaults(kind, tmp_path):
    """The paper's MLP-LFO phaser (signed feedback, TPT) and the feedback compressor as .nm files."""
    from zoo.effects.compressors import Compressor
    from zoo.effects.phasers import Phaser
    from zoo.export.neutone import save_neutone

    if kind.startswith("phaser"):
        effect = Phaser(44100, num_stages=4, stage_form="tpt", signed_feedback=True, g2=-0.4, lfo_rate_hz=2.0).eval()
    else:
        effect = Compressor(44100, detector="rms", smoothing="gain", topology="feedback", threshold_db=-25.0).eval()
    meta = save_neutone(effect, tmp_path / "m.nm", name=kind)
    if kind.startswith("phaser"):  # signed feedback: the knob reaches negative gains
        assert meta["neutone_parameters"]["p3"]["default_value"] < 0.5
    x = test_signal(44100, 0.5)[:, : 40 * BLOCK]
    out = _run(tmp_path / "m.nm", x, 44100, None)
    assert relative_error(out.double(), effect_stream(effect, x, BLOCK)) < 1e-4


def test_nm_loads_without_zoo_or_the_sdk(models, tmp_path):
    import subprocess
    import textwrap

    path = models["compressor-pedalboard"][0]
    script = textwrap.dedent(f"""
        import sys, torch
        torch.set_num_threads(1)
        model = torch.jit.load({str(path)!r})
        model.set_daw_sample_rate_and_buffer_size(44100, 512)
        y = model(torch.randn(2, 512) * 0.3)
        assert y.shape == (2, 512) and bool(torch.isfinite(y).all())
        assert "zoo" not in sys.modules and "neutone_sdk" not in sys.modules and "torchaudio" not in sys.modules
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]

"""zoo.data.render: real effects via pedalboard, configs, caching, and the time-varying ladder."""

from __future__ import annotations

import numpy as np
import pytest

pedalboard = pytest.importorskip("pedalboard")

from zoo.data import generate as g  # noqa: E402
from zoo.data import render as r  # noqa: E402

SAMPLE_RATE = 16000


def _centroid_hz(x: np.ndarray, sample_rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / sample_rate)
    return float((spec * freqs).sum() / spec.sum())


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    r._MEMORY_CACHE.clear()
    yield
    r._MEMORY_CACHE.clear()


# ----------------------------------------------------------------------------------- configs


def test_config_round_trip_and_defaults():
    effect = r.RealEffect.from_config({"kind": "phaser", "rate_hz": 0.6})
    assert effect.parameters == {
        "rate_hz": 0.6,
        "depth": 0.5,
        "centre_frequency_hz": 1300.0,
        "feedback": 0.0,
        "mix": 0.5,
    }
    assert r.RealEffect.from_config(effect.to_config()) == effect
    assert r.RealEffect.from_config(effect) is effect
    plugin = r.RealEffect.from_config({"kind": "plugin", "path": "/x/y.vst3", "parameters": {"rate": 1}})
    assert plugin.to_config() == {"kind": "plugin", "path": "/x/y.vst3", "parameters": {"rate": 1}}


@pytest.mark.parametrize(
    "config, exc, match",
    [
        ({"kind": "phaser", "rate": 1.0}, ValueError, r"'rate'.*rate_hz"),
        ({"kind": "compressor", "threshold": -10}, ValueError, "'threshold'"),
        ({"kind": "flanger"}, ValueError, "`kind`.*'flanger'"),
        ({"rate_hz": 1.0}, ValueError, "'kind'"),
        ({"kind": "plugin"}, ValueError, "`path`"),
        ({"kind": "plugin", "path": "a.vst3", "preset": "x"}, ValueError, "'preset'"),
        ({"kind": "phaser", "depth": 1.5}, ValueError, "`depth`"),
        ({"kind": "phaser", "feedback": 1.0}, ValueError, "`feedback`"),
        ({"kind": "compressor", "ratio": 0.5}, ValueError, "`ratio`"),
        ({"kind": "ladder", "mode": "LPF48"}, ValueError, "`mode`"),
        ({"kind": "ladder", "drive": "high"}, TypeError, "`drive`"),
        ("phaser", TypeError, "`config`"),
    ],
)
def test_bad_configs_name_the_key(config, exc, match):
    with pytest.raises(exc, match=match):
        r.RealEffect.from_config(config)


def test_frequency_above_nyquist_is_refused():
    x = np.zeros(100, np.float32)
    with pytest.raises(ValueError, match="`centre_frequency_hz`"):
        r.render_effect(x, 2000, {"kind": "phaser", "centre_frequency_hz": 1300.0})


# ----------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "phaser", "rate_hz": 2.0, "depth": 0.9, "feedback": 0.5},
        {"kind": "compressor", "threshold_db": -30.0, "ratio": 8.0, "attack_ms": 1.0, "release_ms": 50.0},
        {"kind": "ladder", "mode": "LPF24", "cutoff_hz": 500.0, "resonance": 0.3},
    ],
)
def test_builtins_change_audio_and_are_deterministic(config):
    dry = g.music_mix(SAMPLE_RATE, 2.0, seed=0)
    wet = r.render_effect(dry, SAMPLE_RATE, config)
    again = r.RealEffect.from_config(config).render(dry, SAMPLE_RATE)
    assert wet.shape == dry.shape and wet.dtype == np.float32
    np.testing.assert_array_equal(wet, again)
    assert np.sqrt(np.mean((wet - dry) ** 2)) > 0.01 * np.sqrt(np.mean(dry**2))


def test_compressor_reduces_loud_passages_more_than_quiet_ones():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    dry = np.concatenate([0.9 * tone, 0.01 * tone])
    wet = r.render_effect(dry, SAMPLE_RATE, {"kind": "compressor", "threshold_db": -20.0, "ratio": 10.0})
    loud_gain = np.sqrt(np.mean(wet[4000:16000] ** 2) / np.mean(dry[4000:16000] ** 2))
    quiet_gain = np.sqrt(np.mean(wet[-8000:] ** 2) / np.mean(dry[-8000:] ** 2))
    assert loud_gain < 0.5 and quiet_gain > 0.9


def test_ladder_low_pass_darkens():
    dry = g.noise_bursts(SAMPLE_RATE, 2.0, seed=1, gap_s=(0.0, 0.01))
    wet = r.render_effect(dry, SAMPLE_RATE, {"kind": "ladder", "mode": "LPF24", "cutoff_hz": 300.0})
    assert _centroid_hz(wet, SAMPLE_RATE) < 0.5 * _centroid_hz(dry, SAMPLE_RATE)


def test_render_shapes():
    mono = g.chirp_train(SAMPLE_RATE, 0.5, seed=0)
    effect = {"kind": "phaser"}
    assert r.render_effect(mono, SAMPLE_RATE, effect).shape == mono.shape
    stereo = np.stack([mono, 0.5 * mono])
    out = r.render_effect(stereo, SAMPLE_RATE, effect)
    assert out.shape == (2, mono.size)
    with pytest.raises(ValueError, match="`dry`"):
        r.render_effect(stereo.T, SAMPLE_RATE, effect)


def test_plugin_path_is_checked_and_parameters_are_passed(tmp_path, monkeypatch):
    missing = tmp_path / "Missing.vst3"
    with pytest.raises(FileNotFoundError, match="Missing.vst3"):
        r.render_effect(np.zeros(64, np.float32), SAMPLE_RATE, {"kind": "plugin", "path": str(missing)})

    fake = tmp_path / "Fake.vst3"
    fake.write_bytes(b"")
    seen = {}

    def fake_load(path, parameter_values=None, plugin_name=None):
        seen.update(path=path, parameter_values=parameter_values, plugin_name=plugin_name)
        return pedalboard.Gain(gain_db=parameter_values["gain_db"])

    monkeypatch.setattr(pedalboard, "load_plugin", fake_load)
    config = {"kind": "plugin", "path": str(fake), "parameters": {"gain_db": -6.0}, "plugin_name": "Fake"}
    x = np.full(256, 0.5, np.float32)
    y = r.render_effect(x, SAMPLE_RATE, config)
    assert seen == {"path": str(fake), "parameter_values": {"gain_db": -6.0}, "plugin_name": "Fake"}
    np.testing.assert_allclose(y, 0.5 * 10 ** (-6 / 20), rtol=1e-4)

    def failing_load(path, parameter_values=None, plugin_name=None):
        raise ValueError("no such parameter 'gain_db'")

    monkeypatch.setattr(pedalboard, "load_plugin", failing_load)
    with pytest.raises(ValueError, match="Fake.vst3"):
        r.render_effect(x, SAMPLE_RATE, config)


# ----------------------------------------------------------------------------------- caching


def test_render_generated_is_cached_on_disk(tmp_path, monkeypatch):
    effect = {"kind": "phaser", "rate_hz": 1.0}
    dry, wet = r.render_generated(effect, "chirp_train", SAMPLE_RATE, 1.0, seed=3, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and dry.shape == wet.shape == (1, SAMPLE_RATE)
    assert not wet.flags.writeable

    r._MEMORY_CACHE.clear()

    def boom(*args, **kwargs):
        raise AssertionError("should have been read from the cache")

    monkeypatch.setattr(r, "render_effect", boom)
    dry2, wet2 = r.render_generated(effect, "chirp_train", SAMPLE_RATE, 1.0, seed=3, cache_dir=tmp_path)
    np.testing.assert_array_equal(wet, wet2)
    np.testing.assert_array_equal(dry, dry2)
    # Served from memory too, with no disk at all.
    r.render_generated(effect, "chirp_train", SAMPLE_RATE, 1.0, seed=3)


def test_cache_key_covers_config_material_and_seed():
    base = dict(effect={"kind": "phaser"}, material="chirp_train", sample_rate=SAMPLE_RATE, duration_s=1.0, seed=0)
    key = r.render_cache_key(**base)
    assert key == r.render_cache_key(**base)
    assert key != r.render_cache_key(**{**base, "seed": 1})
    assert key != r.render_cache_key(**{**base, "effect": {"kind": "phaser", "rate_hz": 2.0}})
    assert key != r.render_cache_key(**{**base, "material": "music_mix"})
    assert key != r.render_cache_key(**base, material_kwargs={"level_db": (-6, -3)})
    assert key != r.render_cache_key(**{**base, "sample_rate": 8000})


def test_render_generated_matches_direct_render():
    effect = {"kind": "compressor", "threshold_db": -24.0, "ratio": 4.0}
    dry, wet = r.render_generated(effect, "music_mix", SAMPLE_RATE, 1.5, seed=2, channels=2)
    assert dry.shape == (2, 24000)
    np.testing.assert_array_equal(dry[0], g.music_mix(SAMPLE_RATE, 1.5, seed=2))
    np.testing.assert_array_equal(wet, r.render_effect(dry, SAMPLE_RATE, effect))


# ----------------------------------------------------------------------------------- ladder voice


def test_block_ladder_with_constant_cutoff_equals_one_static_call():
    # reset=False carries the filter state across blocks: a constant cutoff must give the same
    # output as one call over the whole signal.
    dry = g.bass_line(SAMPLE_RATE, 0.5, seed=0).audio
    blocks = r.render_time_varying_ladder(dry, SAMPLE_RATE, 800.0, resonance=0.5, block_samples=32)
    static = r.render_effect(
        dry, SAMPLE_RATE, {"kind": "ladder", "mode": "LPF24", "cutoff_hz": 800.0, "resonance": 0.5}
    )
    np.testing.assert_allclose(blocks, static, atol=1e-5)


def test_ladder_cutoff_really_varies_over_a_note():
    sample_rate = 48000
    note = g.AcidNote(
        f0_hz=55.0,
        note_on_samples=12000,
        num_samples=12000,
        midi_pitch=33,
        velocity=1.0,
        saw_mix=1.0,
        env_exponent=0.5,
        osc_gain=0.8,
        phase=0.0,
        cutoff_hz=200.0,
        env_mod_hz=6000.0,
        filter_decay_ms=40.0,
        resonance=0.2,
        drive=1.0,
        dist_gain=1.0,
    )
    cutoff = r.acid_cutoff_hz(note, sample_rate)
    assert cutoff[0] == pytest.approx(6200.0) and cutoff[-1] < 215.0
    y = r.render_acid_note(note, sample_rate)
    assert y.shape == (12000,) and y.dtype == np.float32 and np.max(np.abs(y)) < 1.0
    early = _centroid_hz(y[:2048], sample_rate)
    late = _centroid_hz(y[-4096:], sample_rate)
    assert early > 3 * late
    # The source alone (no filter sweep) does not darken like that.
    src = g.acid_source(note, sample_rate)
    assert _centroid_hz(src[:2048], sample_rate) < 2 * _centroid_hz(src[-4096:], sample_rate)


def test_time_varying_ladder_checks_cutoff_shape():
    with pytest.raises(ValueError, match="`cutoff_hz`"):
        r.render_time_varying_ladder(np.zeros(100, np.float32), SAMPLE_RATE, np.ones(99) * 500)


def test_render_acid_notes_cache_and_determinism(tmp_path):
    notes = g.acid_notes(SAMPLE_RATE, 4, seed=0, note_samples=1000)
    a = r.render_acid_notes(notes, SAMPLE_RATE, cache_dir=tmp_path)
    assert a.shape == (4, 1000) and len(list(tmp_path.glob("*.npy"))) == 1
    r._MEMORY_CACHE.clear()
    b = r.render_acid_notes(notes, SAMPLE_RATE, cache_dir=tmp_path)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[2], r.render_acid_note(notes[2], SAMPLE_RATE))
    with pytest.raises(ValueError, match="`notes`"):
        r.render_acid_notes([], SAMPLE_RATE)


# ----------------------------------------------------------------------------------- optional deps


def test_missing_pedalboard_raises_a_helpful_import_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pedalboard", None)  # makes `import pedalboard` fail
    with pytest.raises(ImportError, match=r"pip install 'allpole-zoo\[train\]'"):
        r.render_effect(np.zeros(64, np.float32), SAMPLE_RATE, {"kind": "phaser"})
    # Configs and generation need no pedalboard.
    assert r.RealEffect.from_config({"kind": "phaser"}).kind == "phaser"


def test_importing_zoo_data_pulls_no_optional_dependency():
    import subprocess
    import sys

    code = (
        "import sys, zoo.data; "
        "bad = [m for m in ('pedalboard', 'lightning', 'pytorch_lightning') if m in sys.modules]; "
        "assert not bad, bad"
    )
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=repo)
    assert result.returncode == 0, result.stderr

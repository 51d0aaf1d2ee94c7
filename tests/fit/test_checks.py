"""Each data check of `zoo fit` with a bad file: one clear line naming the file, or a refusal."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from zoo.fit.checks import check_pair, load_pair

SR = 16000


def _pair(seconds: float = 3.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    dry = (0.2 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    wet = np.tanh(2.0 * dry).astype(np.float32) * 0.5
    return dry, wet


def _write(tmp_path, name, audio, rate=SR):
    path = tmp_path / name
    sf.write(str(path), audio, rate, subtype="FLOAT")
    return path


def test_clean_pair_has_no_notes():
    dry, wet = _pair()
    data = check_pair(dry, wet, SR)
    assert data.notes == [] and data.latency_samples == 0 and not data.polarity_flipped


def test_lengths_differ_trims_and_names_file(tmp_path):
    dry, wet = _pair()
    data = load_pair(_write(tmp_path, "d.wav", dry), _write(tmp_path, "w.wav", wet[:-500]))
    assert data.num_samples == len(dry) - 500
    assert any("d.wav" in n and "lengths differ" in n for n in data.notes)


def test_sample_rates_differ_refused_then_resampled(tmp_path):
    dry, wet = _pair()
    d = _write(tmp_path, "d.wav", dry)
    w = _write(tmp_path, "w.wav", np.repeat(wet, 2), rate=2 * SR)
    with pytest.raises(ValueError, match="w.wav.*--resample"):
        load_pair(d, w)
    data = load_pair(d, w, resample=True)
    assert any("resampled" in n for n in data.notes)


def test_latency_compensated():
    dry, wet = _pair()
    delayed = np.concatenate([np.zeros(37, np.float32), wet[:-37]])
    data = check_pair(dry, delayed, SR, wet_name="late.wav")
    assert data.latency_samples == 37
    assert any("late.wav" in n and "latency of 37 samples" in n for n in data.notes)
    np.testing.assert_allclose(data.wet[: len(wet) - 37], wet[: len(wet) - 37], atol=1e-7)


def test_polarity_flipped():
    dry, wet = _pair()
    data = check_pair(dry, -wet, SR, wet_name="inv.wav")
    assert data.polarity_flipped and any("inv.wav" in n and "polarity" in n for n in data.notes)
    np.testing.assert_allclose(data.wet, wet, atol=1e-7)


def test_dc_removed():
    dry, wet = _pair()
    data = check_pair(dry, wet + 0.1, SR, wet_name="dc.wav")
    assert any("dc.wav" in n and "DC offset" in n for n in data.notes)
    assert abs(float(np.mean(data.wet))) < 1e-4


def test_clipped_wet_warned():
    dry, wet = _pair()
    clipped = np.clip(wet * 8.0, -1.0, 1.0)
    data = check_pair(dry, clipped, SR, wet_name="hot.wav")
    assert any("hot.wav" in n and "clipped" in n for n in data.notes)


@pytest.mark.parametrize("case", ["silent", "identical"])
def test_refusals(case):
    dry, wet = _pair()
    bad = np.zeros_like(wet) if case == "silent" else dry.copy()
    with pytest.raises(ValueError, match="bad.wav") as info:
        check_pair(dry, bad, SR, wet_name="bad.wav")
    assert "\n" not in str(info.value)


def test_unreadable_and_missing(tmp_path):
    dry, _ = _pair()
    d = _write(tmp_path, "d.wav", dry)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio")
    with pytest.raises(ValueError, match="junk.wav"):
        load_pair(d, junk)
    with pytest.raises(ValueError, match="missing.wav: file not found"):
        load_pair(d, tmp_path / "missing.wav")


def test_non_finite_sample_named_by_frame_or_zeroed(tmp_path):
    dry, wet = _pair()
    wet = wet.copy()
    wet[4321] = np.nan
    d, w = _write(tmp_path, "dry.wav", dry), _write(tmp_path, "wet.wav", wet)
    with pytest.raises(ValueError, match=r"wet.wav: non-finite sample .* frame 4321, channel 0; .*--nan zero"):
        load_pair(d, w)
    data = load_pair(d, w, nan="zero")
    assert np.isfinite(data.wet).all()
    assert any("replaced 1 non-finite samples" in note and "frame 4321" in note for note in data.notes)

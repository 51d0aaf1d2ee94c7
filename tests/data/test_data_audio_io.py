"""zoo.data.audio_io: round trips, resampling, channels, and errors that name the file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from zoo.data.audio_io import AudioFileError, audio_info, convert_channels, load_audio, resample, save_audio


def _tone(sample_rate: int, n: int, f_hz: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(n) / sample_rate
    x = 0.5 * np.sin(2 * np.pi * f_hz * t).astype(np.float32)
    return np.stack([x * (0.5 + 0.5 * c) for c in range(channels)])


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_round_trip(tmp_path, ext):
    x = _tone(16000, 1600, channels=2)
    path = save_audio(tmp_path / f"a{ext}", x, 16000)
    y, rate = load_audio(path)
    assert rate == 16000 and y.shape == (2, 1600) and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-4 if ext == ".flac" else 0)
    info = audio_info(path)
    assert (info.sample_rate, info.num_frames, info.num_channels) == (16000, 1600, 2)
    assert info.duration_s == pytest.approx(0.1)


def test_partial_read(tmp_path):
    x = _tone(8000, 800)
    path = save_audio(tmp_path / "a.wav", x, 8000)
    y, _ = load_audio(path, start=100, stop=300)
    np.testing.assert_array_equal(y, x[:, 100:300])


def test_resample_on_load(tmp_path):
    x = _tone(16000, 16000, f_hz=1000.0)
    path = save_audio(tmp_path / "a.wav", x, 16000)
    y, rate = load_audio(path, 8000)
    assert rate == 8000 and y.shape == (1, 8000)
    spec = np.abs(np.fft.rfft(y[0] * np.hanning(8000)))
    assert abs(np.argmax(spec) * 8000 / 8000 - 1000.0) <= 1.0


def test_resample_refused_names_file_and_both_rates(tmp_path):
    path = save_audio(tmp_path / "slow.wav", _tone(16000, 160), 16000)
    with pytest.raises(AudioFileError) as info:
        load_audio(path, 44100, allow_resample=False)
    message = str(info.value)
    assert str(path) in message and "44100" in message and "16000" in message
    assert info.value.path == path


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        load_audio(missing)
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        audio_info(missing)


def test_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "garbage.wav"
    bad.write_bytes(b"RIFF\x00\x00this is not audio" * 3)
    with pytest.raises(AudioFileError, match="garbage.wav"):
        load_audio(bad)
    with pytest.raises(AudioFileError, match="garbage.wav"):
        audio_info(bad)
    with pytest.raises(AudioFileError, match="Expected an audio file"):
        load_audio(tmp_path)


def test_channels(tmp_path):
    stereo = save_audio(tmp_path / "s.wav", _tone(8000, 80, channels=2), 8000)
    mono, _ = load_audio(stereo, channels=1)
    np.testing.assert_allclose(mono[0], _tone(8000, 80, channels=2).mean(0), atol=1e-7)
    wide = convert_channels(mono, 3)
    assert wide.shape == (3, 80)
    three = save_audio(tmp_path / "t.wav", np.zeros((3, 80), np.float32), 8000)
    with pytest.raises(AudioFileError, match="t.wav"):
        load_audio(three, channels=2)


def test_resample_shapes_and_identity():
    x = np.random.default_rng(0).standard_normal((2, 3, 4410)).astype(np.float32)
    assert resample(x, 44100, 44100) is not None
    np.testing.assert_array_equal(resample(x, 44100, 44100), x)
    y = resample(x, 44100, 16000)
    assert y.shape == (2, 3, 1600) and y.dtype == np.float32
    # Channels are resampled independently.
    np.testing.assert_allclose(y[1, 2], resample(x[1, 2], 44100, 16000), atol=1e-6)


def test_save_errors(tmp_path):
    with pytest.raises(ValueError, match="`audio`"):
        save_audio(tmp_path / "x.wav", np.zeros((1, 2, 3)), 8000)
    with pytest.raises(ValueError, match="`sample_rate`"):
        save_audio(tmp_path / "x.wav", np.zeros(3), 0)


def test_torch_tensor_can_be_saved(tmp_path):
    torch = pytest.importorskip("torch")
    path = save_audio(tmp_path / "x.wav", torch.zeros(1, 10), 8000)
    assert sf.info(str(path)).frames == 10

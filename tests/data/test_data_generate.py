"""zoo.data.generate: determinism, shapes, ranges, and that each signal is what it claims to be."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.data import generate as g

NAMES = sorted(g.MATERIALS)


def _rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(math.sqrt(float(np.mean(x.astype(np.float64) ** 2))) + 1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_material_is_deterministic_float32_in_range(name):
    a = g.generate_material(name, 16000, 3.0, seed=7)
    b = g.generate_material(name, 16000, 3.0, seed=7)
    c = g.generate_material(name, 16000, 3.0, seed=8)
    assert a.dtype == np.float32 and a.shape == (48000,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.isfinite(a)) and np.max(np.abs(a)) <= 1.0
    assert np.max(np.abs(a)) > 0.05  # not silent


@settings(max_examples=12, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    sample_rate=st.sampled_from([8000, 11025, 22050, 44100, 48000, 96000]),
    duration_s=st.floats(0.05, 1.5),
    seed=st.integers(0, 2**31 - 1),
)
def test_material_shape_and_range_at_any_rate(name, sample_rate, duration_s, seed):
    x = g.generate_material(name, sample_rate, duration_s, seed)
    assert x.shape == (max(1, round(duration_s * sample_rate)),)
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0


def test_chirp_train_sweeps_upward_over_the_band():
    sample_rate = 16000
    x = g.chirp_train(sample_rate, 4.0, seed=1, sweep_s=(1.0, 1.0), gap_s=(0.1, 0.1), level_db=(-6, -6))
    # One 1 s sweep: the dominant frequency rises from ~20 Hz to ~0.9 Nyquist, log-spaced in time.
    sweep = x[:sample_rate].astype(np.float64)
    frame = 512
    peaks = []
    for start in range(0, sample_rate - frame, frame):
        spec = np.abs(np.fft.rfft(sweep[start : start + frame] * np.hanning(frame)))
        peaks.append(np.argmax(spec) * sample_rate / frame)
    assert peaks[-1] > 0.6 * sample_rate / 2
    assert np.all(np.diff(peaks) >= -sample_rate / frame)  # monotone up to one bin
    # A sweep takes the same time per octave: the midpoint is near the geometric mean frequency.
    mid = np.argmax(np.abs(np.fft.rfft(sweep[sample_rate // 2 - 256 : sample_rate // 2 + 256] * np.hanning(512))))
    geo = math.sqrt(20.0 * 0.9 * sample_rate / 2)
    assert abs(mid * sample_rate / 512 - geo) < 0.35 * geo
    # Gaps are silent and the level is the requested one.
    assert np.max(np.abs(x[sample_rate + 10 : sample_rate + int(0.09 * sample_rate)])) == 0.0
    assert abs(20 * math.log10(np.max(np.abs(sweep))) + 6.0) < 0.1


def test_pluck_pitch_is_exact():
    rng = np.random.default_rng(0)
    for sample_rate, f0 in [(44100, 110.0), (44100, 329.63), (16000, 523.25)]:
        x = g._pluck(f0, sample_rate, sample_rate, rng, brightness=0.8, decay_s=2.0, pluck_position=0.2)
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size), 8 * x.size))
        freqs = np.fft.rfftfreq(8 * x.size, 1 / sample_rate)
        band = (freqs > 0.7 * f0) & (freqs < 1.3 * f0)
        assert abs(freqs[band][np.argmax(spec[band])] - f0) < 0.5


def test_bass_line_events_match_audio():
    sample_rate = 16000
    audio, events = g.bass_line(sample_rate, 4.0, seed=3, tempo_bpm=120.0)
    assert audio.shape == (64000,) and len(events) > 5
    step = sample_rate * 15 // 120
    for a, b in zip(events, events[1:]):
        assert b.onset_samples > a.onset_samples
    for ev in events:
        assert ev.onset_samples % step == 0  # on the 16th grid
        assert 0 < ev.velocity <= 1.0 and ev.length_samples > 0
        assert abs(ev.f0_hz - g.midi_to_hz(ev.midi_pitch)) < 1e-9
        seg = audio[ev.onset_samples : ev.onset_samples + min(ev.length_samples, 400)]
        assert np.max(np.abs(seg)) > 0.01  # sound where a note is
    # Silence before the first note, if it does not start at 0.
    if events[0].onset_samples > 0:
        assert np.max(np.abs(audio[: events[0].onset_samples])) == 0.0


def test_bass_line_waveform_option():
    saw = g.bass_line(16000, 1.0, seed=0, waveform="saw", rest_probability=0.0).audio
    square = g.bass_line(16000, 1.0, seed=0, waveform="square", rest_probability=0.0).audio
    assert not np.allclose(saw, square)


def test_music_mix_has_loud_and_quiet_passages():
    sample_rate = 16000
    x = g.music_mix(sample_rate, 20.0, seed=2)
    frames = x[: x.size // 4000 * 4000].reshape(-1, 4000)
    levels = [_rms_db(f) for f in frames]
    assert max(levels) > -25 and max(levels) - min(levels) > 15


def test_noise_bursts_have_silences_and_levels():
    x = g.noise_bursts(16000, 5.0, seed=4)
    assert np.mean(x == 0.0) > 0.05
    assert np.max(np.abs(x)) <= 10 ** (-3 / 20) + 1e-6


def test_drum_hits_start_with_a_hit_on_the_downbeat():
    x = g.drum_hits(16000, 2.0, seed=5, tempo_bpm=120.0, swing=0.0)
    assert np.max(np.abs(x[:800])) > 0.1  # the kick on step 0 (within timing jitter)


def test_chirp_then_pluck_layout():
    x = g.chirp_then_pluck(16000, 4.0, seed=0, chirp_s=3.0)
    chirp = g.chirp_train(16000, 3.0, int(np.random.SeedSequence(0).generate_state(2)[0]))
    np.testing.assert_array_equal(x[:48000], chirp)


def test_oscillator_is_band_limited_and_mixes():
    sample_rate = 16000
    f0 = 1234.5
    saw = g.oscillator(f0, sample_rate, sample_rate, saw_mix=1.0).astype(np.float64)
    square = g.oscillator(f0, sample_rate, sample_rate, saw_mix=0.0).astype(np.float64)
    mix = g.oscillator(f0, sample_rate, sample_rate, saw_mix=0.25).astype(np.float64)
    np.testing.assert_allclose(mix, 0.25 * saw + 0.75 * square, atol=1e-5)
    # A square wave has (almost) no even harmonics, a saw has them.
    spec = lambda x: np.abs(np.fft.rfft(x * np.hanning(x.size)))  # noqa: E731
    bin_of = lambda f: int(round(f * x_len / sample_rate))  # noqa: E731
    x_len = sample_rate
    assert spec(square)[bin_of(2 * f0)] < 0.05 * spec(square)[bin_of(f0)]
    assert spec(saw)[bin_of(2 * f0)] > 0.3 * spec(saw)[bin_of(f0)]
    # PolyBLEP: aliasing far below a naive saw's.
    t = np.mod(np.arange(sample_rate) * f0 / sample_rate, 1.0)
    naive = 2 * t - 1
    harmonics = {bin_of(k * f0) for k in range(1, int(sample_rate / 2 / f0) + 1)}

    def alias_energy(x):
        s = spec(x) ** 2
        mask = np.ones_like(s, dtype=bool)
        for h in harmonics:
            mask[max(h - 3, 0) : h + 4] = False
        return s[mask].sum() / s.sum()

    assert alias_energy(saw) < 0.3 * alias_energy(naive)


def test_acid_notes_ranges_and_source():
    notes = g.acid_notes(48000, 50, seed=1)
    assert len(notes) == 50
    assert notes == g.acid_notes(48000, 50, seed=1)
    for n in notes:
        assert n.num_samples == 6000 and 1 <= n.note_on_samples <= 6000
        assert 36 <= n.midi_pitch <= 60 and n.saw_mix in (0.0, 1.0)
        assert 0.1 <= n.env_exponent <= 6 and 0.01 <= n.osc_gain <= 1 and 0.01 <= n.dist_gain <= 4
        assert 0 <= n.resonance < 1 and n.drive >= 1
        assert n.cutoff_hz + n.env_mod_hz <= 0.45 * 48000 + 1e-6
    note = notes[0]
    s = g.acid_source(note, 48000)
    assert s.shape == (6000,) and s.dtype == np.float32
    assert np.all(s[note.note_on_samples :] == 0.0)  # the envelope closes at N_on
    assert np.max(np.abs(s)) <= note.osc_gain + 1e-5
    d = note.to_dict()
    assert d["note_on_samples"] == note.note_on_samples and isinstance(d["f0_hz"], float)


def test_acid_notes_waveform_mix_is_continuous():
    notes = g.acid_notes(48000, 20, seed=0, waveform="mix")
    assert len({round(n.saw_mix, 6) for n in notes}) > 2


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: g.chirp_train(-1, 1.0), "`sample_rate`"),
        (lambda: g.chirp_train(16000, 0.0), "`duration_s`"),
        (lambda: g.chirp_train(16000, 1.0, seed=-3), "`seed`"),
        (lambda: g.chirp_train(16000, 1.0, f_stop_hz=9000.0), "`f_stop_hz`"),
        (lambda: g.chirp_train(16000, 1.0, level_db=(0.0, -6.0)), "`level_db`"),
        (lambda: g.plucked_phrase(16000, 1.0, scale="blues"), "`scale`"),
        (lambda: g.bass_line(16000, 1.0, waveform="sine"), "`waveform`"),
        (lambda: g.oscillator(9000.0, 10, 16000), "`f0_hz`"),
        (lambda: g.acid_notes(16000, 0), "`num_notes`"),
        (lambda: g.acid_notes(8000, 3, midi_range=(60, 120)), "`midi_range`"),
        (lambda: g.generate_material("sine", 16000, 1.0), "`material`"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_type_errors_follow_house_form():
    with pytest.raises(TypeError, match=r"Unexpected type for `sample_rate`: expected int, found str"):
        g.chirp_train("44100", 1.0)
    with pytest.raises(TypeError, match="Unexpected option for material 'chirp_train'"):
        g.generate_material("chirp_train", 16000, 1.0, 0, colour="red")
    # Integral floats from YAML are fine.
    assert g.chirp_train(16000.0, 0.1).shape == (1600,)

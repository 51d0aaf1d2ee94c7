"""The paper's datasets by path (tiny fake files), the MIDI parser, and the synth note datasets."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from zoo.data import generate as g
from zoo.data.audio_io import save_audio
from zoo.data.datasets import NotesDataset, SignalTrainLA2A, SmallStone, TB303Notes, cut_notes
from zoo.data.layouts import find_la2a_pairs, parse_la2a_name, small_stone_files
from zoo.data.midi import MidiFileError, midi_notes, read_midi, write_midi_notes

# ----------------------------------------------------------------------------------- SignalTrain


def test_parse_la2a_names():
    target = parse_la2a_name("target_148_LA2A_3c__0__50.wav")
    assert (target.kind, target.file_id, target.tag, target.switch, target.peak_reduction) == (
        "target",
        148,
        "3c",
        0,
        50.0,
    )
    assert target.input_name == "input_148_.wav"
    limit = parse_la2a_name("/data/Train/target_7_LA2A_3c__1__72.5.wav")
    assert (limit.file_id, limit.switch, limit.peak_reduction) == (7, 1, 72.5)
    inp = parse_la2a_name("input_148_.wav")
    assert (inp.kind, inp.file_id, inp.switch) == ("input", 148, None)
    for bad in ("target_148_LA2A_3c__2__50.wav", "input_148.wav", "target_x_LA2A_3c__0__50.wav", "song.wav"):
        with pytest.raises(ValueError, match=bad.split("/")[-1]):
            parse_la2a_name(bad)


def _la2a_tree(root, rate=8000, n=4000):
    rng = np.random.default_rng(0)
    layout = {"Train": [(1, 0, 50), (1, 1, 50), (1, 0, 25), (3, 0, 50)], "Val": [(2, 0, 50)], "Test": [(4, 0, 50)]}
    for subset, targets in layout.items():
        for file_id in {t[0] for t in targets}:
            save_audio(root / subset / f"input_{file_id}_.wav", rng.uniform(-0.5, 0.5, n), rate)
        for file_id, switch, peak in targets:
            wet = np.full(n, file_id + switch / 10 + peak / 1000, np.float32)
            save_audio(root / subset / f"target_{file_id}_LA2A_3c__{switch}__{peak}.wav", wet, rate)
    return layout


def test_find_la2a_pairs_and_selection(tmp_path):
    _la2a_tree(tmp_path)
    pairs = find_la2a_pairs(tmp_path, peak_reduction=50, switch=0)
    assert [(p.subset, p.file_id) for p in pairs] == [("Test", 4), ("Train", 1), ("Train", 3), ("Val", 2)]
    assert all(p.input_path.name == f"input_{p.file_id}_.wav" for p in pairs)
    assert len(find_la2a_pairs(tmp_path, subsets=["Train"])) == 4
    assert [p.switch for p in find_la2a_pairs(tmp_path, switch=1)] == [1]
    assert [p.file_id for p in find_la2a_pairs(tmp_path, file_ids=[3])] == [3]
    with pytest.raises(ValueError, match=r"peak reductions \[25.0, 50.0\]"):
        find_la2a_pairs(tmp_path, peak_reduction=75)


def test_la2a_missing_input_is_named(tmp_path):
    save_audio(tmp_path / "target_9_LA2A_3c__0__50.wav", np.zeros(10), 8000)
    with pytest.raises(FileNotFoundError, match="target_9_LA2A_3c__0__50.wav.*input_9_.wav"):
        find_la2a_pairs(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_la2a_pairs(tmp_path / "nowhere")


def test_signaltrain_dataset_items(tmp_path):
    _la2a_tree(tmp_path)
    ds = SignalTrainLA2A(tmp_path, peak_reduction=50, subsets=["Train"], split="all", segment_samples=1000)
    assert len(ds) == 2 * 4  # files 1 and 3, four segments each
    values = sorted({round(float(item["target"][0, 0]), 4) for item in ds})
    assert values == [1.05, 3.05]
    timed = SignalTrainLA2A(
        tmp_path,
        peak_reduction=50,
        file_ids=[2],
        split_ranges_s={"train": (0, 0.25), "test": (0.25, None)},
        split="test",
    )
    assert len(timed) == 1 and timed[0]["input"].shape == (1, 2000)
    with pytest.raises(ValueError, match="`switch`"):
        SignalTrainLA2A(tmp_path, switch=2)


# ----------------------------------------------------------------------------------- Small Stone


def test_small_stone_layout_and_protocol(tmp_path):
    rate = 1000
    n = 80 * rate
    dry = np.linspace(-1, 1, n).astype(np.float32)
    save_audio(tmp_path / "dry.wav", dry, rate)
    save_audio(tmp_path / "ss-a.wav", -dry, rate)
    save_audio(tmp_path / "ss-c.wav", 0.5 * dry, rate)
    assert small_stone_files(tmp_path, "SS-A") == (tmp_path / "dry.wav", tmp_path / "ss-a.wav")
    train = SmallStone(tmp_path, "ss-a", split="train")
    test = SmallStone(tmp_path, "ss-a", split="test")
    assert train.ranges == [(55 * rate, 60 * rate)] and test.ranges == [(55 * rate, 70 * rate)]
    assert len(train) == 1 and train[0]["input"].shape == (1, 5 * rate)
    np.testing.assert_array_equal(test[0]["target"].numpy()[0], -dry[55 * rate : 70 * rate])
    # SS-C trains on 15 s in the authors' runs; segments are cut inside the ranges.
    ss_c = SmallStone(tmp_path, "ss-c", split="train", segment_samples=5 * rate)
    assert ss_c.ranges == [(45 * rate, 60 * rate)] and len(ss_c) == 3
    custom = SmallStone(tmp_path, "ss-a", split="val", split_fractions=(0.5, 0.25, 0.25))
    assert custom.ranges == [(40 * rate, 60 * rate)]


def test_small_stone_original_names_and_missing_files(tmp_path):
    save_audio(tmp_path / "input_dry.wav", np.zeros(100), 1000)
    save_audio(tmp_path / "colour=0_rate=12oclock.wav", np.zeros(100), 1000)
    dry, wet = small_stone_files(tmp_path, "ss-b")
    assert dry.name == "input_dry.wav" and wet.name == "colour=0_rate=12oclock.wav"
    with pytest.raises(FileNotFoundError, match=r"ss-d\.wav.*colour=1_rate=3oclock\.wav"):
        small_stone_files(tmp_path, "ss-d")
    with pytest.raises(ValueError, match="`setting`"):
        small_stone_files(tmp_path, "ss-z")
    custom = small_stone_files(
        tmp_path, "ss-b", dry_name="input_dry.wav", wet_names={"ss-b": "colour=0_rate=12oclock.wav"}
    )
    assert custom == (dry, wet)


# ----------------------------------------------------------------------------------- MIDI


def _smf(fmt: int, division: int, tracks: list[bytes]) -> bytes:
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division)
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


TEMPO_TRACK = bytes.fromhex(
    "00 FF 51 03 07 A1 20"  # 500000 us per quarter (120 BPM) at tick 0
    "81 40 FF 51 03 0F 42 40"  # delta 192 (VLQ 81 40): 1000000 us (60 BPM) from tick 192 = 1 s
    "00 FF 2F 00"
)
NOTE_TRACK = bytes.fromhex(
    "00 FF 03 04 62 61 73 73"  # track name "bass"
    "00 F0 03 7E 7F F7"  # a sysex event (skipped)
    "00 90 24 64"  # tick 0: note on C2 (36), velocity 100
    "30 24 00"  # tick 48, running status: note on with velocity 0 = note off
    "00 28 50"  # tick 48, running status: note on 40, velocity 80
    "81 40 80 28 40"  # tick 240: note off 40
    "00 C0 05"  # program change (one data byte)
    "00 91 30 7F"  # tick 240: note on 48 on channel 1
    "60 81 30 00"  # tick 336: note off
    "00 FF 2F 00"
)


def test_midi_parser_on_handwritten_file(tmp_path):
    path = tmp_path / "loop.mid"
    path.write_bytes(_smf(1, 96, [TEMPO_TRACK, NOTE_TRACK]))
    midi = read_midi(path)
    assert midi.format == 1 and midi.ticks_per_beat == 96 and len(midi.tracks) == 2
    assert [e.tempo_us for e in midi.tracks[0] if e.kind == "set_tempo"] == [500000, 1000000]
    np.testing.assert_allclose(midi.ticks_to_seconds([0, 96, 192, 240, 336]), [0.0, 0.5, 1.0, 1.5, 2.5])
    notes = midi_notes(path)
    got = [(n.pitch, n.velocity, n.channel, n.start_s, n.end_s) for n in notes]
    assert got == [(36, 100, 0, 0.0, 0.25), (40, 80, 0, 0.25, 1.5), (48, 127, 1, 1.5, 2.5)]
    assert notes[0].f0_hz == pytest.approx(65.406, abs=1e-3)
    assert [n.pitch for n in midi_notes(path, channels=[1])] == [48]
    # Same result from the bytes.
    assert midi_notes(path.read_bytes()) == notes


def test_midi_smpte_division_and_open_notes():
    division = (0x100 - 25) << 8 | 40  # -25 fps, 40 ticks per frame = 1000 ticks per second
    track = bytes.fromhex("00 90 3C 40" "83 74 80 3C 00" "00 90 3E 40" "81 48 FF 2F 00")  # 500, then 200
    notes = midi_notes(_smf(0, division, [track]))
    assert [n.pitch for n in notes] == [60, 62]
    np.testing.assert_allclose([(n.start_s, n.end_s) for n in notes], [(0.0, 0.5), (0.5, 0.7)])


def test_midi_writer_round_trip(tmp_path):
    path = write_midi_notes(tmp_path / "w.mid", [(36, 0.0, 0.1, 100), (48, 0.25, 0.5, 64)], tempo_bpm=125)
    notes = midi_notes(path)
    assert [(n.pitch, n.velocity) for n in notes] == [(36, 100), (48, 64)]
    np.testing.assert_allclose([n.start_s for n in notes], [0.0, 0.25], atol=1e-3)
    np.testing.assert_allclose([n.end_s for n in notes], [0.1, 0.5], atol=1e-3)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"RIFF....", "MThd"),
        (_smf(0, 96, [bytes.fromhex("00 3C 40")]), "running status"),
        (_smf(0, 96, [bytes.fromhex("00 90 3C")]), r"expected 2 more byte\(s\), found 1"),
        (_smf(0, 96, [bytes.fromhex("00 F2 00 00")]), "system message"),
        (_smf(3, 96, []), "format 3"),
        (_smf(0, 96, [b""])[:-4] + b"MTrk\x00\x00\x00\x09", "past the end"),
    ],
    ids=["not-smf", "no-running-status", "truncated", "system-message", "bad-format", "chunk-too-long"],
)
def test_malformed_midi_names_the_file(tmp_path, data, match):
    path = tmp_path / "broken.mid"
    path.write_bytes(data)
    with pytest.raises(MidiFileError, match=f"broken.mid.*{match}"):
        read_midi(path)


def test_missing_midi_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.mid"):
        read_midi(tmp_path / "absent.mid")


# ----------------------------------------------------------------------------------- notes


def test_notes_dataset_splits_60_20_20_by_note():
    audio = np.arange(50, dtype=np.float32)[:, None].repeat(10, 1)
    kwargs = dict(f0_hz=np.full(50, 110.0), note_on_samples=np.full(50, 5), sample_rate=1000)
    splits = {s: NotesDataset(audio, **kwargs, split=s) for s in ("train", "val", "test")}
    assert [len(splits[s]) for s in ("train", "val", "test")] == [30, 10, 10]
    ids = [set(d.indices.tolist()) for d in splits.values()]
    assert set.union(*ids) == set(range(50)) and sum(len(i) for i in ids) == 50
    ordered = NotesDataset(audio, **kwargs, split="val", shuffle_split=False)
    assert ordered.indices.tolist() == list(range(30, 40))
    item = ordered[0]
    assert item["target"].shape == (1, 10) and float(item["target"][0, 0]) == 30.0
    assert item["f0_hz"].dtype == torch.float32 and item["note_on_samples"].dtype == torch.int64
    assert float(item["note_on_s"]) == pytest.approx(0.005)
    reshuffled = NotesDataset(audio, **kwargs, split="train", seed=1)
    assert set(reshuffled.indices.tolist()) != ids[0]
    with pytest.raises(ValueError, match="`f0_hz`"):
        NotesDataset(audio, f0_hz=[1.0], note_on_samples=np.full(50, 5), sample_rate=1000)


def test_synth_notes_dataset():
    pytest.importorskip("pedalboard")
    from zoo.data.datasets import SynthNotesDataset

    ds = SynthNotesDataset(10, sample_rate=16000, note_samples=2000, split="train")
    again = SynthNotesDataset(10, sample_rate=16000, note_samples=2000, split="train")
    assert len(ds) == 6
    item = ds[0]
    assert item["target"].shape == (1, 2000) and item["target"].dtype == torch.float32
    note = ds.notes[int(item["index"])]
    assert float(item["f0_hz"]) == pytest.approx(note.f0_hz, rel=1e-6)
    assert int(item["note_on_samples"]) == note.note_on_samples
    assert float(item["params"]["cutoff_hz"]) == pytest.approx(note.cutoff_hz, rel=1e-6)
    torch.testing.assert_close(item["target"], again[0]["target"])
    assert torch.max(torch.abs(item["target"])) > 0.01


def test_tb303_notes_cut_from_a_loop_with_midi(tmp_path):
    rate = 16000
    audio, events = g.bass_line(rate, 3.0, seed=0, tempo_bpm=120.0)
    wav = save_audio(tmp_path / "loop.wav", audio, rate)
    mid = write_midi_notes(
        tmp_path / "loop.mid",
        [
            (
                e.midi_pitch,
                e.onset_samples / rate,
                (e.onset_samples + e.length_samples) / rate,
                max(1, round(e.velocity * 127)),
            )
            for e in events
        ],
        tempo_bpm=120.0,
    )
    ds = TB303Notes(wav, mid, sample_rate=rate, note_samples=2000, split="all")
    assert len(ds) == len(events)
    for i in range(len(ds)):
        item, ev, midi_note = ds[i], events[i], ds.midi_notes[i]
        start = round(midi_note.start_s * rate)
        assert abs(start - ev.onset_samples) <= 10
        expected = np.pad(audio[start : start + 2000], (0, max(0, start + 2000 - audio.size)))
        np.testing.assert_array_equal(item["target"][0].numpy(), expected)
        assert float(item["f0_hz"]) == pytest.approx(ev.f0_hz, rel=1e-5)
        assert abs(int(item["note_on_samples"]) - min(ev.length_samples, 2000)) <= 20
        assert int(item["midi_pitch"]) == ev.midi_pitch
    splits = [len(TB303Notes(wav, mid, sample_rate=rate, note_samples=2000, split=s)) for s in ("train", "val", "test")]
    assert sum(splits) == len(events)
    # Resampled loop (the paper's 48 kHz).
    hi = TB303Notes(wav, mid, sample_rate=48000, note_samples=6000, split="all")
    assert hi[0]["target"].shape == (1, 6000)


def test_tb303_notes_outside_the_audio_is_an_error(tmp_path):
    wav = save_audio(tmp_path / "short.wav", np.zeros(1000), 16000)
    mid = write_midi_notes(tmp_path / "late.mid", [(36, 5.0, 5.5, 100)])
    with pytest.raises(ValueError, match=r"late\.mid.*short\.wav"):
        TB303Notes(wav, mid, sample_rate=16000)


def test_cut_notes_offset_and_gate():
    audio = np.arange(100, dtype=np.float32)
    notes = midi_notes(_smf(0, (0x100 - 25) << 8 | 40, [bytes.fromhex("00 90 3C 40" "0A 80 3C 00" "00 FF 2F 00")]))
    cuts, kept, gates = cut_notes(audio, 1000, notes, note_samples=20, offset_s=0.05)
    assert cuts.shape == (1, 20) and cuts[0, 0] == 50.0 and gates.tolist() == [10]
    cuts, kept, gates = cut_notes(audio, 1000, notes, note_samples=20, offset_s=0.09)
    assert cuts[0, 9] == 99.0 and cuts[0, 10] == 0.0  # zero-padded past the end

"""zoo.data.datasets.PairedSegments (+ RenderedEffectDataset): splits by time, segments, file errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.data.audio_io import AudioFileError, save_audio
from zoo.data.datasets import AudioPair, PairedSegments, segment_starts, split_range
from zoo.data.layouts import find_paired_files

RATE = 8000


def _pair(n: int = 8000, seed: int = 0, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dry = rng.uniform(-0.5, 0.5, (channels, n)).astype(np.float32)
    # The wet signal encodes the sample index, so items can be checked against their position.
    wet = (np.arange(n, dtype=np.float32) / n)[None].repeat(channels, 0)
    return dry, wet


def _write_pair(folder, name, n=8000, rate=RATE, wet_n=None, wet_rate=None, layout="dirs"):
    dry, wet = _pair(n)
    if wet_n is not None:
        wet = np.zeros((1, wet_n), np.float32)
    if layout == "dirs":
        d = save_audio(folder / "dry" / f"{name}.wav", dry, rate)
        w = save_audio(folder / "wet" / f"{name}.wav", wet, wet_rate or rate)
    else:
        d = save_audio(folder / f"{name}_dry.wav", dry, rate)
        w = save_audio(folder / f"{name}_wet.wav", wet, wet_rate or rate)
    return d, w


# ----------------------------------------------------------------------------------- splits


def test_split_range_is_contiguous_and_ordered():
    n = 10007
    ranges = [split_range(n, RATE, s, split_fractions=(0.7, 0.2, 0.1)) for s in ("train", "val", "test")]
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    for (a0, a1), (b0, _) in zip(ranges, ranges[1:]):
        assert a1 == b0 and a0 < a1
    assert split_range(n, RATE, "all") == (0, n)
    # Fractions that sum below 1 leave the end unused.
    assert split_range(1000, RATE, "test", split_fractions=(0.5, 0.2, 0.1)) == (700, 800)


def test_split_ranges_s_may_overlap_and_are_checked():
    ranges = {"train": (1.0, 2.0), "test": (1.0, None)}
    assert split_range(4 * RATE, RATE, "train", split_ranges_s=ranges) == (RATE, 2 * RATE)
    assert split_range(4 * RATE, RATE, "test", split_ranges_s=ranges) == (RATE, 4 * RATE)
    assert split_range(4 * RATE, RATE, "val", split_ranges_s=ranges) == (0, 0)
    with pytest.raises(ValueError, match="inside the 4 s of song"):
        split_range(4 * RATE, RATE, "train", split_ranges_s={"train": (3.0, 5.0)}, name="song")
    with pytest.raises(ValueError, match="start_s < stop_s"):
        split_range(4 * RATE, RATE, "train", split_ranges_s={"train": (3.0, 2.0)})
    with pytest.raises(ValueError, match="`split_fractions`"):
        split_range(100, RATE, "train", split_fractions=(0.8, 0.2, 0.1))


def test_segment_starts():
    assert segment_starts(0, 100, 30) == [0, 30, 60]
    assert segment_starts(0, 100, 30, 20) == [0, 20, 40, 60]
    assert segment_starts(0, 100, 30, pad_last=True) == [0, 30, 60, 90]
    assert segment_starts(10, 20, 30) == []
    assert segment_starts(10, 20, 30, pad_last=True) == [10]
    assert segment_starts(5, 5, 30) == []
    assert segment_starts(5, 50, None) == [5]


@pytest.mark.parametrize("hop", [None, 500])
def test_segments_stay_inside_their_split_and_items_match(hop):
    dry, wet = _pair(10000)
    ranges = {}
    for split in ("train", "val", "test"):
        ds = PairedSegments(
            [(dry, wet)],
            sample_rate=RATE,
            split=split,
            segment_samples=1000,
            hop_samples=hop,
            split_fractions=(0.6, 0.2, 0.2),
        )
        ((start, stop),) = ds.ranges
        ranges[split] = (start, stop)
        for i, (_, s0, s1) in enumerate(ds.segments):
            assert start <= s0 and s1 <= stop and s1 - s0 == 1000
            item = ds[i]
            assert set(item) == {"input", "target"}
            assert item["input"].shape == (1, 1000) and item["input"].dtype == torch.float32
            np.testing.assert_array_equal(item["input"].numpy(), dry[:, s0:s1])
            np.testing.assert_array_equal(item["target"].numpy(), wet[:, s0:s1])
        starts = [s for _, s, _ in ds.segments]
        assert starts == sorted(starts)
    assert ranges == {"train": (0, 6000), "val": (6000, 8000), "test": (8000, 10000)}
    ds = PairedSegments(
        [(dry, wet)],
        sample_rate=RATE,
        split="train",
        segment_samples=1000,
        hop_samples=hop,
        split_fractions=(0.6, 0.2, 0.2),
    )
    assert len(ds) == (6 if hop is None else 11)


def test_whole_range_items_and_pad_last():
    dry, wet = _pair(1000)
    ds = PairedSegments([(dry, wet)], sample_rate=RATE, split="val")
    assert len(ds) == 1 and ds[0]["input"].shape == (1, 100)
    ds = PairedSegments([(dry, wet)], sample_rate=RATE, split="train", segment_samples=300, pad_last=True)
    assert len(ds) == 3
    last = ds[2]
    np.testing.assert_array_equal(last["input"][:, :200].numpy(), dry[:, 600:800])
    assert torch.all(last["input"][:, 200:] == 0)
    with pytest.raises(IndexError):
        ds[3]


def test_segment_longer_than_split_is_an_error():
    dry, wet = _pair(1000)
    with pytest.raises(ValueError, match="`segment_samples`.*800 samples"):
        PairedSegments([(dry, wet)], sample_rate=RATE, split="train", segment_samples=900)


def test_multiple_pairs_split_each_by_time_and_return_info():
    pairs = [_pair(1000, seed=i) for i in range(3)]
    ds = PairedSegments(pairs, sample_rate=RATE, split="test", segment_samples=50, return_info=True)
    assert len(ds) == 3 * 2
    names = {item["name"] for item in ds}
    assert names == {"pair0", "pair1", "pair2"}
    assert all(900 <= item["start_sample"] < 1000 for item in ds)


def test_array_pairs_need_a_sample_rate_and_equal_lengths():
    dry, wet = _pair(100)
    with pytest.raises(ValueError, match="`sample_rate`"):
        PairedSegments([(dry, wet)])
    with pytest.raises(ValueError, match="`wet`"):
        PairedSegments([(dry, wet[:, :90])], sample_rate=RATE)
    with pytest.raises(TypeError, match="`pairs`"):
        PairedSegments(np.zeros((2, 100)), sample_rate=RATE)


# ----------------------------------------------------------------------------------- folders


@pytest.mark.parametrize("layout", ["dirs", "suffix"])
def test_folder_layouts(tmp_path, layout):
    for name in ("b", "a"):
        _write_pair(tmp_path, name, layout=layout)
    pairs = find_paired_files(tmp_path)
    assert [p[0].stem for p in pairs] == (["a", "b"] if layout == "dirs" else ["a_dry", "b_dry"])
    ds = PairedSegments(tmp_path, split="train", segment_samples=1600)
    assert ds.sample_rate == RATE and len(ds) == 2 * 4
    dry, wet = _pair(8000)
    np.testing.assert_array_equal(ds[1]["input"].numpy(), dry[:, 1600:3200])
    np.testing.assert_array_equal(ds[1]["target"].numpy(), wet[:, 1600:3200])
    # Lazy reads and preloading give the same items.
    pre = PairedSegments(tmp_path, split="train", segment_samples=1600, preload=True)
    for a, b in zip(ds, pre):
        torch.testing.assert_close(a["input"], b["input"])


def test_missing_partner_is_named(tmp_path):
    _write_pair(tmp_path, "a")
    save_audio(tmp_path / "dry" / "lonely.wav", np.zeros(10), RATE)
    with pytest.raises(FileNotFoundError, match="lonely.wav"):
        PairedSegments(tmp_path)


def test_empty_or_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        PairedSegments(tmp_path / "no_such_dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        PairedSegments(tmp_path / "empty")


def test_mismatched_length_names_both_files(tmp_path):
    d, w = _write_pair(tmp_path, "song", wet_n=7000)
    with pytest.raises(AudioFileError) as info:
        PairedSegments(tmp_path)
    message = str(info.value)
    assert str(d) in message and str(w) in message and "8000" in message and "7000" in message
    ds = PairedSegments(tmp_path, trim_to_shortest=True, split="all")
    assert ds[0]["input"].shape == (1, 7000)


def test_mismatched_sample_rate_names_both_files(tmp_path):
    d, w = _write_pair(tmp_path, "song", wet_rate=16000, wet_n=16000)
    with pytest.raises(AudioFileError) as info:
        PairedSegments(tmp_path)
    message = str(info.value)
    assert str(d) in message and str(w) in message and "8000 Hz" in message and "16000 Hz" in message
    # With a target rate, both are resampled to it.
    ds = PairedSegments(tmp_path, sample_rate=RATE, split="all")
    assert ds.sample_rate == RATE and ds[0]["target"].shape == (1, 8000)
    with pytest.raises(AudioFileError, match="song.wav"):
        PairedSegments(tmp_path, sample_rate=RATE, allow_resample=False)


def test_unreadable_file_is_named(tmp_path):
    _write_pair(tmp_path, "song")
    (tmp_path / "wet" / "song.wav").write_bytes(b"definitely not a wav file")
    with pytest.raises(AudioFileError, match="song.wav"):
        PairedSegments(tmp_path)


def test_resampled_folder_and_channels(tmp_path):
    _write_pair(tmp_path, "song")
    ds = PairedSegments(tmp_path, sample_rate=16000, channels=2, split="all", segment_samples=4000)
    assert ds.sample_rate == 16000 and len(ds) == 4
    assert ds[0]["input"].shape == (2, 4000)


def test_pairs_of_paths_and_audio_pairs(tmp_path):
    d, w = _write_pair(tmp_path, "song")
    from_paths = PairedSegments([(d, w)], split="all", segment_samples=4000)
    pair = AudioPair.from_files(d, w)
    assert pair.num_samples == 8000 and pair.name == "song"
    from_pair = PairedSegments([pair], split="all", segment_samples=4000)
    torch.testing.assert_close(from_paths[1]["target"], from_pair[1]["target"])


# ----------------------------------------------------------------------------------- rendered


def test_rendered_effect_dataset_splits_one_render_by_time():
    pytest.importorskip("pedalboard")
    from zoo.data.datasets import RenderedEffectDataset
    from zoo.data.render import render_generated

    effect = {"kind": "phaser", "rate_hz": 1.5, "depth": 0.9}
    kwargs = dict(material="chirp_train", duration_s=2.0, sample_rate=RATE, seed=1, segment_samples=800)
    dry, wet = render_generated(effect, "chirp_train", RATE, 2.0, seed=1)
    seen = []
    for split in ("train", "val", "test"):
        ds = RenderedEffectDataset(effect, split=split, **kwargs)
        for i, (_, s0, s1) in enumerate(ds.segments):
            np.testing.assert_array_equal(ds[i]["target"].numpy(), wet[:, s0:s1])
            np.testing.assert_array_equal(ds[i]["input"].numpy(), dry[:, s0:s1])
            seen.append((s0, s1))
    # The segments tile the signal in order (16 + 2 + 2 segments of 800 samples).
    assert seen == [(k * 800, (k + 1) * 800) for k in range(20)]

"""Training data is checked when a dataset is built: NaN/Inf is an error naming the file and the
first frame (or, with ``nan="zero"``, is replaced by 0 with a warning); a silent wet file warns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile

from zoo.data import _checks
from zoo.data.audio_io import save_audio
from zoo.data.datasets import AudioPair, PairedSegments, _SCAN_CACHE, check_pair_audio

RATE = 8000


def _write(folder, name, dry=None, wet=None, n=4000, channels=1):
    rng = np.random.default_rng(len(name))
    dry = rng.uniform(-0.5, 0.5, (channels, n)).astype(np.float32) if dry is None else dry
    wet = 0.5 * dry if wet is None else wet
    d = save_audio(folder / "dry" / f"{name}.wav", dry, RATE)
    w = save_audio(folder / "wet" / f"{name}.wav", wet, RATE)
    return d, w


def _no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("role", ["dry", "wet"])
def test_non_finite_sample_names_the_file_and_frame(tmp_path, bad, role):
    clean = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 4000)).astype(np.float32)
    broken = clean.copy()
    broken[1, 3210] = bad  # second channel: the frame is still 3210
    _write(tmp_path, "a", dry=clean, wet=0.5 * clean)
    _write(tmp_path, "b", **{"dry": broken if role == "dry" else clean, "wet": broken if role == "wet" else 0.5 * clean})
    with pytest.raises(ValueError, match=rf"{role} file .*b\.wav: expected finite samples, found NaN or Inf at frame 3210 \(0\.40125 s\).*nan='zero'"):
        PairedSegments(tmp_path, split="train", segment_samples=100)
    with pytest.raises(ValueError, match="frame 3210"):  # every split: NaN would poison the metrics too
        PairedSegments(tmp_path, split="test", segment_samples=100)


def test_nan_zero_replaces_with_a_warning(tmp_path):
    dry = np.random.default_rng(1).uniform(-0.5, 0.5, (1, 4000)).astype(np.float32)
    dry[0, 10] = np.nan
    dry[0, 20] = np.inf
    _write(tmp_path, "a", dry=dry, wet=np.full((1, 4000), 0.25, np.float32))
    with pytest.warns(UserWarning, match=r"dry file .*a\.wav \(the first at frame 10, .*replaced by 0"):
        data = PairedSegments(tmp_path, split="all", segment_samples=100, nan="zero")
    first = data[0]["input"]
    assert first[0, 10] == 0 and first[0, 20] == 0 and np.isfinite(first.numpy()).all()
    assert first[0, 11] == pytest.approx(float(dry[0, 11]))


def test_nan_zero_also_covers_resampled_and_in_memory_pairs(tmp_path):
    dry = np.random.default_rng(2).uniform(-0.5, 0.5, (1, 4000)).astype(np.float32)
    dry[0, 2000] = np.nan
    d, w = _write(tmp_path, "a", dry=dry, wet=np.full((1, 4000), 0.25, np.float32))
    with pytest.warns(UserWarning, match="replaced by 0"):
        data = PairedSegments([(d, w)], sample_rate=16000, split="all", nan="zero")  # resampled: in memory
    assert np.isfinite(data[0]["input"].numpy()).all()
    with pytest.raises(ValueError, match=r"dry signal of 'pair0'.*frame 2000"):
        PairedSegments([(dry, dry)], sample_rate=RATE, split="all")


def test_silent_wet_file_warns_with_its_name(tmp_path):
    _write(tmp_path, "loud")
    _write(tmp_path, "quiet", wet=np.full((1, 4000), 1 / 40000, np.float32))  # below one 16-bit step
    with pytest.warns(UserWarning, match=r"Silent wet file .*quiet\.wav: its peak is -92\.0 dBFS") as record:
        PairedSegments(tmp_path, split="train", segment_samples=100)
    assert not any("loud" in str(w.message) for w in record)
    _no_warnings(lambda: PairedSegments(tmp_path, split="val", segment_samples=100))  # only training data warns


def test_all_zero_wet_file_warns(tmp_path):
    _write(tmp_path, "zeros", wet=np.zeros((1, 4000), np.float32))
    with pytest.warns(UserWarning, match=r"Silent wet file .*zeros\.wav: its peak is -inf dBFS"):
        PairedSegments(tmp_path, split="train", segment_samples=100)


def test_quiet_but_audible_and_clean_data_build_without_warnings(tmp_path):
    _write(tmp_path, "a", wet=np.full((1, 4000), 1e-3, np.float32))  # -60 dBFS: quiet, not silent
    data = _no_warnings(lambda: PairedSegments(tmp_path, split="train", segment_samples=100))
    assert len(data) == 32


def test_scan_reads_long_files_in_blocks_and_once(tmp_path, monkeypatch):
    monkeypatch.setattr(_checks, "_SCAN_BLOCK", 1000)
    dry = np.random.default_rng(3).uniform(-0.5, 0.5, (1, 4000)).astype(np.float32)
    dry[0, 2500] = np.nan
    d, w = _write(tmp_path, "a", dry=dry)
    assert _checks.scan_audio(lambda a, b: dry[:, a:b], 4000) == (2500, pytest.approx(float(np.nanmax(np.abs(dry)))))
    _SCAN_CACHE.clear()
    calls = []
    original = soundfile.read

    def counting_read(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(soundfile, "read", counting_read)
    for split in ("train", "val"):
        with pytest.raises(ValueError, match="frame 2500"):
            PairedSegments(tmp_path, split=split, segment_samples=100)
    assert 0 < len(calls) <= 4  # the dry file's 4 blocks, read once for both splits (cached)


def test_check_pair_audio_rejects_an_unknown_policy():
    pair = AudioPair.from_arrays(np.zeros(10), np.ones(10), RATE)
    with pytest.raises(ValueError, match=r"`nan`: expected one of \('error', 'zero'\), found 'skip'"):
        check_pair_audio(pair, nan="skip")


def test_paired_folder_datamodule_passes_the_option(tmp_path):
    pytest.importorskip("lightning.pytorch")
    from zoo.lightning.datamodules import PairedFolderDataModule

    dry = np.random.default_rng(4).uniform(-0.5, 0.5, (1, 4000)).astype(np.float32)
    dry[0, 7] = np.nan
    _write(tmp_path, "a", dry=dry)
    with pytest.raises(ValueError, match="frame 7"):
        PairedFolderDataModule(str(tmp_path), segment_samples=100).setup("fit")
    with pytest.warns(UserWarning, match="replaced by 0"):
        module = PairedFolderDataModule(str(tmp_path), segment_samples=100, nan="zero")
        module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert np.isfinite(batch["input"].numpy()).all()
    with pytest.raises(ValueError, match="`nan`"):
        PairedFolderDataModule(str(tmp_path), nan="drop")

"""torch Datasets of dry/wet pairs and of synth notes (no Lightning here).

Effect datasets (:class:`PairedSegments` and its subclasses) yield dicts
``{"input": (C, T) float32 tensor, "target": (C, T) float32 tensor}``; synth datasets
(:class:`NotesDataset` and its subclasses) yield ``{"target": (1, T), "f0_hz": (), "note_on_samples": (), ...}``.

**Splits by time.** Effect datasets split every recording into contiguous time ranges, never by
shuffling segments: train is the first ``split_fractions[0]`` of each file, val the next
``split_fractions[1]``, test the next ``split_fractions[2]``. A phaser's LFO keeps running across
the boundary, so a model fitted on one range is tested on the audio that follows it, with its LFO
phase aligned (the paper trains on one chirp segment and tests on the segment plus the next 10 s,
Sec. 4.1). ``split_ranges_s`` gives explicit ranges in seconds instead; ranges may overlap, as in
that protocol. Segments of ``segment_samples`` (every ``hop_samples``) are then cut inside each range
and never cross a split boundary.

**Synth notes split by note**: 60/20/20 by default, shuffled with the seed (as the authors' TB-303
data module does) or in order.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from ._checks import (
    SILENT_PEAK_DB,
    check_duration,
    check_float,
    check_fractions,
    check_int,
    check_nan_policy,
    check_ranges_s,
    check_sample_rate,
    check_seed,
    check_split,
    scan_audio,
)
from .audio_io import AudioFileError, PathLike, audio_info, convert_channels, load_audio
from .generate import acid_notes
from .layouts import (
    DEFAULT_EXTENSIONS,
    SMALL_STONE_TRAIN_S,
    find_la2a_pairs,
    find_paired_files,
    small_stone_files,
)
from .midi import MidiNote, midi_notes

__all__ = [
    "AudioPair",
    "split_range",
    "segment_starts",
    "PairedSegments",
    "RenderedEffectDataset",
    "SignalTrainLA2A",
    "SmallStone",
    "NotesDataset",
    "SynthNotesDataset",
    "TB303Notes",
    "cut_notes",
]

ArrayLike = Union[np.ndarray, torch.Tensor]
PairSpec = Union["AudioPair", tuple[Union[ArrayLike, PathLike], Union[ArrayLike, PathLike]]]


def _to_numpy_2d(audio: Any, name: str) -> np.ndarray:
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        raise ValueError(f"Unexpected shape for `{name}`: expected (T,) or (C, T), found {tuple(arr.shape)}")
    return arr


# ------------------------------------------------------------------------------------------------
# Sources
# ------------------------------------------------------------------------------------------------


class _ArraySource:
    def __init__(self, audio: np.ndarray) -> None:
        self.audio = audio

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.audio[:, start:stop]

    def zero_non_finite(self) -> None:
        self.audio = np.where(np.isfinite(self.audio), self.audio, 0.0).astype(self.audio.dtype, copy=False)


class _FileSource:
    """Reads frames straight from the file on each call (no resampling), so big files stay on disk."""

    def __init__(self, path: Path, channels: int | None) -> None:
        self.path = path
        self.channels = channels
        self.zero = False

    def read(self, start: int, stop: int) -> np.ndarray:
        audio, _ = load_audio(self.path, channels=self.channels, start=start, stop=stop)
        if self.zero:
            audio = np.where(np.isfinite(audio), audio, np.float32(0.0))
        return audio

    def zero_non_finite(self) -> None:
        self.zero = True


#: scan results of files, by (path, size, mtime, channels): the train/val/test splits of one
#: folder share them, so each file is read once per process
_SCAN_CACHE: dict[tuple, tuple[int | None, float]] = {}


def _scan_source(source: _ArraySource | _FileSource, num_frames: int) -> tuple[int | None, float]:
    if isinstance(source, _FileSource):
        stat = source.path.stat()
        key = (str(source.path.resolve()), stat.st_size, stat.st_mtime_ns, source.channels, num_frames)
        if key not in _SCAN_CACHE:
            _SCAN_CACHE[key] = scan_audio(source.read, num_frames)
        return _SCAN_CACHE[key]
    return scan_audio(source.read, num_frames)


def check_pair_audio(pair: "AudioPair", *, nan: str = "error", warn_silent: bool = True) -> None:
    """Scan both signals of ``pair`` once: NaN/Inf is an error (or zeroed), a silent wet warns.

    Args:
        pair: the pair (files are read block by block; the result is cached per file).
        nan: ``"error"`` (default) raises on the first NaN/Inf sample; ``"zero"`` replaces every
            NaN/Inf sample by 0 when the pair is read, with a warning. For resampled files the
            zeroing happens after resampling, where a NaN has spread over the resampler's support.
        warn_silent: warn when the wet (target) signal's peak is at or below `SILENT_PEAK_DB`.

    Raises:
        ValueError: a NaN or Inf sample with ``nan="error"``, naming the file (or the pair) and the
            first frame holding one.
    """
    nan = check_nan_policy(nan)
    for role, source, path in (("dry", pair._dry, pair.dry_path), ("wet", pair._wet, pair.wet_path)):
        where = f"{role} file {path}" if path is not None else f"{role} signal of {pair.name!r}"
        first_bad, peak = _scan_source(source, pair.num_samples)
        if first_bad is not None:
            seconds = first_bad / pair.sample_rate
            if nan == "error":
                raise ValueError(
                    f"Unexpected values in {where}: expected finite samples, found NaN or Inf at frame "
                    f"{first_bad} ({seconds:.6g} s); repair the file, or pass nan='zero' to replace them by 0"
                )
            warnings.warn(
                f"NaN or Inf samples in {where} (the first at frame {first_bad}, {seconds:.6g} s) are replaced by 0 "
                "(nan='zero')",
                stacklevel=3,
            )
            source.zero_non_finite()
        if role == "wet" and warn_silent:
            peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
            if peak_db <= SILENT_PEAK_DB:
                warnings.warn(
                    f"Silent {where}: its peak is {peak_db:.1f} dBFS (at most {SILENT_PEAK_DB:g} dBFS counts as "
                    "silent); training on it teaches the model to output silence. Check the file or remove the pair",
                    stacklevel=3,
                )


class AudioPair:
    """A dry recording and its wet (processed) version, time aligned, at one sample rate.

    Build it with :meth:`from_arrays` or :meth:`from_files`.

    Attributes:
        name: Name used in messages (the dry file's stem for files).
        sample_rate: Sample rate (Hz).
        num_samples: Length (samples) of both signals.
        dry_path, wet_path: The files, or ``None`` for arrays.
    """

    def __init__(
        self,
        dry: _ArraySource | _FileSource,
        wet: _ArraySource | _FileSource,
        sample_rate: int,
        num_samples: int,
        name: str,
        dry_path: Path | None = None,
        wet_path: Path | None = None,
    ) -> None:
        self._dry, self._wet = dry, wet
        self.sample_rate = sample_rate
        self.num_samples = num_samples
        self.name = name
        self.dry_path, self.wet_path = dry_path, wet_path

    def __repr__(self) -> str:
        where = f", dry={str(self.dry_path)!r}, wet={str(self.wet_path)!r}" if self.dry_path else ""
        return f"AudioPair(name={self.name!r}, sample_rate={self.sample_rate}, num_samples={self.num_samples}{where})"

    @classmethod
    def from_arrays(
        cls,
        dry: ArrayLike,
        wet: ArrayLike,
        sample_rate: int,
        *,
        name: str = "pair",
        channels: int | None = None,
    ) -> AudioPair:
        """Wrap in-memory audio.

        Args:
            dry: Dry audio, ``(T,)`` or ``(C, T)``.
            wet: Wet audio, ``(T,)`` or ``(C', T)``.
            sample_rate: Sample rate of both (Hz).
            name: Name used in messages. Default ``"pair"``.
            channels: Convert both to this channel count. Default ``None``: keep.

        Returns:
            :class:`AudioPair`.

        Raises:
            ValueError: if the lengths differ or the shapes are not 1-D/2-D.
        """
        sample_rate = check_sample_rate(sample_rate)
        d = _to_numpy_2d(dry, "dry")
        w = _to_numpy_2d(wet, "wet")
        if d.shape[-1] != w.shape[-1]:
            raise ValueError(
                f"Unexpected length for `wet` of {name!r}: expected {d.shape[-1]} samples like `dry`, found {w.shape[-1]}"
            )
        if channels is not None:
            d = convert_channels(d, channels, name=f"dry of {name!r}")
            w = convert_channels(w, channels, name=f"wet of {name!r}")
        return cls(_ArraySource(d), _ArraySource(w), sample_rate, d.shape[-1], name)

    @classmethod
    def from_files(
        cls,
        dry_path: PathLike,
        wet_path: PathLike,
        *,
        sample_rate: int | None = None,
        allow_resample: bool = True,
        channels: int | None = None,
        trim_to_shortest: bool = False,
        preload: bool = False,
        name: str | None = None,
    ) -> AudioPair:
        """Open a dry file and a wet file, checking that they match.

        Only the headers are read unless resampling is needed or ``preload`` is set; items are
        then read from disk on demand, so large datasets do not have to fit in memory.

        Args:
            dry_path: Dry file.
            wet_path: Wet file.
            sample_rate: Wanted rate (Hz). Default ``None``: the files' rate (they must agree).
            allow_resample: Resample files whose rate differs from ``sample_rate`` with soxr
                (the pair is then loaded into memory). Default ``True``.
            channels: Convert both to this channel count. Default ``None``: keep.
            trim_to_shortest: Cut both files to the shorter length instead of raising. Default ``False``.
            preload: Load both files into memory now. Default ``False``.
            name: Name used in messages. Default: the dry file's stem.

        Returns:
            :class:`AudioPair`.

        Raises:
            FileNotFoundError: for a missing file (named).
            AudioFileError: for an unreadable file, mismatched sample rates (both files and rates
                named), a rate that differs from ``sample_rate`` with ``allow_resample=False``, or
                mismatched lengths (both files and lengths named).
        """
        dry_info, wet_info = audio_info(dry_path), audio_info(wet_path)
        dry_p, wet_p = dry_info.path, wet_info.path
        if sample_rate is None:
            if dry_info.sample_rate != wet_info.sample_rate:
                raise AudioFileError(
                    wet_p,
                    f"Mismatched sample rates: dry file {dry_p} is {dry_info.sample_rate} Hz, wet file {wet_p} is "
                    f"{wet_info.sample_rate} Hz (pass sample_rate=... to resample both)",
                )
            rate = dry_info.sample_rate
        else:
            rate = check_sample_rate(sample_rate)
            for info in (dry_info, wet_info):
                if info.sample_rate != rate and not allow_resample:
                    raise AudioFileError(
                        info.path,
                        f"Unexpected sample rate: expected {rate} Hz, found {info.sample_rate} Hz (pass allow_resample=True to resample)",
                    )
        needs_resample = dry_info.sample_rate != rate or wet_info.sample_rate != rate
        if not needs_resample and dry_info.num_frames != wet_info.num_frames and not trim_to_shortest:
            raise AudioFileError(
                wet_p,
                f"Mismatched lengths: dry file {dry_p} has {dry_info.num_frames} samples, wet file {wet_p} has "
                f"{wet_info.num_frames} samples (pass trim_to_shortest=True to cut both to the shorter)",
            )
        if needs_resample and not trim_to_shortest:
            # Compare durations in seconds, allowing one sample of rounding at the coarser rate.
            tol_s = 1.0 / min(dry_info.sample_rate, wet_info.sample_rate)
            if abs(dry_info.duration_s - wet_info.duration_s) > tol_s:
                raise AudioFileError(
                    wet_p,
                    f"Mismatched lengths: dry file {dry_p} lasts {dry_info.duration_s:.6f} s, wet file {wet_p} lasts "
                    f"{wet_info.duration_s:.6f} s (pass trim_to_shortest=True to cut both to the shorter)",
                )
        name = dry_p.stem if name is None else name
        if needs_resample or preload:
            dry_a, _ = load_audio(dry_p, rate, allow_resample=allow_resample, channels=channels)
            wet_a, _ = load_audio(wet_p, rate, allow_resample=allow_resample, channels=channels)
            n = min(dry_a.shape[-1], wet_a.shape[-1])
            return cls(_ArraySource(dry_a[:, :n]), _ArraySource(wet_a[:, :n]), rate, n, name, dry_p, wet_p)
        n = min(dry_info.num_frames, wet_info.num_frames)
        if channels is not None:
            for info in (dry_info, wet_info):
                if info.num_channels not in (1, channels) and channels != 1:
                    raise AudioFileError(
                        info.path, f"Unexpected channel count: expected 1 or {channels}, found {info.num_channels}"
                    )
        return cls(_FileSource(dry_p, channels), _FileSource(wet_p, channels), rate, n, name, dry_p, wet_p)

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``[start, stop)`` of both signals (clipped to the pair's length).

        Args:
            start: First sample.
            stop: One past the last sample.

        Returns:
            ``(dry, wet)``, each ``(C, stop - start)`` float32 (shorter if clipped).
        """
        stop = min(stop, self.num_samples)
        return self._dry.read(start, stop), self._wet.read(start, stop)


def _as_pair(spec: Any, index: int, sample_rate: int | None, **file_kwargs: Any) -> AudioPair:
    if isinstance(spec, AudioPair):
        return spec
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or len(spec) != 2:
        raise TypeError(
            f"Unexpected item {index} of `pairs`: expected an AudioPair or a (dry, wet) tuple, found {type(spec).__name__}"
        )
    dry, wet = spec
    if isinstance(dry, (str, os.PathLike)) and isinstance(wet, (str, os.PathLike)):
        return AudioPair.from_files(dry, wet, sample_rate=sample_rate, **file_kwargs)
    if sample_rate is None:
        raise ValueError("Unexpected value for `sample_rate`: expected the rate (Hz) of the given arrays, found None")
    return AudioPair.from_arrays(dry, wet, sample_rate, name=f"pair{index}", channels=file_kwargs.get("channels"))


# ------------------------------------------------------------------------------------------------
# Splits and segments
# ------------------------------------------------------------------------------------------------


def split_range(
    num_samples: int,
    sample_rate: int,
    split: str,
    *,
    split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
    split_ranges_s: Mapping[str, Sequence[float | None]] | None = None,
    name: str = "audio",
) -> tuple[int, int]:
    """The contiguous sample range ``[start, stop)`` of a split.

    With fractions (f_train, f_val, f_test), the boundaries are b_k = round((f_1 + ... + f_k) N):
    train is ``[0, b_1)``, val ``[b_1, b_2)``, test ``[b_2, b_3)``. With ``split_ranges_s``, the
    split's ``(start_s, stop_s)`` is converted to samples (``stop_s=None`` is the end); a split
    missing from the mapping is empty. ``"all"`` is the whole signal.

    Args:
        num_samples: Length N of the signal.
        sample_rate: Its sample rate (Hz).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        split_fractions: Fractions of the signal for train, val and test (sum <= 1). Default (0.8, 0.1, 0.1).
        split_ranges_s: Explicit ranges (s), overriding the fractions. Default ``None``.
        name: Name of the signal, for messages.

    Returns:
        ``(start, stop)`` in samples, ``start <= stop``.

    Raises:
        ValueError: for a range outside the signal (the message names it).
    """
    num_samples = check_int(num_samples, "num_samples", minimum=0)
    sample_rate = check_sample_rate(sample_rate)
    split = check_split(split)
    if split == "all":
        return 0, num_samples
    if split_ranges_s is not None:
        ranges = check_ranges_s(split_ranges_s)
        if split not in ranges:
            return 0, 0
        start_s, stop_s = ranges[split]
        start = int(round(start_s * sample_rate))
        stop = num_samples if stop_s is None else int(round(stop_s * sample_rate))
        if stop > num_samples or start >= num_samples:
            raise ValueError(
                f"Unexpected value for `split_ranges_s[{split!r}]`: expected a range inside the "
                f"{num_samples / sample_rate:g} s of {name}, found ({start_s:g}, {stop_s})"
            )
        return start, stop
    fractions = check_fractions(split_fractions)
    bounds = np.round(np.cumsum((0.0,) + fractions) * num_samples).astype(int)
    k = ("train", "val", "test").index(split)
    return int(bounds[k]), int(min(bounds[k + 1], num_samples))


def segment_starts(
    start: int, stop: int, segment_samples: int | None, hop_samples: int | None = None, *, pad_last: bool = False
) -> list[int]:
    """Start offsets of the segments cut from ``[start, stop)``.

    Segments start at ``start + k * hop_samples`` and must end by ``stop``; with ``pad_last`` one
    more, partial segment covers the remainder (it is zero-padded when read). With
    ``segment_samples=None`` the whole range is one segment.

    Args:
        start: First sample of the range.
        stop: One past the last sample of the range.
        segment_samples: Segment length (samples), or ``None``.
        hop_samples: Distance between starts (samples). Default ``None``: ``segment_samples``.
        pad_last: Add a final partial segment. Default ``False``.

    Returns:
        A list of start offsets (samples), empty when the range is empty or too short.
    """
    if stop <= start:
        return []
    if segment_samples is None:
        return [start]
    hop = segment_samples if hop_samples is None else hop_samples
    n_full = (stop - start - segment_samples) // hop + 1 if stop - start >= segment_samples else 0
    starts = [start + k * hop for k in range(max(n_full, 0))]
    if pad_last:
        nxt = start + len(starts) * hop
        if nxt < stop and (not starts or starts[-1] + segment_samples < stop):
            starts.append(nxt)
    return starts


@dataclass(frozen=True)
class _Segment:
    pair: int
    start: int
    stop: int  # end of the split range (reads are clipped to it)


class PairedSegments(Dataset):
    """Fixed-length dry/wet segments cut from aligned recordings, split by time.

    Args:
        pairs: Where the audio comes from, one of:

            - a folder (see :func:`zoo.data.layouts.find_paired_files`: ``root/dry/*.wav`` with
              ``root/wet/*.wav``, or ``root/*_dry.wav`` with ``root/*_wet.wav``);
            - a sequence of ``(dry, wet)`` tuples of arrays/tensors (``(T,)`` or ``(C, T)``;
              ``sample_rate`` is then required) or of file paths;
            - a sequence of :class:`AudioPair`.
        sample_rate: Rate of array pairs (Hz), or the rate files are resampled to. Default
            ``None``: the files' own rate.
        split: ``"train"``, ``"val"``, ``"test"``, or ``"all"`` (no split). Default ``"train"``.
        segment_samples: Segment length (samples). Default ``None``: the whole split range of each
            pair is one item.
        hop_samples: Distance between segment starts (samples). Default ``None``: ``segment_samples``
            (no overlap).
        split_fractions: (train, val, test) fractions of each recording, in time order. Default (0.8, 0.1, 0.1).
        split_ranges_s: Explicit ``{split: (start_s, stop_s or None)}`` ranges, overriding the fractions;
            ranges may overlap. Default ``None``.
        pad_last: Also yield the last, partial segment of each range, zero-padded. Default ``False``.
        channels: Convert all audio to this many channels. Default ``None``: keep.
        allow_resample: Resample files whose rate differs from ``sample_rate``. Default ``True``.
        trim_to_shortest: Cut mismatched dry/wet files to the shorter one instead of raising. Default ``False``.
        preload: Load files into memory up front instead of reading segments on demand. Default ``False``.
        return_info: Add ``"name"`` (str) and ``"start_sample"`` (int) to each item. Default ``False``.
        dry_dir, wet_dir, dry_suffix, wet_suffix, extensions: Folder conventions (folder input only).
        nan: What a NaN or Inf sample in any pair does: ``"error"`` raises ``ValueError`` naming the
            file and the first frame holding one; ``"zero"`` replaces them by 0 with a warning.
            Every pair is scanned once, block by block, when the dataset is built (files once per
            process). Default ``"error"``.

    Warns:
        UserWarning: for the ``"train"`` (and ``"all"``) split, a wet (target) signal whose peak
        is at or below -90 dBFS (silent), naming the file; and for every NaN/Inf zeroed by
        ``nan="zero"``.

    Shape:
        item["input"]: ``(C, segment_samples)``; item["target"]: ``(C', segment_samples)``.

    Raises:
        FileNotFoundError, AudioFileError: for missing, unreadable or mismatched files (named).
        ValueError: for bad sizes, e.g. a ``segment_samples`` longer than every non-empty split range.
    """

    def __init__(
        self,
        pairs: PathLike | Sequence[PairSpec],
        *,
        sample_rate: int | None = None,
        split: str = "train",
        segment_samples: int | None = None,
        hop_samples: int | None = None,
        split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
        split_ranges_s: Mapping[str, Sequence[float | None]] | None = None,
        pad_last: bool = False,
        channels: int | None = None,
        allow_resample: bool = True,
        trim_to_shortest: bool = False,
        preload: bool = False,
        return_info: bool = False,
        dry_dir: str = "dry",
        wet_dir: str = "wet",
        dry_suffix: str = "_dry",
        wet_suffix: str = "_wet",
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        nan: str = "error",
    ) -> None:
        super().__init__()
        self.split = check_split(split)
        self.nan = check_nan_policy(nan)
        self.segment_samples = (
            None if segment_samples is None else check_int(segment_samples, "segment_samples", minimum=1)
        )
        self.hop_samples = None if hop_samples is None else check_int(hop_samples, "hop_samples", minimum=1)
        if self.hop_samples is not None and self.segment_samples is None:
            raise ValueError("Unexpected value for `hop_samples`: expected None when `segment_samples` is None")
        self.split_fractions = check_fractions(split_fractions)
        self.split_ranges_s = None if split_ranges_s is None else check_ranges_s(split_ranges_s)
        self.pad_last = bool(pad_last)
        self.return_info = bool(return_info)
        if sample_rate is not None:
            sample_rate = check_sample_rate(sample_rate)
        if channels is not None:
            channels = check_int(channels, "channels", minimum=1)
        file_kwargs = dict(
            allow_resample=allow_resample, channels=channels, trim_to_shortest=trim_to_shortest, preload=preload
        )

        if isinstance(pairs, (str, os.PathLike)):
            found = find_paired_files(
                pairs,
                dry_dir=dry_dir,
                wet_dir=wet_dir,
                dry_suffix=dry_suffix,
                wet_suffix=wet_suffix,
                extensions=extensions,
            )
            self.pairs = [AudioPair.from_files(d, w, sample_rate=sample_rate, **file_kwargs) for d, w in found]
        elif isinstance(pairs, Sequence) and not isinstance(pairs, (bytes, np.ndarray, torch.Tensor)):
            self.pairs = [_as_pair(p, i, sample_rate, **file_kwargs) for i, p in enumerate(pairs)]
        else:
            raise TypeError(
                f"Unexpected type for `pairs`: expected a folder path or a sequence of (dry, wet) pairs, found {type(pairs).__name__}"
            )
        if not self.pairs:
            raise ValueError("Unexpected value for `pairs`: expected at least one (dry, wet) pair, found none")
        for pair in self.pairs:
            check_pair_audio(pair, nan=self.nan, warn_silent=self.split in ("train", "all"))
        rates = {p.sample_rate for p in self.pairs}
        if len(rates) > 1:
            listing = ", ".join(f"{p.name}: {p.sample_rate} Hz" for p in self.pairs)
            raise ValueError(
                f"Unexpected sample rates in `pairs`: expected one rate for all pairs (pass sample_rate=... to resample), found {listing}"
            )
        self.sample_rate: int = rates.pop()

        self.ranges: list[tuple[int, int]] = []
        self._segments: list[_Segment] = []
        for i, pair in enumerate(self.pairs):
            start, stop = split_range(
                pair.num_samples,
                pair.sample_rate,
                self.split,
                split_fractions=self.split_fractions,
                split_ranges_s=self.split_ranges_s,
                name=repr(pair.name) if pair.dry_path is None else f"{pair.dry_path}",
            )
            self.ranges.append((start, stop))
            for s in segment_starts(start, stop, self.segment_samples, self.hop_samples, pad_last=self.pad_last):
                self._segments.append(_Segment(i, s, stop))
        longest = max(stop - start for start, stop in self.ranges)
        if not self._segments and longest > 0:
            raise ValueError(
                f"Unexpected value for `segment_samples`: expected at most the longest {self.split!r} range "
                f"({longest} samples = {longest / self.sample_rate:g} s), found {self.segment_samples} "
                "(use a shorter segment, other split fractions, or pad_last=True)"
            )

    @property
    def segments(self) -> list[tuple[str, int, int]]:
        """``(pair name, start, stop)`` of every item, in order (stop excludes padding)."""
        out = []
        for seg in self._segments:
            length = seg.stop - seg.start if self.segment_samples is None else self.segment_samples
            out.append((self.pairs[seg.pair].name, seg.start, min(seg.start + length, seg.stop)))
        return out

    def __len__(self) -> int:
        return len(self._segments)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} items")
        seg = self._segments[index]
        length = seg.stop - seg.start if self.segment_samples is None else self.segment_samples
        dry, wet = self.pairs[seg.pair].read(seg.start, min(seg.start + length, seg.stop))
        if dry.shape[-1] < length:  # pad_last
            dry = np.pad(dry, ((0, 0), (0, length - dry.shape[-1])))
            wet = np.pad(wet, ((0, 0), (0, length - wet.shape[-1])))
        item: dict[str, Any] = {
            "input": torch.tensor(np.asarray(dry, dtype=np.float32)),
            "target": torch.tensor(np.asarray(wet, dtype=np.float32)),
        }
        if self.return_info:
            item["name"] = self.pairs[seg.pair].name
            item["start_sample"] = seg.start
        return item


class RenderedEffectDataset(PairedSegments):
    """Generated dry material rendered through a real effect (no download needed).

    The whole signal is generated from ``seed`` and rendered in one pass (see
    :func:`zoo.data.render.render_generated`), then split by time like :class:`PairedSegments`.

    Args:
        effect: A :class:`zoo.data.render.RealEffect` or its config dict, e.g.
            ``{"kind": "phaser", "rate_hz": 0.6}``.
        material: A key of :data:`zoo.data.generate.MATERIALS`. Default ``"chirp_train"``.
        duration_s: Length of the generated signal (s). Default 30.
        sample_rate: Sample rate (Hz). Default 44100.
        seed: Seed of the material. Default 0.
        material_kwargs: Options of the generator. Default none.
        channels: Channel count (mono material is tiled). Default 1.
        cache_dir: Folder for cached renders. Default ``None``: none on disk.
        **kwargs: ``split``, ``segment_samples``, ``hop_samples``, ``split_fractions``,
            ``split_ranges_s``, ``pad_last``, ``return_info`` of :class:`PairedSegments`.

    Shape:
        item["input"], item["target"]: ``(channels, segment_samples)``.

    Raises:
        ImportError: without pedalboard.
        ValueError, TypeError: for a bad effect config or material.
    """

    def __init__(
        self,
        effect: Any,
        *,
        material: str = "chirp_train",
        duration_s: float = 30.0,
        sample_rate: int = 44100,
        seed: int = 0,
        material_kwargs: Mapping[str, Any] | None = None,
        channels: int = 1,
        cache_dir: PathLike | None = None,
        **kwargs: Any,
    ) -> None:
        from .render import RealEffect, render_generated

        self.effect = RealEffect.from_config(effect)
        self.material = material
        dry, wet = render_generated(
            self.effect,
            material,
            sample_rate,
            check_duration(duration_s),
            seed,
            material_kwargs=material_kwargs,
            channels=channels,
            cache_dir=cache_dir,
        )
        pair = AudioPair(
            _ArraySource(dry),
            _ArraySource(wet),
            check_sample_rate(sample_rate),
            dry.shape[-1],
            f"{material}-seed{seed}",
        )
        super().__init__([pair], **kwargs)


class SignalTrainLA2A(PairedSegments):
    """SignalTrain LA2A v1.1 pairs (Hawley et al., 2019; Zenodo 3824876), found by path.

    Files are ``input_<id>_.wav`` and ``target_<id>_LA2A_<tag>__<switch>__<peak_reduction>.wav``
    (see :func:`zoo.data.layouts.parse_la2a_name`), usually in ``Train/``, ``Val/`` and ``Test/``.
    The data is 44.1 kHz; items are read from disk on demand.

    Args:
        root: Dataset root or a subset folder.
        peak_reduction: Peak reduction to select (0-100; the paper uses 25, 50, 75). Default ``None``: all.
        switch: 0 (compress) or 1 (limit). Default 0.
        subsets: Folders to use, relative to ``root`` (e.g. ``["Train"]``). Default ``None``: all.
        file_ids: Input ids to use (e.g. ``[148]``, as in the authors' LA-2A runs). Default all.
        **kwargs: Options of :class:`PairedSegments` (split, segments, resampling...).

    Raises:
        FileNotFoundError: if ``root`` or a target's input is missing.
        ValueError: if nothing matches the selection (the message lists what exists).
    """

    def __init__(
        self,
        root: PathLike,
        *,
        peak_reduction: float | None = None,
        switch: int | None = 0,
        subsets: Sequence[str] | None = None,
        file_ids: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        if peak_reduction is not None:
            peak_reduction = check_float(peak_reduction, "peak_reduction", minimum=0.0, maximum=100.0)
        if switch is not None:
            switch = check_int(switch, "switch", minimum=0)
            if switch > 1:
                raise ValueError(f"Unexpected value for `switch`: expected 0 (compress) or 1 (limit), found {switch}")
        self.la2a_pairs = find_la2a_pairs(
            root, peak_reduction=peak_reduction, switch=switch, subsets=subsets, file_ids=file_ids
        )
        super().__init__([(p.input_path, p.target_path) for p in self.la2a_pairs], **kwargs)


class SmallStone(PairedSegments):
    """EHX Small Stone phaser recordings (Carson et al., DAFx 2023), found by path.

    Layout: a folder with ``dry.wav`` and ``ss-a.wav`` ... ``ss-f.wav`` (or the authors' original
    names; see :func:`zoo.data.layouts.small_stone_files`). The recording is a chirp train that
    ends at ``chirp_end_s`` (60 s) followed by guitar. By default the paper's protocol is used
    (Sec. 4.1): train on the last ``train_duration_s`` of the chirps, and validate/test on that
    same segment plus the next ``test_duration_s`` (10 s), one item each, so the LFO phase stays
    aligned. Pass ``split_ranges_s`` or ``split_fractions`` to split otherwise.

    Args:
        root: The folder.
        setting: ``"ss-a"`` ... ``"ss-f"``. Default ``"ss-a"``.
        dry_name: Dry file name. Default ``None``: see :func:`~zoo.data.layouts.small_stone_files`.
        wet_names: Mapping setting -> wet file name. Default ``None``.
        chirp_end_s: End of the chirp part of the recording (s). Default 60.
        train_duration_s: Length of the training segment (s). Default ``None``: the authors'
            per-setting value (:data:`~zoo.data.layouts.SMALL_STONE_TRAIN_S`: 5 s, 15 s for SS-C, 25 s for SS-F).
        test_duration_s: Audio after the chirps added to val/test (s). Default 10.
        split_ranges_s: Explicit ranges instead of the protocol above. Default ``None``.
        **kwargs: Other options of :class:`PairedSegments` (``split``, ``segment_samples``, ...;
            ``split_fractions`` replaces the protocol when given).

    Raises:
        FileNotFoundError: for missing files (every name tried is listed).
        ValueError: if the recording is shorter than the protocol needs.
    """

    def __init__(
        self,
        root: PathLike,
        setting: str = "ss-a",
        *,
        dry_name: str | None = None,
        wet_names: Mapping[str, str] | None = None,
        chirp_end_s: float = 60.0,
        train_duration_s: float | None = None,
        test_duration_s: float = 10.0,
        split_ranges_s: Mapping[str, Sequence[float | None]] | None = None,
        **kwargs: Any,
    ) -> None:
        dry_path, wet_path = small_stone_files(root, setting, dry_name=dry_name, wet_names=wet_names)
        self.setting = str(setting).lower()
        if split_ranges_s is None and "split_fractions" not in kwargs:
            chirp_end_s = check_duration(chirp_end_s, "chirp_end_s")
            train_s = (
                SMALL_STONE_TRAIN_S[self.setting]
                if train_duration_s is None
                else check_duration(train_duration_s, "train_duration_s")
            )
            test_s = check_float(test_duration_s, "test_duration_s", minimum=0.0)
            if train_s > chirp_end_s:
                raise ValueError(
                    f"Unexpected value for `train_duration_s`: expected at most `chirp_end_s` ({chirp_end_s:g}), found {train_s:g}"
                )
            start_s = chirp_end_s - train_s
            split_ranges_s = {
                "train": (start_s, chirp_end_s),
                "val": (start_s, chirp_end_s + test_s),
                "test": (start_s, chirp_end_s + test_s),
            }
        super().__init__([(dry_path, wet_path)], split_ranges_s=split_ranges_s, **kwargs)


# ------------------------------------------------------------------------------------------------
# Notes (the subtractive synth)
# ------------------------------------------------------------------------------------------------


def _note_split_indices(
    num_notes: int, split: str, split_fractions: Sequence[float], shuffle: bool, seed: int
) -> np.ndarray:
    fractions = check_fractions(split_fractions)
    order = np.random.default_rng(seed).permutation(num_notes) if shuffle else np.arange(num_notes)
    if split == "all":
        return np.sort(order)
    n_train = int(round(fractions[0] * num_notes))
    n_val = int(round(fractions[1] * num_notes))
    if abs(sum(fractions) - 1.0) < 1e-9:
        n_test = num_notes - n_train - n_val
    else:
        n_test = min(int(round(fractions[2] * num_notes)), num_notes - n_train - n_val)
    bounds = {
        "train": (0, n_train),
        "val": (n_train, n_train + n_val),
        "test": (n_train + n_val, n_train + n_val + n_test),
    }
    lo, hi = bounds[split]
    return np.sort(order[lo:hi])


class NotesDataset(Dataset):
    """Single synth notes with their conditioning, split by note.

    Args:
        audio: Note audio, ``(N, T)`` (or ``(N, 1, T)``).
        f0_hz: Fundamental of each note (Hz), length N.
        note_on_samples: Gate length of each note (samples), length N.
        sample_rate: Sample rate (Hz).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``. Default ``"train"``.
        split_fractions: (train, val, test) fractions of the notes. Default (0.6, 0.2, 0.2), the paper's.
        shuffle_split: Assign notes to splits in a seeded random order (``True``, like the authors'
            TB-303 code) or in order (``False``; for notes cut from one loop this keeps the splits
            apart in time). Default ``True``.
        seed: Seed of the split shuffle. Default 0.
        extras: More per-note values, ``{name: sequence of length N}``; numbers become tensors.
            Default none.

    Shape:
        item["target"]: ``(1, T)``; item["f0_hz"], item["note_on_samples"]: ``()``.

    Returns (items):
        ``{"target", "f0_hz" (float32), "note_on_samples" (int64), "note_on_s" (float32),
        "index" (int64, the note's position in the full set), **extras}``.
    """

    def __init__(
        self,
        audio: ArrayLike,
        f0_hz: Sequence[float],
        note_on_samples: Sequence[int],
        *,
        sample_rate: int,
        split: str = "train",
        split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        seed: int = 0,
        extras: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(audio, torch.Tensor):
            audio = audio.detach().cpu().numpy()
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 3 and audio.shape[1] == 1:
            audio = audio[:, 0]
        if audio.ndim != 2:
            raise ValueError(f"Unexpected shape for `audio`: expected (N, T) or (N, 1, T), found {tuple(audio.shape)}")
        n = audio.shape[0]
        f0 = np.asarray(f0_hz, dtype=np.float32)
        n_on = np.asarray(note_on_samples, dtype=np.int64)
        for arr, name in ((f0, "f0_hz"), (n_on, "note_on_samples")):
            if arr.shape != (n,):
                raise ValueError(f"Unexpected shape for `{name}`: expected ({n},), found {tuple(arr.shape)}")
        self.extras = {k: list(v) for k, v in (extras or {}).items()}
        for k, v in self.extras.items():
            if len(v) != n:
                raise ValueError(f"Unexpected length for `extras[{k!r}]`: expected {n}, found {len(v)}")
        self.sample_rate = check_sample_rate(sample_rate)
        self.split = check_split(split)
        self.seed = check_seed(seed)
        self.indices = _note_split_indices(n, self.split, split_fractions, bool(shuffle_split), self.seed)
        self.audio, self.f0_hz, self.note_on_samples = audio, f0, n_on

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} items")
        i = int(self.indices[index])
        item: dict[str, Any] = {
            "target": torch.tensor(self.audio[i][None]),
            "f0_hz": torch.tensor(self.f0_hz[i]),
            "note_on_samples": torch.tensor(self.note_on_samples[i]),
            "note_on_s": torch.tensor(self.note_on_samples[i] / self.sample_rate, dtype=torch.float32),
            "index": torch.tensor(i, dtype=torch.int64),
        }
        for key, values in self.extras.items():
            value = values[i]
            if isinstance(value, Mapping):
                value = {k: torch.tensor(v, dtype=torch.float32) for k, v in value.items()}
            elif isinstance(value, (int, float, np.number)):
                value = torch.tensor(value)
            item[key] = value
        return item


class SynthNotesDataset(NotesDataset):
    """Generated TB-303-style notes rendered through pedalboard's swept ladder filter.

    Notes come from :func:`zoo.data.generate.acid_notes` and are rendered with
    :func:`zoo.data.render.render_acid_notes` (cached in memory and optionally on disk). Besides
    the conditioning (``f0_hz``, ``note_on_samples``), each item carries ``"params"``: the note's
    true parameters (:class:`~zoo.data.generate.AcidNote` fields) as float32 tensors, for
    evaluating parameter recovery.

    Args:
        num_notes: Number of notes in the full set (all splits). Default 200.
        sample_rate: Sample rate (Hz). Default 48000.
        note_samples: Length of each note (samples). Default 6000 (a 16th note at 48 kHz, as in the paper).
        seed: Seed of the notes and of the split. Default 0.
        split, split_fractions, shuffle_split: see :class:`NotesDataset`. Default split 60/20/20.
        waveform: ``"random"``, ``"saw"``, ``"square"`` or ``"mix"`` (see :func:`~zoo.data.generate.acid_notes`).
        midi_range: Inclusive MIDI pitch range. Default (36, 60).
        block_samples: Cutoff update interval of the ladder (samples). Default 32.
        cache_dir: Folder for cached renders. Default ``None``.

    Raises:
        ImportError: without pedalboard.
    """

    def __init__(
        self,
        num_notes: int = 200,
        *,
        sample_rate: int = 48000,
        note_samples: int = 6000,
        seed: int = 0,
        split: str = "train",
        split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        waveform: str = "random",
        midi_range: Sequence[int] = (36, 60),
        block_samples: int = 32,
        cache_dir: PathLike | None = None,
    ) -> None:
        from .render import render_acid_notes

        self.notes = acid_notes(
            sample_rate, num_notes, seed, note_samples=note_samples, waveform=waveform, midi_range=midi_range
        )
        audio = render_acid_notes(self.notes, sample_rate, block_samples=block_samples, cache_dir=cache_dir)
        super().__init__(
            audio,
            [n.f0_hz for n in self.notes],
            [n.note_on_samples for n in self.notes],
            sample_rate=sample_rate,
            split=split,
            split_fractions=split_fractions,
            shuffle_split=shuffle_split,
            seed=seed,
            extras={"params": [n.to_dict() for n in self.notes]},
        )


def cut_notes(
    audio: np.ndarray,
    sample_rate: int,
    notes: Sequence[MidiNote],
    *,
    note_samples: int = 6000,
    offset_s: float = 0.0,
    min_note_on_samples: int = 1,
) -> tuple[np.ndarray, list[MidiNote], np.ndarray]:
    """Cut fixed-length notes out of a loop at the MIDI note-on times.

    Note k spans samples ``[s_k, s_k + note_samples)`` with ``s_k = round((start_s + offset_s) * sample_rate)``;
    notes that run past the end are zero-padded, notes that start past it are dropped. The gate
    length is ``min(round(duration_s * sample_rate), note_samples)``.

    Args:
        audio: The loop, ``(C, T)`` or ``(T,)``; channels are averaged to mono.
        sample_rate: Its sample rate (Hz).
        notes: Notes from :func:`zoo.data.midi.midi_notes`.
        note_samples: Length of each cut (samples). Default 6000.
        offset_s: Shift added to the MIDI times (s), for loops that do not start at MIDI time 0. Default 0.
        min_note_on_samples: Drop notes with a shorter gate (samples). Default 1.

    Shape:
        Output audio: ``(N, note_samples)``.

    Returns:
        ``(audio, kept_notes, note_on_samples)``.
    """
    sample_rate = check_sample_rate(sample_rate)
    note_samples = check_int(note_samples, "note_samples", minimum=1)
    offset_s = check_float(offset_s, "offset_s")
    min_on = check_int(min_note_on_samples, "min_note_on_samples", minimum=0)
    mono = _to_numpy_2d(audio, "audio").mean(axis=0)
    cuts, kept, gates = [], [], []
    for note in notes:
        start = int(round((note.start_s + offset_s) * sample_rate))
        gate = min(int(round(note.duration_s * sample_rate)), note_samples)
        if start < 0 or start >= mono.shape[-1] or gate < min_on:
            continue
        seg = mono[start : start + note_samples]
        if seg.shape[-1] < note_samples:
            seg = np.pad(seg, (0, note_samples - seg.shape[-1]))
        cuts.append(seg)
        kept.append(note)
        gates.append(gate)
    out = np.stack(cuts).astype(np.float32) if cuts else np.zeros((0, note_samples), dtype=np.float32)
    return out, kept, np.asarray(gates, dtype=np.int64)


class TB303Notes(NotesDataset):
    """TB-303 notes cut from a recorded loop with its MIDI file (the paper's synth data, by path).

    The paper cut 16th notes (6000 samples at 48 kHz) from 42.5 s of 303 loops using the loops'
    MIDI; this class does the same for any audio + Standard MIDI File pair, with the small SMF
    parser of :mod:`zoo.data.midi`. Items also carry ``"midi_pitch"`` and ``"velocity"``.

    Args:
        audio_path: The loop (wav/flac).
        midi_path: Its MIDI file (``.mid``).
        sample_rate: Rate to resample the loop to (Hz). Default 48000.
        note_samples: Length of each note (samples). Default 6000.
        offset_s: Shift added to the MIDI times (s). Default 0.
        midi_channels: MIDI channels to use. Default all.
        min_note_on_samples: Drop notes with a shorter gate (samples). Default 1.
        allow_resample: Resample a loop at another rate. Default ``True``.
        split, split_fractions, shuffle_split, seed: see :class:`NotesDataset`.

    Raises:
        FileNotFoundError: for a missing file (named).
        AudioFileError, MidiFileError: for unreadable files (named).
        ValueError: if no note falls inside the audio (both files named).
    """

    def __init__(
        self,
        audio_path: PathLike,
        midi_path: PathLike,
        *,
        sample_rate: int = 48000,
        note_samples: int = 6000,
        offset_s: float = 0.0,
        midi_channels: Sequence[int] | None = None,
        min_note_on_samples: int = 1,
        allow_resample: bool = True,
        split: str = "train",
        split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        seed: int = 0,
    ) -> None:
        loop, rate = load_audio(audio_path, sample_rate, allow_resample=allow_resample, channels=1)
        notes = midi_notes(midi_path, channels=midi_channels)
        audio, kept, gates = cut_notes(
            loop, rate, notes, note_samples=note_samples, offset_s=offset_s, min_note_on_samples=min_note_on_samples
        )
        if not kept:
            raise ValueError(
                f"Unexpected MIDI file {midi_path}: expected notes inside the {loop.shape[-1] / rate:g} s of {audio_path}, "
                f"found {len(notes)} note(s), none usable"
            )
        self.midi_notes = kept
        super().__init__(
            audio,
            [n.f0_hz for n in kept],
            gates,
            sample_rate=rate,
            split=split,
            split_fractions=split_fractions,
            shuffle_split=shuffle_split,
            seed=seed,
            extras={"midi_pitch": [n.pitch for n in kept], "velocity": [n.velocity / 127.0 for n in kept]},
        )

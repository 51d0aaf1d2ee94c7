"""Splits by time and the segments cut inside them: :class:`PairedSegments`, the base effect dataset."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .._checks import (
    check_fractions,
    check_int,
    check_nan_policy,
    check_ranges_s,
    check_sample_rate,
    check_split,
)
from ..audio_io import PathLike
from ..layouts import DEFAULT_EXTENSIONS, find_paired_files
from .pairs import AudioPair, PairSpec, _as_pair, check_pair_audio


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

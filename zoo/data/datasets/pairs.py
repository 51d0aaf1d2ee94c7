"""Dry/wet audio pairs: :class:`AudioPair` over arrays or files, and the checks of their audio."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

from .._checks import SILENT_PEAK_DB, check_nan_policy, check_sample_rate, scan_audio
from ..audio_io import AudioFileError, PathLike, audio_info, convert_channels, load_audio

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

"""Audio file input/output: soundfile for reading and writing, soxr for resampling.

Arrays are channels first, ``(C, T)`` float32, everywhere in :mod:`zoo.data`. Every error about a
file names the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from ._checks import check_int, check_sample_rate

__all__ = [
    "AudioFileError",
    "AudioInfo",
    "PathLike",
    "audio_info",
    "load_audio",
    "save_audio",
    "resample",
    "convert_channels",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Extensions that :func:`load_audio` is expected to read (libsndfile reads more).
AUDIO_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".ogg")


class AudioFileError(ValueError):
    """An audio file that exists but cannot be used (unreadable, wrong rate, wrong length...).

    Attributes:
        path: The offending file.
    """

    def __init__(self, path: PathLike, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{message} (file: {self.path})")


@dataclass(frozen=True)
class AudioInfo:
    """Header of an audio file.

    Attributes:
        path: The file.
        sample_rate: Sample rate (Hz).
        num_frames: Length (samples per channel).
        num_channels: Number of channels.
    """

    path: Path
    sample_rate: int
    num_frames: int
    num_channels: int

    @property
    def duration_s(self) -> float:
        """Length (s)."""
        return self.num_frames / self.sample_rate


def _soundfile():
    import soundfile

    return soundfile


def _check_exists(path: PathLike) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Unexpected type for `path`: expected str or os.PathLike, found {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Audio file not found: {path}")
    if not path.is_file():
        raise AudioFileError(path, "Expected an audio file, found a directory or special file")
    return path


def audio_info(path: PathLike) -> AudioInfo:
    """Read the header of an audio file (no samples are decoded).

    Args:
        path: A file libsndfile can read (wav, flac, aiff, ogg...).

    Returns:
        :class:`AudioInfo` with the sample rate (Hz), length (frames) and channel count.

    Raises:
        FileNotFoundError: if ``path`` does not exist (the message names it).
        AudioFileError: if the file cannot be parsed (the message names it).
    """
    path = _check_exists(path)
    sf = _soundfile()
    try:
        info = sf.info(str(path))
    except Exception as err:  # libsndfile raises its own RuntimeError subclasses
        raise AudioFileError(path, f"Unreadable audio file: {err}") from err
    return AudioInfo(path, int(info.samplerate), int(info.frames), int(info.channels))


def wav_missing_bytes(path: PathLike) -> int:
    """For a RIFF/WAVE file: how many bytes of its ``data`` chunk are missing from the file (0 if whole).

    libsndfile silently reads what is there when a wav was cut short (a copy or a recording that
    was interrupted); comparing the ``data`` chunk's declared size with the bytes present tells.
    Files that are not RIFF/WAVE, and streaming headers (size 0 or 0xFFFFFFFF), give 0. Hand-written
    (a few header reads) because neither soundfile nor the standard ``wave`` module reports the
    shortfall: both read the partial data without a word.
    """
    import struct

    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(12)
            if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return 0
            position = 12
            while position + 8 <= size:
                handle.seek(position)
                chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
                if chunk_id == b"data":
                    if chunk_size in (0, 0xFFFFFFFF):
                        return 0
                    return max(0, position + 8 + chunk_size - size)
                position += 8 + chunk_size + (chunk_size & 1)
    except OSError:
        return 0
    return 0


def convert_channels(audio: np.ndarray, channels: int, *, name: str = "audio") -> np.ndarray:
    """Convert ``(C, T)`` audio to ``channels`` channels.

    Mono is tiled to any count; any count is averaged down to mono; other conversions are refused.

    Args:
        audio: ``(C, T)`` array.
        channels: Wanted number of channels, >= 1.
        name: What to call the audio in errors (e.g. a file name).

    Shape:
        audio: ``(C, T)``. Output: ``(channels, T)``.

    Returns:
        The converted array (the input itself when nothing changes).

    Raises:
        ValueError: for a conversion other than mono <-> C channels.
    """
    channels = check_int(channels, "channels", minimum=1)
    have = audio.shape[0]
    if have == channels:
        return audio
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    if have == 1:
        return np.repeat(audio, channels, axis=0)
    raise ValueError(f"Unexpected channel count for {name}: expected 1 or {channels}, found {have}")


def resample(audio: np.ndarray, orig_sample_rate: int, new_sample_rate: int, *, quality: str = "HQ") -> np.ndarray:
    """Resample ``(..., T)`` audio with soxr.

    Args:
        audio: Array with time last.
        orig_sample_rate: Sample rate of ``audio`` (Hz).
        new_sample_rate: Wanted sample rate (Hz).
        quality: soxr quality, one of ``"QQ"``, ``"LQ"``, ``"MQ"``, ``"HQ"``, ``"VHQ"``. Default ``"HQ"``.

    Shape:
        audio: ``(..., T)``. Output: ``(..., T')`` with T' = ceil(T * new / orig).

    Returns:
        float32 array.
    """
    orig_sample_rate = check_sample_rate(orig_sample_rate, "orig_sample_rate")
    new_sample_rate = check_sample_rate(new_sample_rate, "new_sample_rate")
    audio = np.asarray(audio, dtype=np.float32)
    if orig_sample_rate == new_sample_rate:
        return audio
    import soxr

    lead = audio.shape[:-1]
    flat = audio.reshape(-1, audio.shape[-1])
    # soxr wants (frames, channels).
    out = soxr.resample(np.ascontiguousarray(flat.T), orig_sample_rate, new_sample_rate, quality=quality)
    out = np.asarray(out, dtype=np.float32).reshape(-1, flat.shape[0]).T
    return np.ascontiguousarray(out.reshape(*lead, out.shape[-1]))


def load_audio(
    path: PathLike,
    sample_rate: int | None = None,
    *,
    allow_resample: bool = True,
    channels: int | None = None,
    start: int = 0,
    stop: int | None = None,
) -> tuple[np.ndarray, int]:
    """Load an audio file as ``(C, T)`` float32, optionally resampled and converted in channels.

    Args:
        path: wav, flac, or any other format libsndfile reads.
        sample_rate: Wanted sample rate (Hz). Default ``None``: the file's own rate.
        allow_resample: When ``sample_rate`` differs from the file's rate, resample with soxr if
            ``True``, else raise. Default ``True``.
        channels: Wanted channel count (mono is tiled, anything is averaged to mono).
            Default ``None``: keep the file's channels.
        start: First frame to read, in the file's own rate. Default 0.
        stop: One past the last frame to read, in the file's own rate. Default ``None``: the end.

    Shape:
        Output audio: ``(C, T)``.

    Returns:
        ``(audio, sample_rate)``: float32 audio and its sample rate (Hz).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        AudioFileError: if the file cannot be read, or its rate differs from ``sample_rate`` and
            ``allow_resample`` is ``False``, or its channels cannot be converted. Every message
            names the file (and both rates when they differ).
    """
    path = _check_exists(path)
    if sample_rate is not None:
        sample_rate = check_sample_rate(sample_rate)
    start = check_int(start, "start", minimum=0)
    if stop is not None:
        stop = check_int(stop, "stop", minimum=start)
    sf = _soundfile()
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True, start=start, stop=stop)
    except Exception as err:
        raise AudioFileError(path, f"Unreadable audio file: {err}") from err
    audio = np.ascontiguousarray(data.T)
    if channels is not None:
        try:
            audio = convert_channels(audio, channels, name=str(path))
        except ValueError as err:
            raise AudioFileError(path, str(err)) from err
    if sample_rate is not None and sample_rate != file_rate:
        if not allow_resample:
            raise AudioFileError(
                path,
                f"Unexpected sample rate: expected {sample_rate} Hz, found {file_rate} Hz "
                "(pass allow_resample=True to resample)",
            )
        audio = resample(audio, file_rate, sample_rate)
        file_rate = sample_rate
    return audio.astype(np.float32, copy=False), int(file_rate)


def save_audio(path: PathLike, audio: np.ndarray, sample_rate: int, *, subtype: str | None = None) -> Path:
    """Write ``(C, T)`` or ``(T,)`` audio to a file whose format follows the extension.

    Args:
        path: Output file (``.wav``, ``.flac``...). Parent folders are created.
        audio: Samples, channels first; torch tensors are accepted.
        sample_rate: Sample rate (Hz).
        subtype: libsndfile subtype, e.g. ``"PCM_16"`` or ``"FLOAT"``. Default ``None``: ``"FLOAT"``
            for wav, the format's default otherwise.

    Shape:
        audio: ``(C, T)`` or ``(T,)``.

    Returns:
        The path written.

    Raises:
        ValueError: for audio with more than 2 dimensions.
        AudioFileError: if libsndfile cannot write the file.
    """
    sample_rate = check_sample_rate(sample_rate)
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"Unexpected shape for `audio`: expected (C, T) or (T,), found {tuple(audio.shape)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if subtype is None and path.suffix.lower() == ".wav":
        subtype = "FLOAT"
    sf = _soundfile()
    try:
        sf.write(str(path), audio.T, sample_rate, subtype=subtype)
    except Exception as err:
        raise AudioFileError(path, f"Cannot write audio file: {err}") from err
    return path

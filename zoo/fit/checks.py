"""Load a dry/wet pair and check it: one clear line per finding, naming the file.

Fixes (each reported): lengths differ -> trim to the shorter; sample rates differ -> resample the
wet file with ``resample`` (else refuse); latency -> advance the wet by the cross-correlation lag
(`zoo.fit.align`); inverted polarity -> flip the wet; DC offset -> remove it. Warnings: clipped
wet. Refusals (``ValueError`` with a one-line message): silent dry or wet, wet identical to dry,
unreadable files, differing rates without ``resample``, a recording too short to hold out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .align import cross_correlation_lag, shift

__all__ = ["FitData", "load_pair", "check_pair"]

#: below this RMS (dBFS) a file counts as silent
SILENT_DB = -80.0
#: a mean above this fraction of the RMS (and above 1e-4) counts as a DC offset
DC_FRACTION = 0.05


@dataclass
class FitData:
    """A checked pair: mono float32 (T,) arrays at one sample rate, and what was done to them."""

    dry: np.ndarray
    wet: np.ndarray
    sample_rate: int
    notes: list[str] = field(default_factory=list)
    latency_samples: int = 0
    polarity_flipped: bool = False
    dc_removed: dict[str, float] = field(default_factory=dict)
    capture: dict | None = None

    @property
    def num_samples(self) -> int:
        return int(self.dry.shape[-1])


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types
        raise ValueError(f"{path}: cannot read it as audio ({err})") from None
    return audio.T, int(rate)


def _rms_db(x: np.ndarray) -> float:
    return 10.0 * np.log10(float(np.mean(np.square(x, dtype=np.float64))) + 1e-30)


def _finite(audio: np.ndarray, path: Path, nan: str, notes: list[str]) -> np.ndarray:
    """Refuse (``nan="error"``) or zero (``nan="zero"``, noted) non-finite samples of (C, T) audio."""
    finite = np.isfinite(audio)
    if finite.all():
        return audio
    channel, frame = (int(i[0]) for i in np.nonzero(~finite))
    if nan != "zero":
        raise ValueError(f"{path}: non-finite sample ({audio[channel, frame]}) at frame {frame}, channel {channel}; "
                         "fix the file, or pass --nan zero to replace non-finite samples with zeros")
    notes.append(f"{path}: warning: replaced {int((~finite).sum())} non-finite samples with zeros (first at frame {frame})")
    return np.where(finite, audio, 0.0).astype(audio.dtype)


def load_pair(dry_path, wet_path, *, resample: bool = False, min_seconds: float = 2.0, nan: str = "error") -> FitData:
    """Read DRY and WET and run `check_pair`. Multichannel files are averaged to mono (noted).

    ``nan``: "error" (a NaN/Inf sample is refused, naming its frame) or "zero" (zeroed, noted).
    """
    if nan not in ("error", "zero"):
        raise ValueError(f"Unexpected value for --nan: expected 'error' or 'zero', found {nan!r}")
    dry_path, wet_path = Path(dry_path), Path(wet_path)
    dry, dry_rate = _read(dry_path)
    wet, wet_rate = _read(wet_path)
    notes: list[str] = []
    dry = _finite(dry, dry_path, nan, notes)
    wet = _finite(wet, wet_path, nan, notes)
    if wet_rate != dry_rate:
        if not resample:
            raise ValueError(
                f"{wet_path}: sample rate {wet_rate} Hz differs from {dry_path} ({dry_rate} Hz); pass --resample "
                "to resample the wet file, or export both at one rate"
            )
        from ..data.audio_io import resample as _resample

        wet = _resample(wet, wet_rate, dry_rate)
        notes.append(f"{wet_path}: resampled from {wet_rate} Hz to {dry_rate} Hz (--resample)")
    for path, audio in ((dry_path, dry), (wet_path, wet)):
        if audio.shape[0] > 1:
            notes.append(f"{path}: {audio.shape[0]} channels averaged to mono")
    data = check_pair(dry.mean(0), wet.mean(0), dry_rate, dry_name=str(dry_path), wet_name=str(wet_path),
                      min_seconds=min_seconds)
    data.notes[:0] = notes
    return data


def check_pair(dry: np.ndarray, wet: np.ndarray, sample_rate: int, *, dry_name: str = "dry", wet_name: str = "wet",
               min_seconds: float = 2.0, min_peak: float = 0.5) -> FitData:
    """Check and fix a mono pair (see the module docstring). Returns a `FitData`; raises ValueError."""
    dry = np.asarray(dry, dtype=np.float32).copy()
    wet = np.asarray(wet, dtype=np.float32).copy()
    notes: list[str] = []
    if len(dry) != len(wet):
        n = min(len(dry), len(wet))
        longer = dry_name if len(dry) > len(wet) else wet_name
        notes.append(f"{longer}: lengths differ ({len(dry)} vs {len(wet)} samples); trimmed both to {n} "
                     f"({n / sample_rate:.2f} s)")
        dry, wet = dry[:n], wet[:n]
    if len(dry) < min_seconds * sample_rate:
        raise ValueError(f"{dry_name}: {len(dry) / sample_rate:.2f} s is too short; record at least "
                         f"{min_seconds:g} s (20 s or more is better)")
    for name, x in ((dry_name, dry), (wet_name, wet)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name}: contains NaN or Inf samples; re-export the file")
    if _rms_db(dry) < SILENT_DB:
        raise ValueError(f"{dry_name}: the dry file is silent (RMS {_rms_db(dry):.0f} dBFS); check the recording")
    if _rms_db(wet) < SILENT_DB:
        raise ValueError(f"{wet_name}: the wet file is silent (RMS {_rms_db(wet):.0f} dBFS); check the routing "
                         "of the effect's output")
    peak = float(np.max(np.abs(dry))) + 1e-30
    if float(np.max(np.abs(wet - dry))) <= 1e-6 * peak:
        raise ValueError(f"{wet_name}: identical to {dry_name}; the effect was bypassed or the same file given twice")
    dc: dict[str, float] = {}
    for name, x in ((dry_name, dry), (wet_name, wet)):
        mean = float(np.mean(x, dtype=np.float64))
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
        if abs(mean) > max(1e-4, DC_FRACTION * rms):
            x -= mean
            dc[name] = mean
            notes.append(f"{name}: DC offset of {mean:+.4f} removed")
    lag, corr, corr0 = cross_correlation_lag(dry, wet, sample_rate)
    flipped = False
    applied_lag = 0
    if abs(corr) >= min_peak:
        if lag != 0 and abs(corr0) < 0.5 * abs(corr):
            wet = shift(wet, lag)
            applied_lag = lag
            notes.append(f"{wet_name}: latency of {lag} samples ({1000 * lag / sample_rate:.2f} ms) found by "
                         "cross-correlation; compensated")
        if (corr if applied_lag else corr0) < -min_peak:
            wet = -wet
            flipped = True
            notes.append(f"{wet_name}: inverted polarity (correlation {corr:.2f}); flipped")
    wet_peak = float(np.max(np.abs(wet)))
    if wet_peak >= 0.99:
        at_peak = np.abs(wet) >= 0.999 * wet_peak
        runs = np.count_nonzero(at_peak[1:] & at_peak[:-1])
        if runs >= 3:
            notes.append(f"{wet_name}: clipped ({runs} consecutive samples at full scale {wet_peak:.3f}); "
                         "lower the effect's output level and record again for a better fit")
    return FitData(dry, wet, int(sample_rate), notes, applied_lag, flipped, dc)

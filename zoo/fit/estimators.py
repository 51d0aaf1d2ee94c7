r"""Settings from the audio alone, without the device's knobs.

Compressor, the static curve (`estimate_static_curve`): over short frames, the wet level against the
dry level. A hard-knee compressor with threshold T, ratio R and make-up M has, for steady levels,
gain(L) = M + min(0, (1/R - 1)(L - T)) dB. Frames are 10 ms; the level of a frame is its peak
(the detector of most digital compressors) or its RMS, whichever explains the data better; levels
are binned by 1 dB and the median gain per bin is fitted, over the steady frames (within 1.5 dB of
the median level of the previous 300 ms, so that the ballistics have settled) when there are enough, (weighted by the bin counts) by a grid over
T with R and M solved by least squares. Frames under -70 dBFS are ignored.

Phaser, the LFO (`estimate_lfo_rate`): the notches sweep with the LFO, so the wet/dry log-spectral
ratio and the complex transfer function (cross-spectrum over dry power: at a high wet mix the
all-passes move the phase far more than the magnitude) in each band are periodic functions of time
with the LFO's period. We take the STFT of both
(46 ms frames, hop 11.6 ms at 44.1 kHz), the log ratio in 40 log-spaced bands from 80 Hz to 10 kHz,
remove each feature's mean and scale it to unit variance, keep the frames where the dry signal is present, and for each candidate
rate f (log grid 0.05-12 Hz, then a local refinement) fit a + sum_h b_h cos(2 pi h f t) + c_h sin(2 pi h f t),
h = 1..4, to every band by least squares (so a rate's model contains its double's). The score is the fraction of variance explained; the rate
is the best score, preferring the highest rate within 3 % of it (sub-multiples of the true rate
explain the same variance with more parameters, multiples explain less). The LFO phase and the
sweep range are left to the multi-start search (`zoo.fit.search`), where the forward model sorts
out what the spectrum alone leaves ambiguous.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["estimate_static_curve", "estimate_lfo_rate", "frame_levels_db"]


def frame_levels_db(x: np.ndarray, frame: int, kind: str) -> np.ndarray:
    n = len(x) // frame
    blocks = x[: n * frame].astype(np.float64).reshape(n, frame)
    if kind == "peak":
        level = np.max(np.abs(blocks), axis=1)
        return 20.0 * np.log10(level + 1e-12)
    return 10.0 * np.log10(np.mean(blocks**2, axis=1) + 1e-24)


def _fit_curve(level: np.ndarray, gain: np.ndarray, weight: np.ndarray) -> tuple[float, float, float, float]:
    """Weighted fit of gain = M + s min(0, L - T), s <= 0: (T, R, M, weighted residual)."""
    best = (0.0, 1.0, 0.0, np.inf)
    w = weight / weight.sum()
    for t in np.arange(-70.0, 0.01, 0.25):
        over = np.maximum(level - t, 0.0)  # gain = M + s * over, s = 1/R - 1 in (-1, 0]
        a = np.stack([np.ones_like(over), over], axis=1)
        aw = a * np.sqrt(w)[:, None]
        coef, *_ = np.linalg.lstsq(aw, gain * np.sqrt(w), rcond=None)
        m, s = float(coef[0]), float(min(0.0, max(-0.999, coef[1])))
        m = float(np.sum(w * (gain - s * over)))
        res = float(np.sum(w * (gain - m - s * over) ** 2))
        if res < best[3] - 1e-12:
            best = (float(t), 1.0 / (1.0 + s), m, res)
    return best


def estimate_static_curve(dry: np.ndarray, wet: np.ndarray, sample_rate: float, *, frame_ms: float = 10.0,
                          floor_db: float = -70.0, level: str = "best") -> dict[str, float]:
    """Threshold (dB), ratio and make-up (dB) from the static curve; see the module docstring.

    Args:
        level: ``"best"`` (default): the fit (peak or RMS frames) with the smaller residual;
            ``"midpoint"``: for a sine (the capture signal's level steps), whose peak and RMS levels
            differ by 3.01 dB, the mean of the two fits, within 1.5 dB of either kind of detector.

    Returns ``{"threshold_db", "ratio", "makeup_gain_db", "level": "peak"|"rms"|"midpoint", "residual_db2"}``.
    """
    frame = max(8, int(round(frame_ms * 1e-3 * sample_rate)))
    results = []
    for kind in ("peak", "rms"):
        ld = frame_levels_db(dry, frame, kind)
        lw = frame_levels_db(wet, frame, kind)
        keep = ld > floor_db
        if keep.sum() < 10:
            raise ValueError("too few frames above -70 dBFS to estimate the static curve; record louder material")
        # steady frames: within 1.5 dB of the median of the previous 300 ms (the ballistics have settled)
        span = max(3, int(round(300.0 / frame_ms)))
        pad = np.concatenate([np.full(span, ld[0]), ld])
        windows = np.lib.stride_tricks.sliding_window_view(pad, span)[: len(ld)]
        steady = np.abs(ld - np.median(windows, axis=1)) < 1.5
        if np.count_nonzero(keep & steady) >= 30:
            keep = keep & steady
        ld, g = ld[keep], (lw - ld)[keep]
        bins = np.round(ld).astype(int)
        levels, gains, counts = [], [], []
        for b in np.unique(bins):
            sel = bins == b
            levels.append(float(np.median(ld[sel])))
            gains.append(float(np.median(g[sel])))
            counts.append(float(sel.sum()))
        t, r, m, res = _fit_curve(np.array(levels), np.array(gains), np.array(counts))
        results.append({"threshold_db": t, "ratio": r, "makeup_gain_db": m, "level": kind, "residual_db2": res})
    if level == "midpoint":
        return {"threshold_db": 0.5 * (results[0]["threshold_db"] + results[1]["threshold_db"]),
                "ratio": 0.5 * (results[0]["ratio"] + results[1]["ratio"]),
                "makeup_gain_db": 0.5 * (results[0]["makeup_gain_db"] + results[1]["makeup_gain_db"]),
                "level": "midpoint", "residual_db2": max(r["residual_db2"] for r in results)}
    return min(results, key=lambda d: d["residual_db2"])


def _band_log_ratio(dry: np.ndarray, wet: np.ndarray, sample_rate: float, n_fft: int, hop: int,
                    n_bands: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(frames, bands) log |W|/|D| with band means removed and NaN where the dry is absent; frame times."""
    window = np.hanning(n_fft)
    n_frames = 1 + (len(dry) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    d = np.abs(np.fft.rfft(dry[idx] * window, axis=1)) ** 2
    w = np.abs(np.fft.rfft(wet[idx] * window, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = np.geomspace(80.0, min(10000.0, 0.45 * sample_rate), n_bands + 1)
    band_d = np.stack([d[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in zip(edges[:-1], edges[1:])], 1)
    band_w = np.stack([w[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in zip(edges[:-1], edges[1:])], 1)
    cross = w * np.conj(d)
    band_c = np.stack([cross[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in zip(edges[:-1], edges[1:])], 1)
    ref = np.max(band_d)
    present = band_d > ref * 1e-7
    transfer = band_c / (band_d + ref * 1e-12)  # the band's complex transfer function: phase moves too
    feats = [np.log(band_w + ref * 1e-12) - np.log(band_d + ref * 1e-12), transfer.real, transfer.imag]
    ratio = np.concatenate([np.where(present, f, np.nan) for f in feats], axis=1)
    with warnings.catch_warnings():  # bands never present stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        ratio -= np.nanmean(ratio, axis=0, keepdims=True)
        ratio /= np.nanstd(ratio, axis=0, keepdims=True) + 1e-12  # each feature counts alike
    times = (np.arange(n_frames) * hop + n_fft / 2) / sample_rate
    return ratio, times


def _periodicity_scores(ratio: np.ndarray, times: np.ndarray, rates: np.ndarray, harmonics: int = 4) -> np.ndarray:
    """Fraction of the bands' variance explained by a harmonic series at each rate (masked normal equations)."""
    mask = ~np.isnan(ratio)
    y = np.where(mask, ratio, 0.0)
    total = float(np.sum(y**2)) + 1e-30
    h = np.arange(1, harmonics + 1)
    scores = np.empty(len(rates))
    for i, f in enumerate(rates):
        phase = 2 * np.pi * f * times[:, None] * h[None, :]
        a = np.concatenate([np.ones((len(times), 1)), np.cos(phase), np.sin(phase)], axis=1)
        gram = a.T @ a + 1e-9 * len(times) * np.eye(a.shape[1])
        coef = np.linalg.solve(gram, a.T @ y)
        resid = (y - a @ coef) * mask
        scores[i] = 1.0 - float(np.sum(resid**2)) / total
    return scores


def estimate_lfo_rate(dry: np.ndarray, wet: np.ndarray, sample_rate: float, *, low_hz: float = 0.05,
                      high_hz: float = 12.0, top: int = 3) -> list[tuple[float, float]]:
    """LFO rate candidates [(rate_hz, score), ...], best first; see the module docstring."""
    n_fft = 1 << int(round(math.log2(0.046 * sample_rate)))
    hop = n_fft // 4
    ratio, times = _band_log_ratio(np.asarray(dry, np.float64), np.asarray(wet, np.float64), sample_rate, n_fft, hop)
    keep = np.mean(~np.isnan(ratio), axis=1) > 0.5
    if keep.sum() < 16:
        raise ValueError("too few broadband frames (dry energy in most bands from 80 Hz to 10 kHz) to estimate the "
                         "phaser's LFO rate; record broadband material (music, noise) through it, e.g. "
                         "`zoo capture-signal`")
    ratio, times = ratio[keep], times[keep]
    duration = times[-1] - times[0] if len(times) > 1 else 1.0
    low = max(low_hz, 0.5 / max(duration, 1e-3))
    rates = np.geomspace(low, min(high_hz, 0.25 * sample_rate / hop), 400)
    scores = _periodicity_scores(ratio, times, rates)
    # local maxima, refined on a fine grid around each
    peaks = [i for i in range(len(rates)) if (i == 0 or scores[i] >= scores[i - 1]) and
             (i == len(rates) - 1 or scores[i] >= scores[i + 1])]
    peaks = sorted(peaks, key=lambda i: -scores[i])[: max(top * 2, 6)]
    refined = []
    for i in peaks:
        fine = np.linspace(rates[max(i - 1, 0)], rates[min(i + 1, len(rates) - 1)], 21)
        s = _periodicity_scores(ratio, times, fine)
        j = int(np.argmax(s))
        refined.append((float(fine[j]), float(s[j])))
    refined.sort(key=lambda t: -t[1])
    best_score = refined[0][1]
    close = [c for c in refined if c[1] >= best_score - 0.03 * abs(best_score)]
    first = max(close, key=lambda c: c[0])
    out = [first] + [c for c in refined if c is not first]
    dedup: list[tuple[float, float]] = []
    for c in out:
        if all(abs(c[0] - d[0]) > 0.02 * d[0] for d in dedup):
            dedup.append(c)
    return dedup[:top]


def _stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    window = np.hanning(n_fft)
    n_frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    return np.fft.rfft(x[idx] * window, axis=1)


#: frames whose break frequency is further than this from the LFO fit (nepers, 0.5 octave) are outliers
_OUTLIER = 0.5 * math.log(2.0)


def _lfo_basis_fit(theta, log_f, weight, shape):
    """Weighted least squares of ln f_b = c + amp w(theta + phase): (phase, c, amp, model)."""
    if shape == 0.0:
        basis = np.stack([np.ones_like(theta), np.cos(theta), np.sin(theta)], 1)
        coef, *_ = np.linalg.lstsq(basis * weight[:, None], log_f * weight, rcond=None)
        amp, phase = math.hypot(coef[1], coef[2]), math.atan2(-coef[2], coef[1])
        return phase, float(coef[0]), amp, basis @ coef
    best = (math.inf, 0.0, 0.0, 0.0, None)
    for ph in np.linspace(0, 2 * np.pi, 48, endpoint=False):
        wrapped = np.remainder(theta + ph + np.pi, 2 * np.pi) - np.pi
        basis = np.stack([np.ones_like(theta), 1.0 - 2.0 * np.abs(wrapped) / np.pi], 1)
        c, *_ = np.linalg.lstsq(basis * weight[:, None], log_f * weight, rcond=None)
        model = basis @ c
        res = float(np.sum((weight * (log_f - model)) ** 2))
        if res < best[0]:
            best = (res, float(ph), float(c[0]), float(c[1]), model)
    _, phase, c0, amp, model = best
    if amp < 0:
        amp, phase = -amp, phase + np.pi
    return phase, c0, amp, model


def _robust_lfo_fit(theta, log_f, weight, shape, iterations: int = 3):
    """`_lfo_basis_fit` with outlier frames (further than `_OUTLIER` from the fit) dropped, refitted;
    scored by the truncated loss sum w min(r^2, OUTLIER^2) / sum w. Returns (score, phase, c, amp)."""
    w = weight.copy()
    for _ in range(iterations):
        phase, c0, amp, model = _lfo_basis_fit(theta, log_f, w, shape)
        inlier = np.abs(log_f - model) < _OUTLIER
        if inlier.sum() < 8:
            break
        w = weight * inlier
    r2 = np.minimum((log_f - model) ** 2, _OUTLIER**2)
    return float(np.sum(weight * r2) / np.sum(weight)), float(np.remainder(phase, 2 * np.pi)), c0, amp


def estimate_sweep(dry: np.ndarray, wet: np.ndarray, sample_rate: float, rates: list[tuple[float, float]], *,
                   num_stages: int = 6, n_grid: int = 120) -> dict:
    r"""The notch sweep frame by frame, then the LFO that explains it (rate, phase, centre, width, shape).

    Per STFT frame (46 ms, hop 11.6 ms at 44.1 kHz), the frozen-time model W = D (a + b A / (1 - g A)),
    A = K first-order all-passes at break frequency f_b, is fitted by complex least squares in (a, b)
    for every f_b on a log grid (20 Hz-20 kHz) and g in {-0.6, -0.3, 0, 0.3, 0.6}; g is the one with
    the least total residual, f_b(t) the best break frequency of each frame. Then ln f_b(t) =
    c + s w(2 pi f t + phi) is fitted by least squares (frames more than half an octave off the fit
    are dropped as outliers and the fit repeated) for each rate candidate f (refined locally)
    (and +-0.6 % around it: the periodicity estimate is the more precise) and each shape w (cosine,
    triangle): the best gives the LFO.

    Returns ``{"rate", "phase", "centre", "octaves", "shape", "g2", "mix_a", "mix_b", "residual"}``.
    """
    dry = np.asarray(dry, np.float64)
    wet = np.asarray(wet, np.float64)
    n_fft = 1 << int(round(math.log2(0.046 * sample_rate)))
    hop = n_fft // 4
    d, w = _stft(dry, n_fft, hop), _stft(wet, n_fft, hop)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    band = (freqs >= 40.0) & (freqs <= min(16000.0, 0.45 * sample_rate))
    d, w, freqs = d[:, band], w[:, band], freqs[band]
    fb = np.geomspace(20.0, min(20000.0, 0.49 * sample_rate), n_grid)
    g = np.tan(np.pi * fb / sample_rate)
    p = (1.0 - g) / (1.0 + g)
    z = np.exp(-2j * np.pi * freqs / sample_rate)
    stage = (p[:, None] - z[None, :]) / (1.0 - p[:, None] * z[None, :])  # (grid, bins)
    ap = stage**num_stages
    d2 = np.abs(d) ** 2
    s0 = d2.sum(1)  # (frames,)
    x0 = (np.conj(d) * w).sum(1)
    energy = (np.abs(w) ** 2).sum(1)
    present = s0 > 1e-6 * np.max(s0)
    best = None
    for g2 in (-0.6, -0.3, 0.0, 0.3, 0.6):
        h = ap / (1.0 - g2 * ap)  # (grid, bins)
        s1 = d2 @ h.T  # (frames, grid): sum |D|^2 H
        s2 = d2 @ (np.abs(h) ** 2).T
        x1 = (np.conj(d) * w) @ np.conj(h).T  # sum conj(D H) W
        det = s0[:, None] * s2 - np.abs(s1) ** 2 + 1e-30
        a = (s2 * x0[:, None] - s1 * x1) / det
        b = (s0[:, None] * x1 - np.conj(s1) * x0[:, None]) / det
        explained = np.real(np.conj(a) * x0[:, None] + np.conj(b) * x1)
        resid = energy[:, None] - explained  # (frames, grid)
        j = np.argmin(resid, axis=1)
        rows = np.arange(len(j))
        total = float(np.sum(resid[rows, j][present]) / (np.sum(energy[present]) + 1e-30))
        if best is None or total < best["residual"]:
            best = {"residual": total, "g2": g2, "index": j, "a": a[rows, j], "b": b[rows, j]}
    times = (np.arange(len(s0)) * hop + n_fft / 2) / sample_rate
    keep = present & (energy > 1e-6 * np.max(energy))
    log_f = np.log(fb[best["index"]])[keep]
    t = times[keep]
    weight = np.sqrt(s0[keep] / np.max(s0[keep]))
    fits = []
    for rate, _ in rates:
        for r in np.linspace(0.994 * rate, 1.006 * rate, 13):
            theta = 2 * np.pi * r * t
            for shape in (0.0, 1.0):
                score, phase, c0, amp = _robust_lfo_fit(theta, log_f, weight, shape)
                fits.append((score, float(r), phase, c0, amp, shape))
    fits.sort(key=lambda f: f[0])
    res, rate, phase, centre, amp, shape = fits[0]
    a_med = complex(np.median(best["a"][keep].real), 0.0).real
    b_med = complex(np.median(best["b"][keep].real), 0.0).real
    return {"rate": rate, "phase": phase, "centre": float(math.exp(centre)), "octaves": float(amp / math.log(2.0)),
            "shape": shape, "g2": float(best["g2"]), "mix_a": float(a_med), "mix_b": float(b_med),
            "residual": float(best["residual"]), "alternatives": [f[1:] for f in fits[1:6]]}

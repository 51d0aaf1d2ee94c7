r"""Numba CPU kernels for the whole TD compressor in one sweep per row, forward and backward.

The kernels work on plain NumPy arrays and know nothing of torch. Per row b (sample n, channel k):

    p(n)      = mean_k x(k, n)^2                                     (linked channels; C = 1 otherwise)
    r(n)      = alpha_rms p(n) + (1 - alpha_rms) r(n-1),  r(-1) = zi[b, 0]       (RMS detector)
    L(n)      = 10 log10 max(r(n), eps)                                            (level, dB)
    G(n)      = min(G_c, G_e, G_l)(L(n))                                      (gain computer, dB)
    g(n)      = 10^(G(n) / 20)
    ghat(n)   = alpha(n) g(n) + (1 - alpha(n)) ghat(n-1),  ghat(-1) = zi[b, 1]          (Eq. 21)
    y(k, n)   = x(k, n) ghat(n) 10^(gamma_dB / 20)

with alpha(n) = alpha_at when g(n) < ghat(n-1) (the attack mask) and alpha_rt otherwise, and the
gain computer of `zoo.effects.compressors.gain_computer`: G_c the compressor with an optional soft knee
(width W; W = 0 is a hard knee), G_e the expander below ET (when on), G_l the limiter above LT (when on).

Per-row parameters ``prm`` (N, 10), columns in the order of `PARAMS`:
threshold_db, ratio, attack_coef, release_coef, rms_coef, makeup_gain_db, knee_db,
expander_threshold_db, expander_ratio, limiter_threshold_db (the last three are ignored when the
expander / limiter is off).

`compressor_forward` stores what the reverse sweep needs: r, L, g, ghat and the attack mask. Where
the detected power is below the knee (and there is no expander or limiter), G = 0 and g = 1
whatever L is: the forward skips the log and the exp there and stores L = -inf, which tells the
backward that the gain computer was idle. The branches of the gain computer are taken on L as
stored, so that the backward, which re-derives them from L, takes the same ones.
`compressor_backward` is the adjoint, one reverse sweep per row:

* output: dL/dghat(n) = gamma sum_k dL/dy(k, n) x(k, n);
* smoother, Algorithm 1 of Yu et al. (DAFx 2024): u(n) = dL/dghat(n) + (1 - alpha(n+1)) u(n+1),
  dL/dg(n) = alpha(n) u(n), and u(n) (g(n) - ghat(n-1)) summed into alpha_at or alpha_rt by the mask;
* gain computer: the local derivatives of the branch taken (ties of ``min`` split the gradient in
  halves, as ``torch.minimum`` does; a clamp passes it at equality, as ``torch.clamp`` does);
* detector: the reverse one-pole recursion (Eq. 7) v(n) = dL/dr(n) + (1 - alpha_rms) v(n+1), then
  dL/dp(n) = alpha_rms v(n) and dL/dalpha_rms = sum_n v(n) (p(n) - r(n-1)).

Every per-row parameter gradient is a sum over time, accumulated in float64 whatever the array dtype;
the scalar arithmetic runs in float64 (the recursions' states too) and is rounded when stored, but
for float32 arrays the level's log and the gain's exp run in float32 (as precise as the composed
float32 path, and ~12 % faster forward). (One difference from `gain_computer`: a knee narrower
than the dtype's smallest normal number is not clamped up to it.)
Shapes: x, y, grad_y, grad_x
(N, C, T); r, L, g, ghat, mask (N, T); prm, grad_prm (N, 10); zi, grad_zi, grad_zf (N, 2).
Kernels are parallel over N (``prange``) with a ``_serial`` twin for one or two rows (waking the
thread pool costs more than it saves), sequential in time, compiled with ``cache=True``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...filters.dispatch import NUMBA_PARALLEL as _PARALLEL, NUMBA_SERIAL as _SERIAL


#: the columns of ``prm`` / ``grad_prm``
PARAMS = (
    "threshold_db", "ratio", "attack_coef", "release_coef", "rms_coef", "makeup_gain_db", "knee_db",
    "expander_threshold_db", "expander_ratio", "limiter_threshold_db",
)

_LN10_OVER_20 = math.log(10.0) / 20.0
_TEN_OVER_LN10 = 10.0 / math.log(10.0)


# ------------------------------------------------------------------------------------------ forward
@njit(**_SERIAL)
def _forward_row(x, prm, zi, use_exp, use_lim, eps, y, rms, level, g, ghat, mask, b):  # pragma: no cover
    n_ch, n_time = x.shape[1], x.shape[2]
    thr = float(prm[b, 0])
    slope = 1.0 / float(prm[b, 1]) - 1.0  # (1 - R) / R <= 0
    at = float(prm[b, 2])
    rt = float(prm[b, 3])
    c = float(prm[b, 4])
    pole = 1.0 - c
    makeup = math.exp(float(prm[b, 5]) * _LN10_OVER_20)
    knee = float(prm[b, 6])
    et = float(prm[b, 7])
    exp_slope = 1.0 - 1.0 / float(prm[b, 8])
    lt = float(prm[b, 9])
    inv_ch = 1.0 / n_ch
    single = rms.itemsize == 4  # float32 arrays
    # Below the knee (and with no expander or limiter) G = 0 and g = 1: skip the log and the exp.
    # The power bound has a relative margin of 1e-9, far above the log's rounding, so a skipped
    # sample is one the exact comparison L < CT - W/2 would also have put there.
    quiet = -1.0 if use_exp or use_lim else (1.0 - 1e-9) * math.pow(10.0, (thr - 0.5 * knee) / 10.0)
    # Eq. 21 with no branch on the loop-carried path: with d = g(n) - ghat(n-1), the attack step
    # at d (d < 0) and the release step rt d (d >= 0) are both the smaller of the two when at >= rt,
    # and both the larger when at < rt (rounding is monotonic, so min / max pick the branch's value).
    at_fast = at >= rt
    mono = n_ch == 1
    r = float(zi[b, 0])
    prev = float(zi[b, 1])
    for n in range(n_time):
        if mono:
            v = float(x[b, 0, n])
            p = v * v
        else:
            s = 0.0
            for k in range(n_ch):
                v = float(x[b, k, n])
                s += v * v
            p = s * inv_ch
        r = p * c + pole * r
        rms[b, n] = r
        r_floor = max(r, eps)
        if r_floor < quiet:
            level[b, n] = -math.inf  # marks "gain computer idle" for the backward
            target = 1.0
        else:
            if single:  # float32 arrays: logf is enough, and faster
                level[b, n] = _TEN_OVER_LN10 * float(math.log(np.float32(r_floor)))
            else:
                level[b, n] = _TEN_OVER_LN10 * math.log(r_floor)
            lv = float(level[b, n])  # as stored: the backward takes the same branches
            over = lv - thr
            if knee > 0.0 and 2.0 * abs(over) <= knee:
                q = over + 0.5 * knee
                gdb = slope * q * q / (2.0 * knee)
            elif over > 0.0:
                gdb = slope * over
            else:
                gdb = 0.0
            if use_exp:
                gdb = min(gdb, min(exp_slope * (et - lv), 0.0))
            if use_lim:
                gdb = min(gdb, min(lt - lv, 0.0))
            if single:
                target = float(math.exp(np.float32(gdb * _LN10_OVER_20)))
            else:
                target = math.exp(gdb * _LN10_OVER_20)
        mask[b, n] = target < prev
        d = target - prev
        step_at = prev + at * d
        step_rt = prev + rt * d
        prev = min(step_at, step_rt) if at_fast else max(step_at, step_rt)
        g[b, n] = target
        ghat[b, n] = prev
        gain = prev * makeup
        if mono:
            y[b, 0, n] = x[b, 0, n] * gain
        else:
            for k in range(n_ch):
                y[b, k, n] = x[b, k, n] * gain


@njit(**_PARALLEL)
def compressor_forward(x, prm, zi, use_exp, use_lim, eps, y, rms, level, g, ghat, mask):  # pragma: no cover
    for b in prange(x.shape[0]):
        _forward_row(x, prm, zi, use_exp, use_lim, eps, y, rms, level, g, ghat, mask, b)


@njit(**_SERIAL)
def compressor_forward_serial(x, prm, zi, use_exp, use_lim, eps, y, rms, level, g, ghat, mask):  # pragma: no cover
    for b in range(x.shape[0]):
        _forward_row(x, prm, zi, use_exp, use_lim, eps, y, rms, level, g, ghat, mask, b)


# ----------------------------------------------------------------------------------------- backward
@njit(**_SERIAL)
def _min_weight(a, b):  # pragma: no cover - compiled
    """d min(a, b) / da as torch.minimum's backward: 1, 1/2 at a tie, 0."""
    if a < b:
        return 1.0
    if a == b:
        return 0.5
    return 0.0


@njit(**_SERIAL)
def _backward_row(grad_y, grad_zf, x, prm, zi, use_exp, use_lim, eps, rms, level, g, ghat, mask, need_x,
                  grad_x, grad_prm, grad_zi, b):  # pragma: no cover - compiled
    n_ch, n_time = x.shape[1], x.shape[2]
    thr = float(prm[b, 0])
    inv_ratio = 1.0 / float(prm[b, 1])
    slope = inv_ratio - 1.0
    at = float(prm[b, 2])
    rt = float(prm[b, 3])
    c = float(prm[b, 4])
    pole = 1.0 - c
    makeup = math.exp(float(prm[b, 5]) * _LN10_OVER_20)
    knee = float(prm[b, 6])
    et = float(prm[b, 7])
    inv_er = 1.0 / float(prm[b, 8])
    exp_slope = 1.0 - inv_er
    lt = float(prm[b, 9])
    inv_ch = 1.0 / n_ch
    two_over_ch = 2.0 * inv_ch
    mono = n_ch == 1
    # float64 sums over time of the parameters' local gradients
    s_thr = s_slope = s_at = s_rt = s_c = s_makeup = s_knee = s_et = s_exp_slope = s_lt = 0.0
    # u, v: the adjoints of ghat(n) and r(n) through the two recursions. The final state
    # zf = [r(T-1), ghat(T-1)] enters as u(T) = dL/dzf[1], v(T) = dL/dzf[0], with a unit gain into n = T-1.
    u = float(grad_zf[b, 1])
    v = float(grad_zf[b, 0])
    keep = 1.0  # 1 - alpha(n+1)
    pole_next = 1.0  # 1 - alpha_rms
    gh = float(ghat[b, n_time - 1])  # ghat(n), r(n): carried over from the previous step's ghat(n-1), r(n-1)
    r = float(rms[b, n_time - 1])
    for n in range(n_time - 1, -1, -1):
        # 4. output y = x ghat gamma
        if mono:
            d_gain = float(grad_y[b, 0, n]) * float(x[b, 0, n])
        else:
            d_gain = 0.0
            for k in range(n_ch):
                d_gain += float(grad_y[b, k, n]) * float(x[b, k, n])
        s_makeup += d_gain * gh
        # 3. smoother (Algorithm 1): u(n) = dL/dghat(n) + (1 - alpha(n+1)) u(n+1)
        u = d_gain * makeup + keep * u
        attack = mask[b, n]
        coef = at if attack else rt
        prev = float(ghat[b, n - 1]) if n > 0 else float(zi[b, 1])
        gn = float(g[b, n])
        term = u * (gn - prev)
        s_at += term if attack else 0.0
        s_rt += 0.0 if attack else term
        keep = 1.0 - coef
        d_r = 0.0
        # 2. g = 10^(G/20), G = min(G_c, G_e, G_l)(L); L = -inf marks an idle gain computer (g = 1)
        lv = float(level[b, n])
        if lv != -math.inf:
            d_db = coef * u * gn * _LN10_OVER_20
            over = lv - thr
            in_knee = knee > 0.0 and 2.0 * abs(over) <= knee
            q = over + 0.5 * knee
            if in_knee:
                g_c = slope * q * q / (2.0 * knee)
            elif over > 0.0:
                g_c = slope * over
            else:
                g_c = 0.0
            w_c = 1.0
            w_e = 0.0
            w_l = 0.0
            g_min = g_c
            e_raw = 0.0
            if use_exp:
                e_raw = exp_slope * (et - lv)
                g_e = min(e_raw, 0.0)
                w_c = _min_weight(g_c, g_e)
                w_e = 1.0 - w_c
                g_min = min(g_c, g_e)
            l_raw = 0.0
            if use_lim:
                l_raw = lt - lv
                w_min = _min_weight(g_min, min(l_raw, 0.0))
                w_l = 1.0 - w_min
                w_c *= w_min
                w_e *= w_min
            d_level = 0.0
            d_c = w_c * d_db
            if in_knee:
                d_over = d_c * slope * q / knee
                s_slope += d_c * q * q / (2.0 * knee)
                s_knee += d_c * slope * (q / (2.0 * knee) - q * q / (2.0 * knee * knee))
                d_level += d_over
                s_thr -= d_over
            elif over > 0.0:
                s_slope += d_c * over
                d_level += d_c * slope
                s_thr -= d_c * slope
            if use_exp and e_raw <= 0.0:
                d_e = w_e * d_db
                s_exp_slope += d_e * (et - lv)
                s_et += d_e * exp_slope
                d_level -= d_e * exp_slope
            if use_lim and l_raw <= 0.0:
                d_l = w_l * d_db
                s_lt += d_l
                d_level -= d_l
            # 1. L = 10 log10 max(r, eps), then the detector's reverse recursion (Eq. 7)
            if r >= eps and d_level != 0.0:
                d_r = d_level * _TEN_OVER_LN10 / r
        v = d_r + pole_next * v
        pole_next = pole
        r_prev = float(rms[b, n - 1]) if n > 0 else float(zi[b, 0])
        if mono:
            xv = float(x[b, 0, n])
            p = xv * xv
        else:
            p = 0.0
            for k in range(n_ch):
                xv = float(x[b, k, n])
                p += xv * xv
            p *= inv_ch
        s_c += v * (p - r_prev)
        r = r_prev
        if need_x:
            d_p = c * v * two_over_ch
            gain = gh * makeup
            for k in range(n_ch):
                grad_x[b, k, n] = float(grad_y[b, k, n]) * gain + d_p * float(x[b, k, n])
        gh = prev
    grad_zi[b, 0] = pole * v
    grad_zi[b, 1] = keep * u
    grad_prm[b, 0] = s_thr
    grad_prm[b, 1] = -s_slope * inv_ratio * inv_ratio
    grad_prm[b, 2] = s_at
    grad_prm[b, 3] = s_rt
    grad_prm[b, 4] = s_c
    grad_prm[b, 5] = s_makeup * makeup * _LN10_OVER_20
    grad_prm[b, 6] = s_knee
    grad_prm[b, 7] = s_et
    grad_prm[b, 8] = s_exp_slope * inv_er * inv_er
    grad_prm[b, 9] = s_lt


@njit(**_PARALLEL)
def compressor_backward(grad_y, grad_zf, x, prm, zi, use_exp, use_lim, eps, rms, level, g, ghat, mask, need_x,
                        grad_x, grad_prm, grad_zi):  # pragma: no cover - compiled
    for b in prange(x.shape[0]):
        _backward_row(grad_y, grad_zf, x, prm, zi, use_exp, use_lim, eps, rms, level, g, ghat, mask, need_x,
                      grad_x, grad_prm, grad_zi, b)


@njit(**_SERIAL)
def compressor_backward_serial(grad_y, grad_zf, x, prm, zi, use_exp, use_lim, eps, rms, level, g, ghat, mask,
                               need_x, grad_x, grad_prm, grad_zi):  # pragma: no cover - compiled
    for b in range(x.shape[0]):
        _backward_row(grad_y, grad_zf, x, prm, zi, use_exp, use_lim, eps, rms, level, g, ghat, mask, need_x,
                      grad_x, grad_prm, grad_zi, b)

r"""Lean streaming for inference at plug-in block sizes: one Numba call per block, no torch dispatch.

`Effect.stream` on a float32 CPU block, with no gradient wanted, hands the block to the effect's
`LeanStream` when the effect's structure has one. The general path (`process_block`) builds the
controls with torch ops and runs custom ops with autograd bookkeeping: at 512-sample blocks that
costs 0.25-1.5 ms per block, more than the DSP itself. Here every parameter is read once into NumPy
(re-read when a parameter changes: their version counters are compared on each block), and a block
is a few Numba calls on preallocated buffers. The state is the general path's own (same layout,
tensors sharing memory with the NumPy views), so the two paths can alternate within one stream.

Covered (the structures `zoo fit` produces, and the paper's compressor):

* `Phaser` with ``lfo="sweep"`` (any K, DF1/TPT stages, feedback delay 0/1, per-stage maps): the
  sweep LFO (`SweepLFO`: ln f_k = clip(ln f_c + s w + q_2 w^2 + q_3 w^3 + o_k)), the stage
  coefficients (prewarped bilinear), `zoo.filters.kernels.numba_allpass_chain.chain_forward` (the kernel of the general
  path) and the output biquad (direct form I, `lfilter`'s state layout).
* `Compressor` with the paper's structure (``method="td"``): `kernels_compressor_fused` (the kernel
  of the general path's fused op).
* `Compressor` device structures (peak/RMS detector, level/gain ballistics, feed-forward/feedback,
  knee): `kernels_compressor_device.device_forward`.

Other structures (the paper's MLP-LFO phaser, the synth) stream through `process_block`.
The outputs equal the general path's up to float32 rounding (tests/effects/internals/test_lean_stream.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit
from torch import Tensor

from .compressors import kernels_fused as kcf
from ..filters.kernels.numba_allpass_chain import chain_forward as kc_chain_forward

from ..filters.dispatch import NUMBA_SERIAL as _SERIAL

__all__ = ["lean_stream_for", "LeanStream"]


@njit(**_SERIAL)
def _sweep_coefficients(offset, sample_rate, rate_hz, phase, shape, log_centre, span, q2, q3, stage_offsets,
                        use_offsets, log_low, log_high, form, out):  # pragma: no cover - compiled
    """out (T, K) float32: the stage coefficients of `SweepLFO` + `stage_coefficients` from sample ``offset``."""
    n_time, k_stages = out.shape
    two_pi = 2.0 * math.pi
    scale = np.float32(math.pi / sample_rate)
    one = np.float32(1.0)
    phase_cycles = phase / two_pi + 0.5
    for n in range(n_time):
        cycles = rate_hz * ((offset + n) / sample_rate)
        frac = cycles - math.floor(cycles)
        theta = two_pi * frac + phase  # float64, as the general path; its cosine in float32 (w is float32)
        turn = frac + phase_cycles  # (theta + pi) / (2 pi): the triangle's wrapped phase without a float modulo
        wrapped = two_pi * (turn - math.floor(turn)) - math.pi
        w = np.float32((1.0 - shape) * math.cos(np.float32(theta)) + shape * (1.0 - 2.0 * abs(wrapped) / math.pi))
        base = log_centre + (span + (q2 + q3 * w) * w) * w
        for k in range(k_stages if use_offsets else 1):
            log_f = base + stage_offsets[k] if use_offsets else base
            log_f = min(max(log_f, log_low), log_high)
            g = math.tan(math.exp(log_f) * scale)  # float32 throughout, as the general path's torch ops
            out[n, k] = (one - g) / (one + g) if form == 0 else g / (one + g)
        if not use_offsets:  # one break frequency for every stage
            for k in range(1, k_stages):
                out[n, k] = out[n, 0]


@njit(**_SERIAL)
def _mix_biquad(x, y_chain, g1, b, a, zi, out):  # pragma: no cover - compiled
    """out = biquad(g1 x + y_chain) per row; zi (R, 4) = [o(-1), o(-2), out(-1), out(-2)], updated."""
    n_rows, n_time = x.shape
    for r in range(n_rows):
        x1, x2, y1, y2 = zi[r, 0], zi[r, 1], zi[r, 2], zi[r, 3]
        for n in range(n_time):
            o = g1 * x[r, n] + y_chain[r, n]
            v = b[0] * o + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2
            out[r, n] = v
            x2, x1, y2, y1 = x1, o, y1, v
        zi[r, 0], zi[r, 1], zi[r, 2], zi[r, 3] = x1, x2, y1, y2


def _parameters(modules: list) -> list:
    return [p for m in modules for p in m._parameters.values() if p is not None]


class LeanStream:
    """Per-effect lean streaming; `process(x, state)` mirrors ``effect.process_block`` (no autograd)."""

    def __init__(self, effect: torch.nn.Module) -> None:
        self.effect = effect
        self._modules = list(effect.modules())
        self._seen: tuple | None = None
        self._scratch: dict[tuple, tuple] = {}

    def ready(self, block: Tensor) -> bool:
        """Whether this block may take the lean path: no gradient wanted, float32 CPU parameters.

        Reads the parameters again when one changed (in place, or replaced) since the last block.
        """
        params = _parameters(self._modules)
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            return False
        seen = tuple((id(p), p._version) for p in params)
        if seen != self._seen:
            if not all(p.dtype == torch.float32 and p.device.type == "cpu" for p in params):
                return False
            self.read_parameters()
            self._seen = seen
        return True

    def _scratch_for(self, key: tuple, make) -> tuple:
        """Scratch arrays for a block shape ``key`` (``make()`` builds them once; a few shapes are kept)."""
        found = self._scratch.get(key)
        if found is None:
            if len(self._scratch) > 16:
                self._scratch.clear()
            found = self._scratch[key] = make()
        return found

    def read_parameters(self) -> None:
        raise NotImplementedError

    def process(self, x: Tensor, state):
        raise NotImplementedError


@njit(**_SERIAL)
def _sweep_phaser_block(x, offset, prm, form, delay, use_offsets, stage_offsets, b, a, chain, bq, coef, y_chain, zf,
                        out):  # pragma: no cover - compiled
    """One block of the sweep phaser, all rows: coefficients (shared by the rows), chain, mix and biquad.

    x (R, T); prm: [sample_rate, rate_hz, phase, shape, log_centre, span, q2, q3, log_low, log_high, g1, g2];
    chain (R, K + 1) and bq (R, 4): the states, updated; coef (1, T, K), y_chain (R, T), zf (1, K + 1):
    scratch; out (R, T).
    """
    _sweep_coefficients(offset, prm[0], prm[1], prm[2], prm[3], np.float32(prm[4]), np.float32(prm[5]),
                        np.float32(prm[6]), np.float32(prm[7]), stage_offsets, use_offsets, np.float32(prm[8]),
                        np.float32(prm[9]), form, coef[0])
    if x.shape[0] == 2 and form == 0 and delay == 0:
        _chain_df1_two_rows(x, coef[0], x.dtype.type(prm[11]), chain, y_chain)
    else:
        g2 = np.full(1, prm[11], dtype=x.dtype)
        none3 = np.empty((0, 0, 0), dtype=x.dtype)
        none2 = np.empty((0, 0), dtype=x.dtype)
        for r in range(x.shape[0]):
            kc_chain_forward(x[r:r + 1], coef, g2, chain[r:r + 1], form, delay, y_chain[r:r + 1], zf, False, none3,
                             none2, none3)
            chain[r, :] = zf[0, :]
    _mix_biquad(x, y_chain, np.float32(prm[10]), b, a, bq, out)


@njit(**_SERIAL)
def _chain_df1_two_rows(x, c, g, state, y):  # pragma: no cover - compiled
    """`chain_forward` for form 0 (DF1), delay 0, two rows sharing the coefficients c (T, K), interleaved.

    The same arithmetic, in the same order, as `zoo.filters.kernels.numba_allpass_chain.chain_forward` per row (a_k = c,
    b_k = c y_k[n-1] - y_{k-1}[n-1]; u = (x + g C) / (1 - g P)); the rows share the stage products P
    and run side by side (stereo at plug-in block sizes). state (2, K+1): u[n-1], y_1[n-1], ..., y_K[n-1].
    """
    n_time, k_stages = c.shape
    s0 = state[0].copy()
    s1 = state[1].copy()
    for n in range(n_time):
        big_p = 1.0
        big_c0 = 0.0
        big_c1 = 0.0
        for k in range(k_stages):
            ck = c[n, k]
            big_p *= ck
            big_c0 = ck * big_c0 + (ck * s0[k + 1] - s0[k])
            big_c1 = ck * big_c1 + (ck * s1[k + 1] - s1[k])
        u0 = (x[0, n] + g * big_c0) / (1.0 - g * big_p)
        u1 = (x[1, n] + g * big_c1) / (1.0 - g * big_p)
        t0 = u0
        t1 = u1
        old0 = s0[0]  # y_{k-1}[n-1] before this sample (u[n-1] for the first stage)
        old1 = s1[0]
        for k in range(k_stages):
            ck = c[n, k]
            cur0 = s0[k + 1]
            cur1 = s1[k + 1]
            t0 = ck * t0 + (ck * cur0 - old0)
            t1 = ck * t1 + (ck * cur1 - old1)
            s0[k + 1] = t0
            s1[k + 1] = t1
            old0 = cur0
            old1 = cur1
        s0[0] = u0
        s1[0] = u1
        y[0, n] = t0
        y[1, n] = t1
    state[0, :] = s0
    state[1, :] = s1


class SweepPhaserStream(LeanStream):
    """`Phaser(lfo="sweep", ...)`: coefficients, chain and biquad in one Numba call per block."""

    def read_parameters(self) -> None:
        e = self.effect
        sw = e.sweep
        f32 = lambda t: float(np.float32(float(t)))  # noqa: E731 - the values as the float32 general path holds them
        self.prm = np.array([
            float(e.sample_rate), float(sw.rate_hz.to(torch.float64)), float(sw.phase.to(torch.float64)),
            float(torch.sigmoid(sw.shape_logit).to(torch.float64)), f32(sw.log_centre), f32(sw.span),
            f32(sw.curve[0]), f32(sw.curve[1]), f32(sw.log_low), f32(sw.log_high), f32(e.g1), f32(e.g2),
        ], np.float64)
        offsets = sw.stage_offsets
        self.use_offsets = offsets is not None
        self.stage_offsets = (offsets.detach().float().numpy().copy() if offsets is not None
                              else np.zeros(e.num_stages, np.float32))
        self.form = 0 if e.stage_form == "df1" else 1
        self.b = e.biquad_b.detach().float().numpy().copy()
        self.a = e.biquad_a.detach().float().numpy().copy()
        self._states: tuple = (None, None, None)

    def process(self, x: Tensor, state):
        e = self.effect
        n_batch, n_ch, n_time = x.shape
        rows, k = n_batch * n_ch, e.num_stages
        if state is None:
            state = {"method": e.method, "offset": 0, "shape": (n_batch, n_ch), "filters": None}
        elif state.get("method") != e.method or tuple(state["shape"]) != (n_batch, n_ch):
            return None  # let the general path raise its error
        filters = state["filters"]
        if filters is None:
            filters = {"chain": torch.zeros(rows, k + 1), "biquad": torch.zeros(n_batch, n_ch, 4)}
        chain, bq = filters["chain"], filters["biquad"]
        cached = self._states
        if cached[0] is chain and cached[1] is bq:  # the NumPy views of the state carried from the last block
            chain_np, bq_np = cached[2]
        else:
            if chain.dtype != torch.float32 or bq.dtype != torch.float32 or not chain.is_contiguous() \
                    or not bq.is_contiguous():
                return None
            chain_np, bq_np = chain.numpy(), bq.numpy().reshape(rows, 4)
            self._states = (chain, bq, (chain_np, bq_np))
        if n_time == 0:
            return x, state
        scratch = self._scratch_for((rows, n_time), lambda: (
            np.empty((1, n_time, k), np.float32), np.empty((rows, n_time), np.float32), np.empty((1, k + 1), np.float32)))
        y = np.empty((n_batch, n_ch, n_time), np.float32)
        _sweep_phaser_block(np.ascontiguousarray(x.numpy()).reshape(rows, n_time), state["offset"], self.prm,
                            self.form, e.feedback_delay, self.use_offsets, self.stage_offsets, self.b, self.a, chain_np,
                            bq_np, *scratch, y.reshape(rows, n_time))
        y = torch.from_numpy(y)
        state = {"method": state["method"], "offset": state["offset"] + n_time, "shape": state["shape"],
                 "filters": filters if filters is state["filters"] else {"chain": chain, "biquad": bq}}
        return y, state


@njit(**_SERIAL)
def _paper_compressor_block(x, params, state, use_exp, use_lim, y, rms, level, g, ghat, mask):  # pragma: no cover
    """`compressor_forward_serial` on one block, then the state [x_rms, g_hat] (R, 2) updated in place."""
    kcf.compressor_forward_serial(x, params, state, use_exp, use_lim, 1e-10, y, rms, level, g, ghat, mask)
    last = x.shape[-1] - 1
    for r in range(x.shape[0]):
        state[r, 0] = rms[r, last]
        state[r, 1] = ghat[r, last]


class PaperCompressorStream(LeanStream):
    """The paper's compressor (``method="td"``): `kernels_compressor_fused`, one call per block."""

    def read_parameters(self) -> None:
        from .compressors import kernels_fused as kf

        e = self.effect
        use_exp = e.expander_threshold_db is not None
        use_lim = e.limiter_threshold_db is not None
        values = {
            "threshold_db": e.threshold_db, "ratio": e.ratio, "attack_coef": e.attack_coef,
            "release_coef": e.release_coef, "rms_coef": e.rms_coef, "makeup_gain_db": e.makeup_gain_db,
            "knee_db": e.knee_db, "expander_threshold_db": e.expander_threshold_db if use_exp else 0.0,
            "expander_ratio": e.expander_ratio if use_exp else 0.5,
            "limiter_threshold_db": e.limiter_threshold_db if use_lim else 0.0,
        }
        self.params = np.array([[float(values[name]) for name in kf.PARAMS]], np.float32)
        self._rows = np.repeat(self.params, 2, axis=0)
        self.use_exp, self.use_lim = use_exp, use_lim
        self._owned: tuple | None = None

    def process(self, x: Tensor, state):
        n_batch, n_ch, n_time = x.shape
        if state is not None and (state.dtype != torch.float32 or tuple(state.shape) != (n_batch, 2)):
            return None
        if n_time == 0:
            return x, (torch.tensor([[0.0, 1.0]]).repeat(n_batch, 1) if state is None else state)
        owned = self._owned
        if state is None or owned is None or state is not owned[0]:
            # a state of our own, updated in place from now on (the caller's tensor is never written)
            start = torch.tensor([[0.0, 1.0]]).repeat(n_batch, 1) if state is None else state.detach().clone()
            owned = self._owned = (start.contiguous(), start.contiguous().numpy())
            if n_batch > 1:
                self._rows = np.repeat(self.params, n_batch, axis=0)
        buffers = self._scratch_for((n_batch, n_time), lambda: (
            *(np.empty((n_batch, n_time), np.float32) for _ in range(4)), np.empty((n_batch, n_time), np.bool_)))
        y = np.empty((n_batch, n_ch, n_time), np.float32)
        _paper_compressor_block(np.ascontiguousarray(x.numpy()), self.params if n_batch == 1 else self._rows, owned[1],
                                self.use_exp, self.use_lim, y, *buffers)
        return torch.from_numpy(y), owned[0]


class DeviceCompressorStream(LeanStream):
    """The device compressors (detector, ballistics, topology, knee): `device_forward`, one call per block."""

    def read_parameters(self) -> None:
        e = self.effect
        self.rows = {name: np.array([float(getattr(e, name))], np.float64)
                     for name in ("threshold_db", "ratio", "attack_coef", "release_coef", "makeup_gain_db")}
        self.knee_db = float(e.knee_db)

    def process(self, x: Tensor, state):
        from .compressors.kernels_device import device_forward

        e = self.effect
        n_batch, n_ch, n_time = x.shape
        if state is None:
            state = torch.cat([torch.zeros(n_batch, 1), torch.ones(n_batch, 1), torch.zeros(n_batch, n_ch)], dim=-1)
        elif state.dtype != torch.float32 or tuple(state.shape) != (n_batch, 2 + n_ch):
            return None
        if n_time == 0:
            return x, state
        state = state.clone()
        rows = self.rows if n_batch == 1 else {k: np.repeat(v, n_batch) for k, v in self.rows.items()}
        (gain,) = self._scratch_for((n_batch, n_time), lambda: (np.empty((n_batch, n_time), np.float32),))
        y = torch.empty(n_batch, n_ch, n_time)
        device_forward(x.numpy(), rows["threshold_db"], rows["ratio"], rows["attack_coef"], rows["release_coef"],
                       rows["makeup_gain_db"], self.knee_db, e.detector == "peak", 0 if e.smoothing == "level" else 1,
                       e.topology == "feedback", state.numpy(), gain, y.numpy(), 1e-10)
        return y, state


def lean_stream_for(effect: torch.nn.Module) -> LeanStream | None:
    """The effect's `LeanStream` (cached on it), or None when its structure has none."""
    cached = effect.__dict__.get("_lean_stream")
    if cached is not None and cached[0] == _structure_key(effect):
        return cached[1]
    stream = _make(effect)
    effect.__dict__["_lean_stream"] = (_structure_key(effect), stream)
    return stream


def _structure_key(effect: torch.nn.Module) -> tuple:
    return (effect.method, getattr(effect, "lfo_kind", None), getattr(effect, "topology", None))


def _make(effect: torch.nn.Module) -> LeanStream | None:
    name = type(effect).__name__
    if name == "Phaser" and getattr(effect, "lfo_kind", None) == "sweep" and effect.method == "td_exact":
        return SweepPhaserStream(effect)
    if name == "Compressor" and effect.method == "td":
        return PaperCompressorStream(effect) if effect.paper_structure else DeviceCompressorStream(effect)
    return None

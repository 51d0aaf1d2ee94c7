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
  coefficients (prewarped bilinear), `kernels_phaser_chain.chain_forward` (the kernel of the general
  path) and the output biquad (direct form I, `lfilter`'s state layout).
* `Compressor` with the paper's structure (``method="td"``): `kernels_compressor_fused` (the kernel
  of the general path's fused op).
* `Compressor` device structures (peak/RMS detector, level/gain ballistics, feed-forward/feedback,
  knee): `kernels_compressor_device.device_forward`.

Other structures (the paper's MLP-LFO phaser, the synth) stream through `process_block`.
The outputs equal the general path's up to float32 rounding (tests/effects/test_lean_stream.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit
from torch import Tensor

__all__ = ["lean_stream_for", "LeanStream"]


@njit(cache=True, nogil=True)
def _sweep_coefficients(offset, sample_rate, rate_hz, phase, shape, log_centre, span, q2, q3, stage_offsets,
                        use_offsets, log_low, log_high, form, out):  # pragma: no cover - compiled
    """out (T, K) float32: the stage coefficients of `SweepLFO` + `stage_coefficients` from sample ``offset``."""
    n_time, k_stages = out.shape
    two_pi = 2.0 * math.pi
    for n in range(n_time):
        cycles = rate_hz * ((offset + n) / sample_rate)
        theta = two_pi * (cycles - math.floor(cycles)) + phase
        wrapped = (theta + math.pi) % two_pi - math.pi
        w = (1.0 - shape) * math.cos(theta) + shape * (1.0 - 2.0 * abs(wrapped) / math.pi)
        w = np.float32(w)
        base = log_centre + (span + (q2 + q3 * w) * w) * w
        for k in range(k_stages if use_offsets else 1):
            log_f = base + stage_offsets[k] if use_offsets else base
            log_f = min(max(log_f, log_low), log_high)
            g = math.tan(math.exp(log_f) * (math.pi / sample_rate))
            out[n, k] = (1.0 - g) / (1.0 + g) if form == 0 else g / (1.0 + g)
        if not use_offsets:  # one break frequency for every stage
            for k in range(1, k_stages):
                out[n, k] = out[n, 0]


@njit(cache=True, nogil=True)
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
        self._buffers: dict[tuple, np.ndarray] = {}

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

    def _buffer(self, name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
        key = (name, shape)
        buf = self._buffers.get(key)
        if buf is None:
            if len(self._buffers) > 32:
                self._buffers.clear()
            buf = self._buffers[key] = np.empty(shape, dtype=dtype)
        return buf

    def read_parameters(self) -> None:
        raise NotImplementedError

    def process(self, x: Tensor, state):
        raise NotImplementedError


class SweepPhaserStream(LeanStream):
    """`Phaser(lfo="sweep", ...)`: coefficients, chain and biquad, three Numba calls per block."""

    def read_parameters(self) -> None:
        e = self.effect
        sw = e.sweep
        f32 = lambda t: np.float32(float(t))  # noqa: E731
        self.rate_hz = float(sw.rate_hz.to(torch.float64))
        self.phase = float(sw.phase.to(torch.float64))
        self.shape = float(torch.sigmoid(sw.shape_logit).to(torch.float64))
        self.log_centre, self.span = f32(sw.log_centre), f32(sw.span)
        self.q2, self.q3 = f32(sw.curve[0]), f32(sw.curve[1])
        offsets = sw.stage_offsets
        self.use_offsets = offsets is not None
        self.stage_offsets = (offsets.detach().float().numpy().copy() if offsets is not None
                              else np.zeros(e.num_stages, np.float32))
        self.log_low, self.log_high = f32(sw.log_low), f32(sw.log_high)
        self.form = 0 if e.stage_form == "df1" else 1
        self.g1 = f32(e.g1)
        self.g2 = np.array([float(e.g2)], np.float32)
        self.b = e.biquad_b.detach().float().numpy().copy()
        self.a = e.biquad_a.detach().float().numpy().copy()

    def process(self, x: Tensor, state):
        from . import kernels_phaser_chain as kc

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
        if chain.dtype != torch.float32 or bq.dtype != torch.float32 or not chain.is_contiguous() or not bq.is_contiguous():
            return None
        if n_time == 0:
            return x, state
        coef = self._buffer("coef", (1, n_time, k))
        _sweep_coefficients(state["offset"], float(e.sample_rate), self.rate_hz, self.phase, self.shape,
                            self.log_centre, self.span, self.q2, self.q3, self.stage_offsets, self.use_offsets,
                            self.log_low, self.log_high, self.form, coef[0])
        xr = x.reshape(rows, n_time).numpy()
        if rows > 1:
            coef = np.ascontiguousarray(np.broadcast_to(coef, (rows, n_time, k)))
        y_chain = self._buffer("chain", (rows, n_time))
        zf = self._buffer("zf", (rows, k + 1))
        empty3, empty2 = self._buffer("e3", (0, 0, 0)), self._buffer("e2", (0, 0))
        g2 = self.g2 if rows == 1 else np.repeat(self.g2, rows)
        chain_np = chain.numpy()
        kc.chain_forward(xr, coef, g2, chain_np, 1 if self.form else 0, e.feedback_delay, y_chain, zf, False,
                         empty3, empty2, empty3)
        chain_np[...] = zf
        y = torch.empty(n_batch, n_ch, n_time)
        _mix_biquad(xr, y_chain, self.g1, self.b, self.a, bq.numpy().reshape(rows, 4), y.numpy().reshape(rows, n_time))
        return y, {**state, "offset": state["offset"] + n_time, "filters": {"chain": chain, "biquad": bq}}


class PaperCompressorStream(LeanStream):
    """The paper's compressor (``method="td"``): `kernels_compressor_fused`, one call per block."""

    def read_parameters(self) -> None:
        from . import kernels_compressor_fused as kf

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
        self.use_exp, self.use_lim = use_exp, use_lim

    def process(self, x: Tensor, state):
        from . import kernels_compressor_fused as kf

        n_batch, n_ch, n_time = x.shape
        if state is None:
            state = torch.tensor([[0.0, 1.0]]).repeat(n_batch, 1)
        elif state.dtype != torch.float32 or tuple(state.shape) != (n_batch, 2):
            return None
        if n_time == 0:
            return x, state
        shapes = (n_batch, n_time)
        y = torch.empty(n_batch, n_ch, n_time)
        rms, level, g, ghat = (self._buffer(name, shapes) for name in ("rms", "level", "g", "ghat"))
        mask = self._buffer("mask", shapes, np.bool_)
        params = self.params if n_batch == 1 else np.repeat(self.params, n_batch, axis=0)
        zi = state.contiguous().numpy()
        kf.compressor_forward_serial(x.numpy(), params, zi, self.use_exp, self.use_lim, 1e-10, y.numpy(), rms, level, g,
                                     ghat, mask)
        new_state = torch.from_numpy(np.stack([rms[:, -1], ghat[:, -1]], axis=-1).astype(np.float32))
        return y, new_state


class DeviceCompressorStream(LeanStream):
    """The device compressors (detector, ballistics, topology, knee): `device_forward`, one call per block."""

    def read_parameters(self) -> None:
        e = self.effect
        self.rows = {name: np.array([float(getattr(e, name))], np.float64)
                     for name in ("threshold_db", "ratio", "attack_coef", "release_coef", "makeup_gain_db")}
        self.knee_db = float(e.knee_db)

    def process(self, x: Tensor, state):
        from .kernels_compressor_device import device_forward

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
        gain = self._buffer("gain", (n_batch, n_time))
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

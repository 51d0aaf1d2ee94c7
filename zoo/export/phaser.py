r"""The phaser as a self-contained streaming module: TorchScript code, buffers, no zoo import.

`PhaserStream` re-implements `zoo.effects.phasers.Phaser`'s time-domain path (``"td_exact"`` and the
device structures of `allpass_chain`) block by block, from the fitted values only:

1. **LFO.** The paper's damped oscillator + tanh MLP at control rate (frames at m * hop, linearly
   interpolated to audio rate), or the log-frequency `SweepLFO` (per sample). The oscillator phase
   is carried in cycles (float64, wrapped to [0, 1)) and advances by ``rate * T / sample_rate`` a
   block, so a rate knob can move without a jump; the sample offset (float64, exact to 2^53
   samples) places the control frames and the damping.
2. **All-pass chain with feedback** as one linear time-varying state-space recursion. Per sample
   each stage is affine in its input and state (DF1 or TPT), and the loop (delay-free, solved per
   sample, or through a one-sample delay) is affine too, so s[n] = A[n] s[n-1] + B[n] x[n] with the
   chain's K + 1 states (the layout of `zoo.filters.kernels.numba_allpass_chain`). `chain_maps` builds A and
   B for all samples of a block with O(K) vectorised operators, and `zoo.filters.state_space.ltv_scan` runs
   the recursion (exact, chunked: no per-sample loop).
3. **Through path and biquad:** o = g1 x + y_K; the biquad's FIR part is vectorised and its two
   poles run on the same scan. Measured and not kept: folding the biquad into the chain's recursion
   (K + 5 states: no faster at 512-sample blocks, slower at 2048) and the poles as a causal
   convolution with their impulse response (within noise at 64-512, slower at 1024).

State (float64 vector, `state_size`): [offset, cycles, chain (C x (K+1)), biquad (C x 4)], the biquad
as [o[n-1], o[n-2], y[n-1], y[n-2]]. Controls (4,): rate (Hz), depth (x the fitted sweep), feedback
g2, mix (1 = the fitted effect, 0 = dry).
"""

from typing import Tuple

import math

import torch
from torch import Tensor, nn

from ..filters.allpass_composed import chain_maps
from ..filters.state_space import ltv_scan
from .stream_base import StreamingModule

__all__ = ["PhaserStream"]


def _triangle(theta: Tensor) -> Tensor:
    wrapped = torch.remainder(theta + math.pi, 2.0 * math.pi) - math.pi
    return 1.0 - 2.0 * wrapped.abs() / math.pi


class PhaserStream(StreamingModule):
    """Stateful streaming phaser (module docstring); build it with `zoo.export.build.streaming_module`.

    ``forward(block)`` takes float32 (C, T) audio and returns (C, T), carrying the state; ``reset()``
    starts a new signal; ``step(block, state, controls)`` is the same without hidden state (ONNX).
    A block with another channel count than the last one restarts from rest.
    """

    def __init__(self, sample_rate: float, num_stages: int, hop: int, lfo_kind: int, form: int, delay: int,
                 values: dict, mlp: nn.Module) -> None:
        super().__init__()
        self.sample_rate = float(sample_rate)
        self.num_stages = int(num_stages)
        self.hop = int(hop)
        self.lfo_kind = int(lfo_kind)  # 0: damped oscillator + MLP (the paper); 1: log-frequency sweep
        self.form = int(form)
        self.delay = int(delay)
        self.mlp = mlp
        f32 = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
        f64 = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
        self.register_buffer("rate_hz", f64(values["rate_hz"]))  # float32 value, held in float64
        self.register_buffer("phase", f64(values["phase"]))
        self.register_buffer("sigma", f64(values.get("sigma", 0.0)))
        self.register_buffer("bias", f32(values.get("bias", 0.0)))
        self.register_buffer("depth", f32(values.get("depth", 0.0)))
        self.register_buffer("shape_mix", f64(values.get("shape_mix", 0.0)))
        self.register_buffer("log_centre", f32(values.get("log_centre", 0.0)))
        self.register_buffer("span", f32(values.get("span", 0.0)))
        self.register_buffer("curve", f32(values.get("curve", [0.0, 0.0])))
        self.register_buffer("stage_offsets", f32(values.get("stage_offsets", [0.0] * num_stages)))
        self.use_offsets = "stage_offsets" in values
        self.log_low = float(values.get("log_low", 0.0))
        self.log_high = float(values.get("log_high", 0.0))
        self.register_buffer("g1", f32(values["g1"]))
        self.register_buffer("biquad_b", f32(values["biquad_b"]))
        self.register_buffer("biquad_a", f32(values["biquad_a"]))
        a1, a2 = values["biquad_a"]
        #: the biquad's poles as a state-space transition, state (y[n], y[n-1])
        self.register_buffer("companion", f32([[-a1, -a2], [1.0, 0.0]]))
        #: the fitted controls: rate (Hz), depth scale, feedback g2, mix
        self.register_buffer("default_controls", f64([values["rate_hz"], 1.0, values["g2"], 1.0]))
        self.register_buffer("state", torch.zeros(0, dtype=torch.float64))

    # ------------------------------------------------------------------ layout
    @torch.jit.export
    def state_size(self, channels: int) -> int:
        """Length of the state vector for ``channels`` channels: 2 + C (K + 1) + 4 C."""
        return 2 + channels * (self.num_stages + 1) + 4 * channels

    @torch.jit.export
    def initial_state(self, channels: int) -> Tensor:
        """The state of a signal at rest (zeros: offset 0, LFO phase 0, filters at rest)."""
        return torch.zeros(self.state_size(channels), dtype=torch.float64)

    # ------------------------------------------------------------------ LFO
    def _coefficients(self, offset: Tensor, cycles: Tensor, n_time: int, rate: Tensor, depth_scale: Tensor) -> Tensor:
        """Stage coefficients (T, K) for samples offset .. offset + T - 1."""
        sr = self.sample_rate
        if self.lfo_kind == 1:
            n = torch.arange(n_time, dtype=torch.float64)
            cyc = cycles + rate * n / sr
            theta = 2.0 * math.pi * (cyc - torch.floor(cyc)) + self.phase
            w = ((1.0 - self.shape_mix) * torch.cos(theta) + self.shape_mix * _triangle(theta)).to(torch.float32)
            sweep = (self.span + (self.curve[0] + self.curve[1] * w) * w) * w
            log_f = (self.log_centre + depth_scale.to(torch.float32) * sweep).unsqueeze(-1)
            if self.use_offsets:
                log_f = log_f + self.stage_offsets
            else:
                log_f = log_f.expand(n_time, self.num_stages)
            log_f = torch.clamp(log_f, self.log_low, self.log_high)
            g = torch.tan(torch.exp(log_f) * (math.pi / sr))
            if self.form == 0:
                return (1.0 - g) / (1.0 + g)
            return g / (1.0 + g)
        hop = self.hop
        first_frame = torch.floor(offset / hop)
        lead_in = offset - first_frame * hop
        n_frames = (hop - 1 + n_time - 1) // hop + 2
        m = first_frame + torch.arange(n_frames, dtype=torch.float64)
        t_s = m / (sr / hop)
        cyc = cycles + rate * (m * hop - offset) / sr
        osc = torch.exp(-self.sigma * self.sigma * t_s) * torch.cos(2.0 * math.pi * (cyc - torch.floor(cyc)) + self.phase)
        s = osc.to(torch.float32)
        mlp_out = self.mlp(s.unsqueeze(-1)).squeeze(-1)
        d = self.bias + self.depth * 0.5 * (1.0 + depth_scale.to(torch.float32) * mlp_out)
        tan_d = torch.tan(d)
        frames = torch.tanh((1.0 - tan_d) / (1.0 + tan_d))
        local = lead_in + torch.arange(n_time, dtype=torch.float64)
        m_rel = torch.floor(local / hop)
        frac = (local - m_rel * hop).to(torch.float32) / hop
        index = m_rel.to(torch.int64)
        lo = frames[index]
        hi = frames[index + 1]
        p = lo + frac * (hi - lo)
        coef = p if self.form == 0 else (1.0 - p) / 2.0
        return coef.unsqueeze(-1).expand(n_time, self.num_stages)

    # ------------------------------------------------------------------ processing
    @torch.jit.export
    def step(self, block: Tensor, state: Tensor, controls: Tensor) -> Tuple[Tensor, Tensor]:
        """One block without hidden state: (block (C, T) float32, state (state_size(C),) float64,
        controls (4,) float64) -> (out (C, T) float32, new state)."""
        n_ch = block.shape[0]
        n_time = block.shape[1]
        k1 = self.num_stages + 1
        x = block.to(torch.float32)
        offset = state[0]
        cycles = state[1]
        chain = state[2 : 2 + n_ch * k1].reshape(n_ch, k1).to(torch.float32)
        bq = state[2 + n_ch * k1 :].reshape(n_ch, 4).to(torch.float32)
        rate = controls[0]
        coef = self._coefficients(offset, cycles, n_time, rate, controls[1])
        maps = chain_maps(coef, controls[2].to(torch.float32), self.form, self.delay)
        drive = maps[:, :, k1].unsqueeze(0) * x.unsqueeze(-1)  # (C, T, S)
        states = ltv_scan(maps[:, :, :k1].contiguous(), drive, chain)
        y_k = states[:, :, self.num_stages] if self.form == 0 else states[:, :, 0]
        o = self.g1 * x + y_k
        o_ext = torch.cat([bq[:, 1:2], bq[:, 0:1], o], 1)  # o[-2], o[-1], o[0] ...
        b = self.biquad_b
        v = b[0] * o_ext[:, 2:] + b[1] * o_ext[:, 1:-1] + b[2] * o_ext[:, :-2]
        companion = self.companion.expand(n_time, 2, 2)
        y = ltv_scan(companion.contiguous(), torch.stack([v, torch.zeros_like(v)], -1), bq[:, 2:4])[:, :, 0]
        y_ext = torch.cat([bq[:, 3:4], bq[:, 2:3], y], 1)  # y[-2], y[-1], y[0] ...
        mix = controls[3].to(torch.float32)
        if bool(mix != 1.0):
            y = mix * y + (1.0 - mix) * x
        advanced = cycles + rate * n_time / self.sample_rate
        new_state = torch.cat([
            (offset + n_time).reshape(1), (advanced - torch.floor(advanced)).reshape(1),
            states[:, n_time - 1].reshape(-1).to(torch.float64),
            torch.stack([o_ext[:, -1], o_ext[:, -2], y_ext[:, -1], y_ext[:, -2]], 1)
            .reshape(-1).to(torch.float64),
        ])
        return y, new_state


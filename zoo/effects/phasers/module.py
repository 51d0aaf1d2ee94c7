"""`Phaser`: the phaser as an `Effect` (an ``nn.Module``) with learnable LFO, feedback, mix and biquad."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ...filters import biquad_triangle, fs_num_frames, interpolate_controls, lfilter, num_frames
from ...filters.allpass import STAGE_FORMS, allpass_chain
from ..base import Effect, check_audio
from .controller import LFOController, allpass_coefficient, break_frequency_hz
from .functional import PHASER_METHODS, _phaser_td, phaser, stage_coefficients
from .lfo import SweepLFO
from .polynomials import _check_stages


# ----------------------------------------------------------------------------------------------
# Module
# ----------------------------------------------------------------------------------------------


class Phaser(Effect):
    r"""Learnable phaser: LFO-driven K-stage all-pass with feedback, through-path gain and a biquad.

    H = BQ (g1 + A / (1 - g2 A)), A = K first-order all-passes with p[n] from `LFOController`:
    p(m) = tanh((1 - tan d)/(1 + tan d)), d = bias + depth (1 + MLP(s(m)))/2,
    s(m) = exp(-sigma^2 m / F_c) cos(2 pi f0 m / F_c + phi), F_c = sample_rate / hop, linearly
    interpolated to audio rate for the TD methods. (Yu et al., DAFx 2024, Sec. 4.1.)

    Learnable parameters (all mapped from unconstrained tensors): the LFO (log f0, sigma, phi), the
    MLP, bias and depth; g1 (unconstrained); g2 = sigmoid(g2_logit) in (0, 1); the biquad numerator
    ``biquad_b`` (free, 3) and denominator ``biquad_triangle(biquad_a_raw)`` (stable).
    181 parameters with the defaults (K = 4, MLP 3 x 8); the paper's 182 also counts an LFO
    amplitude, redundant with the MLP's first layer.

    Args:
        sample_rate: sample rate (Hz), > 0.
        num_stages: all-pass stages K >= 1. Default 4.
        hop: control hop (samples) of the LFO, also the FS hop L (window 4L). Default
            round(10 ms * sample_rate).
        method: ``"td_exact"`` (default), ``"td_regrouped"`` or ``"fs"``; switchable after training.
        mlp_width: LFO MLP width. Default 8.
        mlp_depth: LFO MLP hidden layers. Default 3.
        lfo_rate_hz: initial LFO rate (Hz), > 0. Default 1.0.
        lfo_damping: initial sigma. Default 0.1.
        lfo_phase_rad: initial LFO phase (rad). Default 0.0.
        break_hz_range: initial (low, high) break-frequency range (Hz). Default (100.0, 2000.0).
        g1: initial through-path gain. Default 1.0.
        g2: initial feedback gain in (0, 1). Default 0.1.

    Shape:
        forward: (B, C, T) -> (B, C, T); the same LFO (starting at phase phi at sample 0) for all.

    Block streaming (`process_block`, `Effect.stream`) equals one `forward` pass for the TD methods;
    ``"fs"`` raises (switch ``method`` to a TD method for streaming).

    Raises:
        ValueError: an argument outside its range.
    """

    methods = PHASER_METHODS

    def __init__(
        self,
        sample_rate: float,
        num_stages: int = 4,
        hop: int | None = None,
        method: str = "td_exact",
        mlp_width: int = 8,
        mlp_depth: int = 3,
        lfo_rate_hz: float = 1.0,
        lfo_damping: float = 0.1,
        lfo_phase_rad: float = 0.0,
        break_hz_range: tuple[float, float] = (100.0, 2000.0),
        g1: float = 1.0,
        g2: float = 0.1,
        feedback_delay: int = 0,
        stage_form: str = "df1",
        signed_feedback: bool = False,
        lfo: str = "mlp",
        stage_maps: bool = False,
        centre_hz: float = 1000.0,
        sweep_octaves: float = 2.0,
        lfo_shape: float = 0.0,
    ) -> None:
        super().__init__(sample_rate, method)
        _check_stages(num_stages)
        if feedback_delay not in (0, 1):
            raise ValueError(f"Unexpected value for `feedback_delay`: expected 0 or 1 (samples), found {feedback_delay!r}")
        if stage_form not in STAGE_FORMS:
            raise ValueError(f"Unexpected value for `stage_form`: expected one of {STAGE_FORMS}, found {stage_form!r}")
        if lfo not in ("mlp", "sweep"):
            raise ValueError(f"Unexpected value for `lfo`: expected 'mlp' or 'sweep', found {lfo!r}")
        if stage_maps and lfo != "sweep":
            raise ValueError("Unexpected value for `stage_maps`: per-stage maps need lfo='sweep'")
        self.feedback_delay = int(feedback_delay)
        self.stage_form = stage_form
        self.signed_feedback = bool(signed_feedback)
        self.lfo_kind = lfo
        #: True for the paper's structure (the default); False for the structures of `allpass_chain`
        self.paper_structure = (feedback_delay == 0 and stage_form == "df1" and not signed_feedback and lfo == "mlp")
        if not self.paper_structure and method == "fs":
            raise ValueError("Unexpected value for `method`: the device structures (feedback_delay, stage_form, "
                             "signed_feedback, lfo='sweep') have time-domain paths only; use 'td_exact'")
        hop = max(1, round(0.01 * self.sample_rate)) if hop is None else hop
        if not isinstance(hop, int) or isinstance(hop, bool) or hop < 1:
            raise ValueError(f"Unexpected value for `hop`: expected an integer >= 1 (samples), found {hop!r}")
        low_g2 = -1.0 if signed_feedback else 0.0
        if not low_g2 < g2 < 1.0:
            raise ValueError(f"Unexpected value for `g2`: expected in ({low_g2:g}, 1), found {g2}")
        self.num_stages = num_stages
        self.hop = hop
        if lfo == "mlp":
            self.lfo = LFOController(
                lfo_rate_hz, lfo_damping, lfo_phase_rad, mlp_width, mlp_depth, self.sample_rate, break_hz_range
            )
        else:
            self.sweep = SweepLFO(self.sample_rate, num_stages, lfo_rate_hz, lfo_phase_rad, centre_hz, sweep_octaves,
                                  lfo_shape, stage_maps)
        self.g1 = nn.Parameter(torch.tensor(float(g1)))
        # signed: g2 = 2 sigmoid(l) - 1 = tanh(l / 2) in (-1, 1); else sigmoid(l) in (0, 1)
        unit = (g2 + 1.0) / 2.0 if signed_feedback else g2
        self.g2_logit = nn.Parameter(torch.tensor(math.log(unit / (1.0 - unit))))
        self.biquad_b = nn.Parameter(torch.tensor([1.0, 0.0, 0.0]))
        self.biquad_a_raw = nn.Parameter(torch.zeros(2))

    @property
    def control_rate_hz(self) -> float:
        """F_c = sample_rate / hop."""
        return self.sample_rate / self.hop

    @property
    def g2(self) -> Tensor:
        if self.signed_feedback:
            return 2.0 * torch.sigmoid(self.g2_logit) - 1.0
        return torch.sigmoid(self.g2_logit)

    @property
    def biquad_a(self) -> Tensor:
        return biquad_triangle(self.biquad_a_raw)

    def allpass_frames(self, num_frames: int) -> Tensor:
        """Frame-rate all-pass coefficient p(m), m = 0 .. num_frames - 1 (frame m at sample m * hop), (F,)."""
        return self.lfo(num_frames, self.control_rate_hz)

    def allpass_trajectory(self, num_samples: int) -> Tensor:
        """Audio-rate p[n] (linear interpolation of the frames), shape (T,)."""
        frames = self.allpass_frames(num_frames(num_samples, self.hop))
        return interpolate_controls(frames[:, None], self.hop, num_samples)[:, 0]

    def forward(self, x: Tensor) -> Tensor:
        """Process (B, C, T) audio; returns (B, C, T) in the promoted dtype of x and the parameters."""
        x = check_audio(x, min_samples=1)
        n_time = x.shape[-1]
        if not self.paper_structure:
            return self._forward_device(x, torch.zeros(1, dtype=torch.int64))
        if self.method == "fs":
            p = self.allpass_frames(fs_num_frames(n_time, self.hop))
        else:
            p = self.allpass_trajectory(n_time)
        return phaser(
            x, self.sample_rate, p, self.g1, self.g2, self.biquad_b, self.biquad_a,
            method=self.method, num_stages=self.num_stages, hop=self.hop,
        )

    def forward_batch(self, batch) -> Tensor:
        """``self(batch["input"])``: (B, C, T) -> (B, C, T).

        With the device structures a batch may carry ``"offset"`` (B,), each item's first sample
        in the recording, so that excerpts see the LFO at their absolute time (from rest).
        """
        if "offset" in batch and not self.paper_structure:
            return self._forward_device(check_audio(batch["input"], min_samples=1), batch["offset"].to(torch.int64).reshape(-1))
        return self(batch["input"])

    # ------------------------------------------------------------------ device structures
    def device_coefficients(self, offsets: Tensor, num_samples: int) -> Tensor:
        """Stage coefficients of `allpass_chain` for the device structures: (B', T, K)."""
        if self.lfo_kind == "sweep":
            log_f = self.sweep.log_break_hz(offsets, num_samples, self.num_stages)
            return stage_coefficients(log_f, self.sample_rate, self.stage_form)
        if bool((offsets != 0).any()):
            p = torch.stack([self.allpass_samples_from(int(o), num_samples) for o in offsets.tolist()])
        else:
            p = self.allpass_trajectory(num_samples)[None]
        coef = p if self.stage_form == "df1" else (1.0 - p) / 2.0
        return coef[..., None].expand(*coef.shape, self.num_stages)

    def _forward_device(self, x: Tensor, offsets: Tensor, state: dict | None = None, return_state: bool = False):
        """The device structures: LFO -> `allpass_chain` -> g1 x + y_K -> biquad; ``state`` as
        `process_block`'s "filters" (chain (B*C, K+1), biquad (B, C, 4))."""
        n_batch, n_channels, n_time = x.shape
        dtype = torch.promote_types(x.dtype, self.g1.dtype)
        x = x.to(dtype)
        coef = self.device_coefficients(offsets.to(x.device), n_time).to(dtype)  # (B', T, K)
        rows_b = max(n_batch, coef.shape[0])
        rows = rows_b * n_channels
        xr = x.expand(rows_b, n_channels, n_time).reshape(rows, n_time)
        cr = coef[:, None].expand(rows_b, n_channels, n_time, self.num_stages).reshape(rows, n_time, self.num_stages)
        g2 = self.g2.to(dtype).reshape(1).expand(rows)
        zi_chain = None if state is None else state["chain"]
        y_k, zf_chain = allpass_chain(xr, cr, g2, zi_chain, form=self.stage_form, feedback_delay=self.feedback_delay,
                                      return_zf=True)
        o = self.g1.to(dtype) * x + y_k.reshape(rows_b, n_channels, n_time)
        bq = lfilter(self.biquad_b.to(dtype), self.biquad_a.to(dtype), o, None if state is None else state["biquad"],
                     return_zf=return_state)
        if return_state:
            y, zf_bq = bq
            return y, {"chain": zf_chain, "biquad": zf_bq}
        return bq

    # ------------------------------------------------------------------ streaming
    def allpass_frames_from(self, first_frame: int, count: int) -> Tensor:
        r"""p(m) for the absolute frames m = first_frame .. first_frame + count - 1, (count,).

        The same computation as `allpass_frames` (`LFOController`), started at frame ``first_frame``
        instead of 0, so that a block far into a stream gets the LFO phase and the damping
        exp(-sigma^2 m / F_c) of its absolute frames m, at a cost independent of m.
        ``allpass_frames_from(0, F)`` equals ``allpass_frames(F)``.

        Args:
            first_frame: first absolute frame index (>= 0); frame m sits at sample m * hop.
            count: number of frames (>= 1).
        """
        if first_frame < 0 or count < 1:
            raise ValueError(
                f"Unexpected frame range: expected first_frame >= 0 and count >= 1, found "
                f"{first_frame} and {count}"
            )
        lfo, osc = self.lfo, self.lfo.oscillator
        m = torch.arange(first_frame, first_frame + count, dtype=osc.log_rate.dtype, device=osc.log_rate.device)
        t_s = m / self.control_rate_hz
        # As `DampedOscillator.forward` and `LFOController.forward`, op for op.
        s = torch.exp(-osc.sigma.square() * t_s) * torch.cos(2.0 * math.pi * osc.rate_hz * t_s + osc.phase)
        d = lfo.bias + lfo.depth * 0.5 * (1.0 + lfo.mlp(s))
        return allpass_coefficient(d)

    def allpass_samples_from(self, first_sample: int, num_samples: int) -> Tensor:
        """Audio-rate p[n] for n = first_sample .. first_sample + num_samples - 1, (T,).

        Equal to ``allpass_trajectory(first_sample + num_samples)[first_sample:]``, computed from
        the (at most ``num_samples // hop + 2``) frames around the range only.
        """
        first_frame = first_sample // self.hop
        lead_in = first_sample - first_frame * self.hop  # samples from frame first_frame to first_sample
        length = lead_in + num_samples
        frames = self.allpass_frames_from(first_frame, num_frames(length, self.hop))
        return interpolate_controls(frames[:, None], self.hop, length)[lead_in:, 0]

    def process_block(self, x: Tensor, state: dict | None) -> tuple[Tensor, dict]:
        r"""Process one block of a longer signal; consecutive blocks equal one `forward` pass.

        Exact for the TD methods (up to rounding): the state carries the absolute sample offset
        (so the LFO, interpolated between frames at m * hop, is evaluated at the block's absolute
        times, for blocks of any length) and every filter state: the K + 1 values of the all-pass
        chain and its loop (`AllpassLoopFunction`) and the biquad for ``"td_exact"``, the one
        pole-zero filter of order K + 2 for ``"td_regrouped"``. Use `Effect.stream` for the stateful form.

        The state keeps the autograd graph of the blocks before it (so gradients through several
        blocks are exact); for long streams run under ``torch.inference_mode()`` (or detach it).

        Args:
            x: the next block of the input audio, (B, C, T_block), any T_block >= 0.
            state: None for the first block, then the state returned for the previous block (a
                dict: ``"method"``, ``"offset"`` (samples so far), ``"shape"`` (B, C),
                and ``"filters"``, the filter states; treat it as opaque).

        Shape:
            x: (B, C, T_block) -> (B, C, T_block).

        Returns:
            (y, state): the output block, in the promoted dtype of ``x`` and the parameters, and
            the state for the next block.

        Raises:
            ValueError: ``method`` is ``"fs"`` (its frames span block boundaries; switch to a TD
                method, which the FS-trained parameters also drive), ``state`` comes from another
                method, or the block's (B, C) differs from the stream's.
        """
        x = check_audio(x)
        if self.method == "fs":
            raise ValueError(
                "Unexpected value for `method`: block streaming needs a time-domain method "
                "('td_exact' or 'td_regrouped'), found 'fs' (its STFT frames span block boundaries, "
                "so it is not causal block-wise); set `effect.method = 'td_exact'` first"
            )
        n_batch, n_channels, n_block = x.shape
        if state is None:
            state = {"method": self.method, "offset": 0, "shape": (n_batch, n_channels), "filters": None}
        elif state.get("method") != self.method:
            raise ValueError(
                f"Unexpected `state`: it was made by method {state.get('method')!r}, but `method` is "
                f"{self.method!r}; call `reset_stream()` (or pass state=None) to start a new signal"
            )
        elif tuple(state["shape"]) != (n_batch, n_channels):
            raise ValueError(
                f"Unexpected shape for `x`: the stream has (B, C) = {tuple(state['shape'])}, found "
                f"{(n_batch, n_channels)}; call `reset_stream()` (or pass state=None) to start a new signal"
            )
        dtype = torch.promote_types(x.dtype, self.g1.dtype)
        if n_block == 0:
            return x.to(dtype), state
        if not self.paper_structure:
            y, filters = self._forward_device(
                x, torch.tensor([state["offset"]], dtype=torch.int64), state["filters"], return_state=True
            )
            return y, {**state, "offset": state["offset"] + n_block, "filters": filters}
        p = self.allpass_samples_from(state["offset"], n_block).to(dtype)[None]  # (1, T_block)
        y, filters = _phaser_td(
            x.to(dtype), p, self.g1.to(dtype).reshape(1), self.g2.to(dtype).reshape(1),
            self.biquad_b.to(dtype).reshape(1, 3), self.biquad_a.to(dtype).reshape(1, 2),
            method=self.method, num_stages=self.num_stages, zi=state["filters"],
            return_zf=True,
        )
        new_state = {
            "method": self.method,
            "offset": state["offset"] + n_block,
            "shape": (n_batch, n_channels),
            "filters": filters,
        }
        return y, new_state

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        b = self.biquad_b.tolist()
        a = self.biquad_a.tolist()
        if self.lfo_kind == "sweep":
            sw = self.sweep
            w = torch.linspace(-1.0, 1.0, 201, dtype=sw.span.dtype)
            log_f = torch.clamp(sw.log_centre + (sw.span + (sw.curve[0] + sw.curve[1] * w) * w) * w, sw.log_low, sw.log_high)
            low, high = math.exp(float(log_f.min())), math.exp(float(log_f.max()))
            out = {
                "lfo_rate_hz": float(sw.rate_hz),
                "lfo_phase_rad": float(torch.remainder(sw.phase, 2 * math.pi)),
                "lfo_shape_triangle": float(torch.sigmoid(sw.shape_logit)),
                "centre_hz": float(torch.exp(sw.log_centre)),
                "sweep_low_hz": low,
                "sweep_high_hz": high,
                "sweep_curve_q2": float(sw.curve[0]),
                "sweep_curve_q3": float(sw.curve[1]),
                "g1": float(self.g1),
                "g2": float(self.g2),
                "biquad_b0": b[0], "biquad_b1": b[1], "biquad_b2": b[2], "biquad_a1": a[0], "biquad_a2": a[1],
            }
            if sw.stage_offsets is not None:
                for k, o in enumerate(sw.stage_offsets.tolist()):
                    out[f"stage{k + 1}_offset_octaves"] = o / math.log(2.0)
            return out
        osc = self.lfo.oscillator
        return {
            "lfo_rate_hz": float(osc.rate_hz),
            "lfo_damping_sigma": float(osc.sigma),
            "lfo_phase_rad": float(osc.phase),
            "lfo_bias": float(self.lfo.bias),
            "lfo_depth": float(self.lfo.depth),
            "g1": float(self.g1),
            "g2": float(self.g2),
            "biquad_b0": b[0],
            "biquad_b1": b[1],
            "biquad_b2": b[2],
            "biquad_a1": a[0],
            "biquad_a2": a[1],
        }

    @torch.no_grad()
    def control_curves(self, batch=None, *, duration_s: float = 5.0) -> dict[str, tuple[Tensor, Tensor]]:
        """LFO curves over the first ``duration_s`` seconds, at control rate.

        Args:
            batch: unused (the LFO does not depend on the input).
            duration_s: length of the curves (s), > 0. Default 5.0.

        Returns ``{"lfo": (t_s, s), "allpass_coef": (t_s, p), "break_hz": (t_s, f_b)}``, where f_b
        is the per-stage break frequency (Hz) of p.
        """
        if not duration_s > 0:
            raise ValueError(f"Unexpected value for `duration_s`: expected > 0 (s), found {duration_s}")
        n = max(1, int(duration_s * self.control_rate_hz) + 1)
        t_s = torch.arange(n, dtype=self.g1.dtype) / self.control_rate_hz
        if self.lfo_kind == "sweep":
            n_samples = int(duration_s * self.sample_rate) + 1
            index = torch.arange(0, n_samples, self.hop)
            w = self.sweep.waveform(torch.zeros(1, dtype=torch.int64), n_samples)[0, index].to(self.g1.dtype)
            log_f = self.sweep.log_break_hz(torch.zeros(1, dtype=torch.int64), n_samples, self.num_stages)[0, index, 0]
            t_s = index.to(self.g1.dtype) / self.sample_rate
            return {"lfo": (t_s, w), "break_hz": (t_s, torch.exp(log_f))}
        s = self.lfo.lfo(n, self.control_rate_hz)
        p = self.allpass_frames(n)
        return {
            "lfo": (t_s, s),
            "allpass_coef": (t_s, p),
            "break_hz": (t_s, break_frequency_hz(p, self.sample_rate)),
        }

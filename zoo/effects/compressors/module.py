"""`Compressor`: the compressor as an `Effect` (an ``nn.Module``) with unconstrained learnable parameters."""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from ...filters.dispatch import warn_host_once
from ..base import Effect, check_audio
from .functional import _compress, device_gain
from .stages import (
    DETECTORS,
    SMOOTHINGS,
    TOPOLOGIES,
    _LN10_OVER_20,
    _check_range,
    _result_dtype,
    coef_to_ms,
    gain_computer,
    ms_to_coef,
)


# ------------------------------------------------------------------------------------- nn.Module
def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


class Compressor(Effect):
    r"""Learnable feed-forward compressor (Yu et al., DAFx 2024, Sec. 4.3) with a TD and an FS method.

    See `compressor` for the equations. Learnable parameters are unconstrained and mapped to
    physical values as in the paper: alpha_at, alpha_rt, alpha_rms = sigmoid(.), R = exp(.) + 1,
    CT and gamma (dB) plain. Stereo (or any C) channels are *linked*: the detector runs on the
    channel mean of x², and the same gain is applied to every channel.

    ``method="fs"`` uses a single smoothing coefficient, the mean of alpha_at and alpha_rt (both
    keep receiving gradients), filtered by frequency sampling in float64 (`one_pole_fs`).

    Args:
        sample_rate: F_s (Hz) > 0.
        method: ``"td"`` (default) or ``"fs"``; can be changed after training.
        threshold_db: initial CT (dB). Default -10.
        ratio: initial R > 1. Default 2.
        attack_ms: initial attack time (ms) > 0. Default 50.
        release_ms: initial release time (ms) > 0. Default 50.
        rms_coef: initial alpha_rms in (0, 1). Default 0.3.
        makeup_gain_db: initial gamma (dB). Default 0.
        knee_db: soft-knee width (dB) >= 0, fixed. Default 0.
        expander_threshold_db: fixed expander threshold (dB), None (default) = off.
        expander_ratio: fixed expander ratio in (0, 1). Default 0.5.
        limiter_threshold_db: fixed limiter threshold (dB), None (default) = off.

    Shape:
        - input (B, C, T) -> output (B, C, T).

    Block streaming (`process_block`, `Effect.stream`) equals one `forward` pass for ``"td"``;
    ``"fs"`` raises (switch ``method`` to ``"td"`` for streaming).

    Raises:
        ValueError: an initial value out of range.

    Reference: Yu, Mitcheltree, Carson, Bilbao, Reiss, Fazekas, "Differentiable All-pole Filters
    for Time-varying Audio Systems", DAFx 2024.
    """

    methods = ("td", "fs")

    def __init__(
        self,
        sample_rate: float = 44100.0,
        method: str = "td",
        *,
        threshold_db: float = -10.0,
        ratio: float = 2.0,
        attack_ms: float = 50.0,
        release_ms: float = 50.0,
        rms_coef: float = 0.3,
        makeup_gain_db: float = 0.0,
        knee_db: float = 0.0,
        expander_threshold_db: float | None = None,
        expander_ratio: float = 0.5,
        limiter_threshold_db: float | None = None,
        detector: str = "rms",
        smoothing: str = "gain",
        topology: str = "feedforward",
    ) -> None:
        super().__init__(sample_rate, method)
        if detector not in DETECTORS:
            raise ValueError(f"Unexpected value for `detector`: expected one of {DETECTORS}, found {detector!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"Unexpected value for `smoothing`: expected one of {SMOOTHINGS}, found {smoothing!r}")
        if topology not in TOPOLOGIES:
            raise ValueError(f"Unexpected value for `topology`: expected one of {TOPOLOGIES}, found {topology!r}")
        self.detector, self.smoothing, self.topology = detector, smoothing, topology
        #: True for the paper's structure (the default): RMS one-pole detector, smoothed gain, feed-forward
        self.paper_structure = detector == "rms" and smoothing == "gain" and topology == "feedforward"
        if not self.paper_structure and (method != "td" or expander_threshold_db is not None
                                         or limiter_threshold_db is not None):
            raise ValueError("Unexpected arguments: the device structures (detector, smoothing, topology) have a "
                             "'td' path only, without expander or limiter")
        _check_range(ratio, "ratio", 1.0, None, low_open=True)
        _check_range(rms_coef, "rms_coef", 0.0, 1.0, low_open=True, high_open=True)
        _check_range(knee_db, "knee_db", 0.0, None)
        _check_range(expander_ratio, "expander_ratio", 0.0, 1.0, low_open=True, high_open=True)
        attack_coef = ms_to_coef(float(attack_ms), self.sample_rate)
        release_coef = ms_to_coef(float(release_ms), self.sample_rate)
        for name, c in (("attack_ms", attack_coef), ("release_ms", release_coef)):
            if not 0 < c < 1:
                raise ValueError(f"Unexpected value for `{name}`: its coefficient {c} is not in (0, 1); use a longer time")
        f = lambda v: nn.Parameter(torch.tensor(float(v)))  # noqa: E731
        self.threshold_db = f(threshold_db)
        self.raw_ratio = f(math.log(ratio - 1.0)) if math.isfinite(ratio) else f(30.0)
        self.raw_attack = f(_logit(attack_coef))
        self.raw_release = f(_logit(release_coef))
        self.raw_rms = f(_logit(rms_coef))
        self.makeup_gain_db = f(makeup_gain_db)
        self.knee_db = float(knee_db)
        self.expander_threshold_db = expander_threshold_db
        self.expander_ratio = float(expander_ratio)
        self.limiter_threshold_db = limiter_threshold_db

    @classmethod
    def from_physical(
        cls,
        sample_rate: float,
        threshold_db: float,
        ratio: float,
        attack_ms: float,
        release_ms: float,
        rms_coef: float | None = None,
        makeup_gain_db: float = 0.0,
        *,
        rms_ms: float | None = None,
        method: str = "td",
        trainable: bool = False,
        **options: Any,
    ) -> "Compressor":
        """A compressor with given physical settings, e.g. a digital target (frozen by default).

        Args:
            sample_rate: F_s (Hz).
            threshold_db, ratio, attack_ms, release_ms, makeup_gain_db: as the constructor.
            rms_coef: alpha_rms in (0, 1); or give ``rms_ms`` instead. Default 0.3.
            rms_ms: detector time (ms), converted with `ms_to_coef`.
            method: ``"td"`` or ``"fs"``.
            trainable: keep ``requires_grad`` (default False: frozen, in eval mode).
            **options: ``knee_db``, ``expander_threshold_db``, ``expander_ratio``, ``limiter_threshold_db``.

        Raises:
            ValueError: both ``rms_coef`` and ``rms_ms`` given, or a value out of range.
        """
        if rms_coef is not None and rms_ms is not None:
            raise ValueError("Unexpected arguments: give `rms_coef` or `rms_ms`, not both")
        if rms_ms is not None:
            rms_coef = ms_to_coef(rms_ms, sample_rate)
        module = cls(
            sample_rate, method, threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms,
            release_ms=release_ms, rms_coef=0.3 if rms_coef is None else rms_coef,
            makeup_gain_db=makeup_gain_db, **options,
        )
        if not trainable:
            module.requires_grad_(False)
            module.eval()
        return module

    # physical views of the parameters (differentiable)
    @property
    def ratio(self) -> Tensor:
        return torch.exp(self.raw_ratio) + 1.0

    @property
    def attack_coef(self) -> Tensor:
        return torch.sigmoid(self.raw_attack)

    @property
    def release_coef(self) -> Tensor:
        return torch.sigmoid(self.raw_release)

    @property
    def rms_coef(self) -> Tensor:
        return torch.sigmoid(self.raw_rms)

    def forward(self, x: Tensor, zi: Tensor | None = None) -> Tensor:
        """Compress ``x`` (B, C, T) -> (B, C, T); ``zi`` (B, 2) as in `compressor` (linked channels)."""
        check_audio(x)
        return self._run(x, zi)

    def _run(self, x: Tensor, zi: Tensor | None = None, *, return_zf: bool = False, return_gain: bool = False):
        if not self.paper_structure:
            return self._run_device(x, zi, return_zf=return_zf, return_gain=return_gain)
        return _compress(
            x, self.threshold_db, self.ratio, self.attack_coef, self.release_coef, self.rms_coef,
            self.makeup_gain_db, zi, knee_db=self.knee_db, expander_threshold_db=self.expander_threshold_db,
            expander_ratio=self.expander_ratio, limiter_threshold_db=self.limiter_threshold_db,
            link_channels=True, method=self.method, return_zf=return_zf, eps=1e-10, return_gain=return_gain,
        )

    def process_block(self, x: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        r"""Process one block of a longer signal; consecutive blocks equal one `forward` pass.

        Exact for ``"td"``: every stage is causal and sample by sample, so the state is just the
        detector's x_rms(n-1) and the smoother's :math:`\hat g(n-1)` at the end of the block (the
        ``zi``/``zf`` of `compressor`). Use `Effect.stream` for the stateful form. The state keeps
        the autograd graph of the blocks before it; for long streams run under
        ``torch.inference_mode()`` (or detach it).

        Args:
            x: the next block of the input audio, (B, C, T_block), any T_block >= 0.
            state: None for the first block (x_rms(-1) = 0, :math:`\hat g(-1)` = 1), then the state
                returned for the previous block: (B, 2) = [x_rms(n-1), g_hat(n-1)].

        Shape:
            x: (B, C, T_block) -> (B, C, T_block); state: (B, 2).

        Returns:
            (y, state): the output block (dtype as `forward`) and the state for the next block.

        Raises:
            ValueError: ``method`` is ``"fs"`` (its FFT smoother spans the whole signal and wraps
                around, so it is not causal block-wise; set ``method = "td"``, which the FS-trained
                parameters also drive), or ``state`` is not (B, 2) for this block's B.
        """
        check_audio(x)
        if not self.paper_structure and self.method == "td":
            width = 2 + x.shape[1]
            if state is not None and (not isinstance(state, Tensor) or tuple(state.shape) != (x.shape[0], width)):
                raise ValueError(
                    f"Unexpected shape for `state`: expected ({x.shape[0]}, {width}) = [env, g_hat, y_c(n-1)...], "
                    "found " + (str(tuple(state.shape)) if isinstance(state, Tensor) else type(state).__name__)
                )
            if x.shape[-1] == 0:
                return x, state
            return self._run_device(x, state, return_zf=True)
        if self.method != "td":
            raise ValueError(
                f"Unexpected value for `method`: block streaming needs the time-domain method 'td', "
                f"found {self.method!r} (its FFT smoother spans the whole signal and wraps around, so it "
                f"is not causal block-wise); set `effect.method = 'td'` first"
            )
        if state is not None and (not isinstance(state, Tensor) or tuple(state.shape) != (x.shape[0], 2)):
            found = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(
                f"Unexpected shape for `state`: expected ({x.shape[0]}, 2) = [x_rms(n-1), g_hat(n-1)] for a "
                f"block of batch size {x.shape[0]}, found {found}; call `reset_stream()` (or pass "
                f"state=None) to start a new signal"
            )
        if x.shape[-1] == 0:
            return x.to(_result_dtype(x, self.threshold_db)[1]), state
        return self._run(x, state, return_zf=True)

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        """``self(batch["input"])``."""
        return self(batch["input"])

    def _run_device(self, x: Tensor, zi: Tensor | None = None, *, return_zf: bool = False, return_gain: bool = False):
        """The device structures (see `device_gain`); ``zi`` (B, 2 + C) = [env, g_hat, y_c(n-1)...]."""
        dtype = torch.promote_types(x.dtype, self.threshold_db.dtype)
        x = x.to(dtype)
        n_batch, n_ch, n_time = x.shape
        if zi is None:
            zi = torch.cat([x.new_zeros(n_batch, 1), x.new_ones(n_batch, 1), x.new_zeros(n_batch, n_ch)], dim=-1)
        zi = zi.to(dtype)
        makeup = torch.exp(self.makeup_gain_db * _LN10_OVER_20)
        if self.topology == "feedback":
            # exact forward values from the sample loop; the gradient treats the detector's input (the
            # previous output) as given (a straight-through estimate: the loop itself is not differentiated)
            from .kernels_device import feedback_forward

            warn_host_once("the feedback compressor's sample loop", x.device)
            state = zi.detach().cpu().clone().contiguous()
            gain_np = torch.empty(n_batch, n_time, dtype=dtype)
            rows = lambda t: t.detach().cpu().expand(n_batch).contiguous().numpy()  # noqa: E731
            with torch.no_grad():
                feedback_forward(x.detach().cpu().contiguous().numpy(), rows(self.threshold_db), rows(self.ratio),
                                 rows(self.attack_coef), rows(self.release_coef), rows(self.makeup_gain_db),
                                 float(self.knee_db), self.detector == "peak", 0 if self.smoothing == "level" else 1,
                                 state.numpy(), gain_np.numpy(), 1e-10)
                y_exact = x * gain_np.to(x.device)[:, None, :] * makeup
            det_in = torch.cat([zi[:, 2:, None], y_exact[..., :-1]], dim=-1)
        else:
            det_in = x
        gain, env_zf, g_zf = device_gain(
            det_in, self.threshold_db, self.ratio, self.attack_coef, self.release_coef, zi[:, 0], zi[:, 1],
            detector=self.detector, smoothing=self.smoothing, knee_db=self.knee_db,
        )
        y = x * (gain * makeup)[:, None, :]
        out: list[Tensor] = [y]
        if return_zf:
            out.append(torch.cat([env_zf[:, None], g_zf[:, None], y[..., -1].detach()], dim=-1))
        if return_gain:
            out.append(gain)
        return out[0] if len(out) == 1 else tuple(out)

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        """Physical values: threshold_db, ratio, attack_ms, release_ms, rms_coef, makeup_gain_db
        (and, for ``"fs"``, the shared smoothing time ``fs_smoothing_ms``)."""
        sr = self.sample_rate
        out = {
            "threshold_db": float(self.threshold_db),
            "ratio": float(self.ratio),
            "attack_ms": float(coef_to_ms(self.attack_coef.double(), sr)),
            "release_ms": float(coef_to_ms(self.release_coef.double(), sr)),
            "rms_coef": float(self.rms_coef),
            "makeup_gain_db": float(self.makeup_gain_db),
        }
        if not self.paper_structure:  # the device structures have no RMS one-pole (rms_coef is unused)
            del out["rms_coef"]
            out["knee_db"] = float(self.knee_db)
        if self.method == "fs":
            out["fs_smoothing_ms"] = float(coef_to_ms(0.5 * (self.attack_coef + self.release_coef).double(), sr))
        return out

    @torch.no_grad()
    def static_curve(self, input_db: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Static characteristic: steady input level (dB) -> output level (dB), make-up included."""
        if input_db is None:
            input_db = torch.linspace(-80.0, 0.0, 321, dtype=self.threshold_db.dtype, device=self.threshold_db.device)
        gain_db = gain_computer(
            input_db, self.threshold_db, self.ratio, knee_db=self.knee_db,
            expander_threshold_db=self.expander_threshold_db, expander_ratio=self.expander_ratio,
            limiter_threshold_db=self.limiter_threshold_db,
        )
        return input_db, input_db + gain_db + self.makeup_gain_db

    @torch.no_grad()
    def control_curves(self, batch: Mapping[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """``"static_curve"``: input dB -> output dB; with a batch also ``"gain_reduction"``: time (s)
        -> smoothed gain (dB, <= 0, make-up excluded) for the first item of ``batch["input"]``."""
        curves = {"static_curve": self.static_curve()}
        if batch is not None:
            x = check_audio(batch["input"], 'batch["input"]')[:1]
            _, g_hat = self._run(x, return_gain=True)
            g_db = 20.0 * torch.log10(torch.clamp(g_hat[0], min=1e-12))
            t_s = torch.arange(x.shape[-1], dtype=g_db.dtype, device=g_db.device) / self.sample_rate
            curves["gain_reduction"] = (t_s, g_db)
        return curves

    def extra_repr(self) -> str:
        p = self.learned_parameters()
        return f"sample_rate={self.sample_rate:g}, method={self.method!r}, " + ", ".join(f"{k}={v:.4g}" for k, v in p.items())

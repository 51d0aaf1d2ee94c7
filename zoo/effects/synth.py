"""TB-303 style subtractive synth (Yu et al., DAFx 2024, Sec. 4.2): the voice, the encoder model, the LSTM baseline.

* `SynthVoice`: the DSP (`zoo.effects.synth_functional`) with explicit frame-rate filter controls;
  its own learnable globals are used for any global the caller does not give. Its "td" method runs
  as one fused CPU op (`zoo.effects.kernels_synth`) where it can.
* `SynthModel` (an `Effect`): a log-mel CNN encoder (`zoo.models.encoders.LogMelCNNEncoder`) that
  predicts the voice's globals and frame-rate filter controls from the target note, and the voice
  that re-synthesises it. ``filter_type`` "lp" (RBJ low-pass from a cutoff trajectory and a per-note
  Q) or "coeff" (five raw coefficients per frame, triangle-stable denominator); ``method`` "td"
  (exact recursion, `zoo.filters.lfilter`) or "fs" (frequency sampling, `zoo.filters.fs_filter`).
* `LSTMSynth` (an `Effect`): the LSTM-64 baseline: the same encoder and source, but the filter is an
  LSTM conditioned on two frame-rate signals.

Batches carry ``"target"`` (B, 1, T), ``"f0_hz"`` (B,) and ``"note_on_samples"`` (B,).
"""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from zoo.models.encoders import LogMelCNNEncoder, LSTMBaseline

from .base import Effect, check_audio
from .synth_functional import (
    PARAM_RANGES,
    coeff_coefficients,
    controls_at_audio_rate,
    controls_at_fs_frames,
    can_fuse_voice,
    cutoff_hz_from_raw,
    fs_hop_and_window,
    global_from_raw,
    lp_coefficients,
    phase_rad_from_raw,
    raw_from_global,
    synth_source,
    synth_voice,
    synth_voice_td_fused,
)

__all__ = ["PARAM_RANGES", "SynthVoice", "SynthModel", "LSTMSynth", "FILTER_TYPES", "GLOBAL_NAMES", "pole_radius_and_freq"]

FILTER_TYPES = ("lp", "coeff")
#: Globals of the voice, in the order of the encoder heads ("q" only for the "lp" filter).
GLOBAL_NAMES = ("osc_mix", "env_exponent", "osc_gain", "dist_gain", "q", "phase_rad")
_DEFAULTS = {"osc_mix": 0.5, "env_exponent": 1.0, "osc_gain": 0.5, "dist_gain": 1.0, "q": 2.0, "phase_rad": 0.0}


def _check_filter_type(filter_type: str) -> str:
    if filter_type not in FILTER_TYPES:
        raise ValueError(f"Unexpected value for `filter_type`: expected one of {FILTER_TYPES}, found {filter_type!r}")
    return filter_type


def pole_radius_and_freq(a: Tensor, sample_rate: float) -> tuple[Tensor, Tensor]:
    """Radius and frequency (Hz) of the larger-radius pole of each biquad denominator ``a`` (..., 2)."""
    a1, a2 = a[..., 0].to(torch.complex128), a[..., 1].to(torch.complex128)
    disc = torch.sqrt(a1 * a1 - 4 * a2)
    roots = torch.stack([(-a1 + disc) / 2, (-a1 - disc) / 2], dim=-1)
    idx = roots.abs().argmax(-1, keepdim=True)
    root = roots.gather(-1, idx).squeeze(-1)
    freq = root.angle().abs() * sample_rate / (2 * math.pi)
    return root.abs().to(a.dtype), freq.to(a.dtype)


class SynthVoice(nn.Module):
    r"""The TB-303 style voice with explicit frame-rate filter controls.

    .. math::
        s(n) = g_{osc}\,e(n)\,o(n), \quad v = \mathrm{biquad}_{n}(s), \quad y(n) = \tanh(g_{dist}\,v(n))

    (see `zoo.effects.synth_functional.synth_voice`). Filter controls are raw, frame-rate, with frame m
    at sample m * ``control_hop``; they are interpolated linearly to audio rate ("td") or to the FS
    frame centres ("fs"), then mapped to coefficients:

    * "lp": one raw value per frame, cutoff f_c = 100 (80)^sigmoid(r) Hz in [0.1, 8] kHz
      (`cutoff_hz_from_raw`), with the per-note Q, then the RBJ low-pass (`lp_coefficients`).
    * "coeff": five raw values per frame; b = r_0..2, a = triangle(r_3, r_4) (`coeff_coefficients`).

    Both are stable for any raw input. Globals (physical units) come from ``global_params`` or, for
    any name missing there, from this module's own learnable raw parameters (sigmoid-mapped to
    ``PARAM_RANGES``; phase = pi tanh(r)).

    On the CPU, "td" runs as one fused op (`zoo.effects.synth_functional.synth_voice_td_fused`: the
    whole path in one Numba sweep per note forward and one backward, same values and gradients) where
    `can_fuse_voice` allows (float32/64, no gradient for f0, no forward-mode AD, the library's own
    all-pole layer); otherwise, or with ``fused = False``, it runs the composed torch path.

    Args:
        sample_rate: F_s (Hz). Default 48000.
        filter_type: "lp" or "coeff". Default "lp".
        method: "td" or "fs". Default "td".
        n_win: FS window (samples), 128 ... 4096. Default 1024.
        hop: FS hop (samples); default n_win // 4.
        control_hop: samples between frame-rate controls. Default 32 (the encoder's hop).
        learn_globals: own globals are learnable parameters (True, default) or fixed buffers (False,
            e.g. when an encoder predicts every global).
        **init: initial physical values of the own globals (names in ``GLOBAL_NAMES``).

    Shape:
        forward(f0_hz (B,), note_on_samples (B,), num_samples T, filter_controls (B, F, P)) -> (B, T);
        P = 1 ("lp") or 5 ("coeff"); F >= 1 (frames past the last repeat it).

    Raises:
        ValueError: bad ``filter_type``, ``method``, ``n_win``/``hop``, control shape or init name.
    """

    def __init__(
        self,
        sample_rate: float = 48000.0,
        filter_type: str = "lp",
        method: str = "td",
        *,
        n_win: int = 1024,
        hop: int | None = None,
        control_hop: int = 32,
        learn_globals: bool = True,
        **init: float,
    ) -> None:
        super().__init__()
        if sample_rate <= 0:
            raise ValueError(f"Unexpected value for `sample_rate`: expected > 0 (Hz), found {sample_rate}")
        self.sample_rate = float(sample_rate)
        self.filter_type = _check_filter_type(filter_type)
        self.method = self._check_method(method)
        self.hop, self.n_win = fs_hop_and_window(hop, n_win)
        if control_hop < 1:
            raise ValueError(f"Unexpected value for `control_hop`: expected >= 1, found {control_hop}")
        self.control_hop = int(control_hop)
        #: "td" on the CPU runs as one `FusedSynthVoiceFunction` where it can; False forces the composed path
        self.fused = True
        unknown = set(init) - set(GLOBAL_NAMES)
        if unknown:
            raise ValueError(f"Unexpected keyword for the initial globals: {sorted(unknown)}; expected names in {GLOBAL_NAMES}")
        values = {**_DEFAULTS, **init}
        self.global_names = tuple(n for n in GLOBAL_NAMES if n != "q" or filter_type == "lp")
        self.raw_globals = nn.ParameterDict() if learn_globals else nn.Module()
        for name in self.global_names:
            if name == "phase_rad":
                raw = torch.atanh(torch.tensor(values[name] / math.pi, dtype=torch.get_default_dtype()))
            else:
                raw = raw_from_global(values[name], name)
            if learn_globals:
                self.raw_globals[name] = nn.Parameter(raw)
            else:
                self.raw_globals.register_buffer(name, raw)

    @property
    def n_filter_controls(self) -> int:
        """P: raw frame-rate values per frame (1 for "lp", 5 for "coeff")."""
        return 1 if self.filter_type == "lp" else 5

    @staticmethod
    def _check_method(method: str) -> str:
        if method not in ("td", "fs"):
            raise ValueError(f"Unexpected value for `method`: expected 'td' or 'fs', found {method!r}")
        return method

    def own_globals(self) -> dict[str, Tensor]:
        """This module's globals in physical units (0-dim tensors)."""
        out = {}
        for name in self.global_names:
            raw = getattr(self.raw_globals, name)
            out[name] = phase_rad_from_raw(raw) if name == "phase_rad" else global_from_raw(raw, name)
        return out

    def coefficients(self, controls: Tensor, q: Tensor | float | None = None) -> tuple[Tensor, Tensor]:
        """(b, a) from raw controls (..., P) at whatever rate they are given; ``q`` (LP only) broadcasts."""
        if controls.shape[-1] != self.n_filter_controls:
            raise ValueError(
                f"Unexpected shape for `filter_controls`: expected (B, F, {self.n_filter_controls}) for "
                f"filter_type={self.filter_type!r}, found {tuple(controls.shape)}"
            )
        if self.filter_type == "coeff":
            return coeff_coefficients(controls)
        if q is None:
            q = self.own_globals()["q"]
        return lp_coefficients(cutoff_hz_from_raw(controls[..., 0]), q, self.sample_rate)

    def forward(
        self,
        f0_hz: Tensor,
        note_on_samples: Tensor,
        num_samples: int,
        filter_controls: Tensor,
        global_params: Mapping[str, Tensor] | None = None,
        *,
        method: str | None = None,
    ) -> Tensor:
        """Render the voice.

        Args:
            f0_hz: fundamental (Hz), (B,).
            note_on_samples: N_on (samples), (B,).
            num_samples: T.
            filter_controls: raw frame-rate controls (B or 1, F, P), frame m at sample m * control_hop.
            global_params: physical values, (B,) tensors by name (``self.global_names``); missing names
                use this module's own globals.
            method: "td" or "fs"; default ``self.method``.

        Returns:
            (B, T).
        """
        method = self.method if method is None else self._check_method(method)
        if filter_controls.dim() != 3:
            raise ValueError(f"Unexpected shape for `filter_controls`: expected (B, F, P), found {tuple(filter_controls.shape)}")
        params = self.own_globals()
        if global_params is not None:
            unknown = set(global_params) - set(self.global_names)
            if unknown:
                raise ValueError(f"Unexpected keys in `global_params`: {sorted(unknown)}; expected names in {self.global_names}")
            params.update(global_params)
        q = params.get("q")
        if method == "td" and self.fused and can_fuse_voice(f0_hz, filter_controls, *params.values()):
            if filter_controls.shape[-1] != self.n_filter_controls:
                self.coefficients(filter_controls)  # raises the shape error
            return synth_voice_td_fused(
                f0_hz, note_on_samples, num_samples, self.sample_rate, filter_controls, self.control_hop,
                self.filter_type, params["osc_mix"], params["env_exponent"], params["osc_gain"],
                params["dist_gain"], params["phase_rad"], q,
            )
        if q is not None and q.dim() == 1:
            q = q.unsqueeze(-1)  # (B, 1): one Q per note, broadcast over time
        if method == "td":
            ctrl = controls_at_audio_rate(filter_controls, self.control_hop, num_samples)
        else:
            ctrl = controls_at_fs_frames(filter_controls, self.control_hop, num_samples, self.hop)
        b, a = self.coefficients(ctrl, q)
        batch = f0_hz.shape[0]
        b = b.expand(batch, *b.shape[1:])
        a = a.expand(batch, *a.shape[1:])
        return synth_voice(
            f0_hz, note_on_samples, num_samples, self.sample_rate, b, a,
            params["osc_mix"], params["env_exponent"], params["osc_gain"], params["dist_gain"], params["phase_rad"],
            method=method, hop=self.hop, n_win=self.n_win,
        )


def _check_conditioning(target: Tensor, f0_hz: Tensor, note_on_samples: Tensor) -> None:
    check_audio(target, "target")
    if target.shape[1] != 1:
        raise ValueError(f"Unexpected shape for `target`: expected (B, 1, T) mono audio, found {tuple(target.shape)}")
    for name, value in (("f0_hz", f0_hz), ("note_on_samples", note_on_samples)):
        if not isinstance(value, Tensor):
            raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor, found {type(value).__name__}")
        if value.shape != target.shape[:1]:
            raise ValueError(f"Unexpected shape for `{name}`: expected ({target.shape[0]},), found {tuple(value.shape)}")


class SynthModel(Effect):
    r"""Encoder + TB-303 voice: re-synthesises a target note from predicted controls (paper Sec. 4.2).

    The encoder (`LogMelCNNEncoder`, log-mel n_fft 1024, 128 mels, hop 32: 188 frames for 6000
    samples) predicts raw globals from the time-averaged latent and raw frame-rate filter controls at
    its hop; `SynthVoice` maps them to physical values and renders

    .. math:: \hat y = \tanh(g_{dist}\,\mathrm{biquad}_n(g_{osc}\,e(n)\,o(n)))

    Args:
        sample_rate: F_s (Hz). Default 48000.
        method: "td" or "fs"; switchable after training. Default "td".
        filter_type: "lp" or "coeff". Default "lp".
        n_win: FS window (samples), 128 ... 4096. Default 1024.
        hop: FS hop (samples); default n_win // 4.
        encoder_width: encoder channels; default 176 (1-D) or 64 (2-D), about 730K / 590K parameters.
        encoder_layers: dilated blocks; default 6 (1-D) or 5 (2-D).
        conv_dim: encoder body, 1 or 2. Default 1.

    Shape:
        forward(target (B, 1, T), f0_hz (B,), note_on_samples (B,)) -> (B, 1, T).

    Raises:
        ValueError, TypeError: bad arguments (named).
    """

    def __init__(
        self,
        sample_rate: float = 48000.0,
        method: str = "td",
        filter_type: str = "lp",
        *,
        n_win: int = 1024,
        hop: int | None = None,
        encoder_width: int | None = None,
        encoder_layers: int | None = None,
        conv_dim: int = 1,
    ) -> None:
        super().__init__(sample_rate, method)
        # The encoder predicts every global, so the voice's own globals are fixed buffers (no unused parameters).
        self.voice = SynthVoice(sample_rate, filter_type, method, n_win=n_win, hop=hop, learn_globals=False)
        self.encoder = LogMelCNNEncoder(
            sample_rate,
            self.voice.global_names,
            self.voice.n_filter_controls,
            width=encoder_width,
            n_layers=encoder_layers,
            conv_dim=conv_dim,
        )
        self.voice.control_hop = self.encoder.hop
        self._last_globals: dict[str, float] | None = None

    @property
    def filter_type(self) -> str:
        return self.voice.filter_type

    def predict(self, target: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """(physical globals {name: (B,)}, raw frame controls (B, F, P)) predicted from ``target``."""
        out = self.encoder(target)
        params = {}
        for name, raw in out["globals"].items():
            params[name] = phase_rad_from_raw(raw) if name == "phase_rad" else global_from_raw(raw, name)
        return params, out["frames"]

    def forward(self, target: Tensor, f0_hz: Tensor, note_on_samples: Tensor) -> Tensor:
        _check_conditioning(target, f0_hz, note_on_samples)
        params, frames = self.predict(target)
        self._last_globals = {k: float(v.detach().mean()) for k, v in params.items()}
        y = self.voice(f0_hz.to(target.dtype), note_on_samples, target.shape[-1], frames, params, method=self.method)
        return y.unsqueeze(1)

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self(batch["target"], batch["f0_hz"], batch["note_on_samples"])

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        """Mean predicted globals of the last forward pass, else the voice's own globals."""
        if self._last_globals is not None:
            return dict(self._last_globals)
        return {k: float(v) for k, v in self.voice.own_globals().items()}

    @torch.no_grad()
    def control_curves(self, batch: Mapping[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """First item of ``batch``: "cutoff_hz" (LP) or "pole_radius" and "pole_freq_hz" (Coeff) per encoder frame.

        Raises:
            ValueError: ``batch`` is None (the controls are predicted from the target).
        """
        if batch is None:
            raise ValueError("Unexpected value for `batch`: the synth's controls are predicted from batch['target']")
        params, frames = self.predict(batch["target"][:1])
        time_s = torch.arange(frames.shape[1], dtype=frames.dtype, device=frames.device) * self.encoder.hop / self.sample_rate
        if self.filter_type == "lp":
            return {"cutoff_hz": (time_s, cutoff_hz_from_raw(frames[0, :, 0]))}
        _, a = coeff_coefficients(frames[0])
        radius, freq = pole_radius_and_freq(a, self.sample_rate)
        return {"pole_radius": (time_s, radius), "pole_freq_hz": (time_s, freq)}


class LSTMSynth(Effect):
    r"""LSTM-64 baseline: encoder + source + a recurrent black-box filter (paper Sec. 4.2, "LSTM").

    The encoder predicts the source globals (osc_mix, env_exponent, osc_gain, dist_gain, phase_rad)
    and two frame-rate conditioning signals u(m) = sigmoid(raw) in [0, 1] (the authors' cutoff- and
    Q-like "mod signals"); u is interpolated to audio rate and, with the dry source s(n), drives an
    LSTM of hidden size 64 (`LSTMBaseline`): y(n) = tanh(g_dist (s(n) + W h(n) + w0)). It is
    recurrent sample by sample (6000 steps per note), hence slow, and has no filter structure.

    Args:
        sample_rate: F_s (Hz). Default 48000.
        method: "td" only (the LSTM runs sample by sample).
        n_hidden: LSTM hidden size. Default 64.
        encoder_width: as `SynthModel`.
        encoder_layers: as `SynthModel`.
        conv_dim: as `SynthModel`.

    Shape:
        forward(target (B, 1, T), f0_hz (B,), note_on_samples (B,)) -> (B, 1, T).
    """

    methods = ("td",)

    def __init__(
        self,
        sample_rate: float = 48000.0,
        method: str = "td",
        *,
        n_hidden: int = 64,
        encoder_width: int | None = None,
        encoder_layers: int | None = None,
        conv_dim: int = 1,
    ) -> None:
        super().__init__(sample_rate, method)
        self.global_names = tuple(n for n in GLOBAL_NAMES if n != "q")
        self.encoder = LogMelCNNEncoder(
            sample_rate, self.global_names, 2, width=encoder_width, n_layers=encoder_layers, conv_dim=conv_dim
        )
        self.lstm = LSTMBaseline(n_hidden, 2)
        self._last_globals: dict[str, float] | None = None

    def forward(self, target: Tensor, f0_hz: Tensor, note_on_samples: Tensor) -> Tensor:
        _check_conditioning(target, f0_hz, note_on_samples)
        out = self.encoder(target)
        g = {n: (phase_rad_from_raw(r) if n == "phase_rad" else global_from_raw(r, n)) for n, r in out["globals"].items()}
        self._last_globals = {k: float(v.detach().mean()) for k, v in g.items()}
        num_samples = target.shape[-1]
        src = synth_source(
            f0_hz.to(target.dtype), note_on_samples, num_samples, self.sample_rate,
            g["osc_mix"], g["env_exponent"], g["osc_gain"], g["phase_rad"],
        )
        cond = controls_at_audio_rate(torch.sigmoid(out["frames"]), self.encoder.hop, num_samples)
        return torch.tanh(g["dist_gain"].unsqueeze(-1) * self.lstm(src, cond)).unsqueeze(1)

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self(batch["target"], batch["f0_hz"], batch["note_on_samples"])

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        """Mean predicted globals of the last forward pass (empty before the first)."""
        return dict(self._last_globals or {})

    @torch.no_grad()
    def control_curves(self, batch: Mapping[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """The two conditioning signals ("mod_1", "mod_2", in [0, 1]) per encoder frame, first item."""
        if batch is None:
            raise ValueError("Unexpected value for `batch`: the LSTM's conditioning is predicted from batch['target']")
        frames = torch.sigmoid(self.encoder(batch["target"][:1])["frames"][0])
        time_s = torch.arange(frames.shape[0], dtype=frames.dtype, device=frames.device) * self.encoder.hop / self.sample_rate
        return {"mod_1": (time_s, frames[:, 0]), "mod_2": (time_s, frames[:, 1])}


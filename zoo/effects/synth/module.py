"""The synth models (`Effect` subclasses): `SynthModel` (log-mel CNN encoder + `SynthVoice`) and the
LSTM-64 baseline `LSTMSynth`."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from ..base import Effect, check_audio
from .encoders import LogMelCNNEncoder, LSTMBaseline
from .controls import (
    coeff_coefficients,
    controls_at_audio_rate,
    cutoff_hz_from_raw,
    global_from_raw,
    phase_rad_from_raw,
)
from .functional import synth_source
from .voice import GLOBAL_NAMES, SynthVoice, pole_radius_and_freq


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

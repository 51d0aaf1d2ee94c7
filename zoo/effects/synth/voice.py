"""`SynthVoice`: the synth voice as an ``nn.Module`` with explicit frame-rate filter controls and learnable
globals."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from .controls import (
    coeff_coefficients,
    controls_at_audio_rate,
    controls_at_fs_frames,
    cutoff_hz_from_raw,
    global_from_raw,
    lp_coefficients,
    phase_rad_from_raw,
    raw_from_global,
)
from .functional import fs_hop_and_window, synth_voice
from .fused import can_fuse_voice, synth_voice_td_fused


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

    (see `zoo.effects.synth.functional.synth_voice`). Filter controls are raw, frame-rate, with frame m
    at sample m * ``control_hop``; they are interpolated linearly to audio rate ("td") or to the FS
    frame centres ("fs"), then mapped to coefficients:

    * "lp": one raw value per frame, cutoff f_c = 100 (80)^sigmoid(r) Hz in [0.1, 8] kHz
      (`cutoff_hz_from_raw`), with the per-note Q, then the RBJ low-pass (`lp_coefficients`).
    * "coeff": five raw values per frame; b = r_0..2, a = triangle(r_3, r_4) (`coeff_coefficients`).

    Both are stable for any raw input. Globals (physical units) come from ``global_params`` or, for
    any name missing there, from this module's own learnable raw parameters (sigmoid-mapped to
    ``PARAM_RANGES``; phase = pi tanh(r)).

    On the CPU, "td" runs as one fused op (`zoo.effects.synth.fused.synth_voice_td_fused`: the
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

"""The fused TD voice's functional form (`synth_voice_td_fused`) and the check that decides when it can
serve a call (`can_fuse_voice`)."""

from __future__ import annotations

import torch
from torch import Tensor

from ...filters.dispatch import can_fuse
from .functional import _as_batch, _check_f0, _check_positive_int, _check_sample_rate
from .ops import FusedSynthVoiceFunction


# ------------------------------------------------------------------- fused TD voice (CPU)

def can_fuse_voice(f0_hz: Tensor, filter_controls: Tensor, *values: Tensor | float | None) -> bool:
    """Whether `FusedSynthVoiceFunction` can serve a TD voice call (else the composed path does).

    It needs CPU float32/float64 tensors of one dtype, no gradient wanted for ``f0_hz``, no forward-mode
    AD or functorch transform, and fused kernels allowed (`zoo.filters.dispatch.can_fuse`).
    """
    tensors = [f0_hz, filter_controls, *(v for v in values if isinstance(v, Tensor))]
    dtype = filter_controls.dtype
    if dtype not in (torch.float32, torch.float64) or f0_hz.requires_grad or f0_hz.dim() != 1:
        return False
    if any(t.dtype != dtype for t in tensors):
        return False
    if filter_controls.dim() != 3 or filter_controls.shape[0] not in (1, f0_hz.shape[0]):
        return False
    return can_fuse(*tensors)


def synth_voice_td_fused(
    f0_hz: Tensor,
    note_on_samples: Tensor,
    num_samples: int,
    sample_rate: float,
    filter_controls: Tensor,
    control_hop: int,
    filter_type: str,
    osc_mix: Tensor | float,
    env_exponent: Tensor | float,
    osc_gain: Tensor | float,
    dist_gain: Tensor | float,
    phase_rad: Tensor | float = 0.0,
    q: Tensor | float | None = None,
) -> Tensor:
    r"""The TD voice from raw frame-rate controls as one fused CPU op (`FusedSynthVoiceFunction`).

    Computes what ``synth_voice(..., method="td")`` computes from ``controls_at_audio_rate`` and
    ``lp_coefficients(cutoff_hz_from_raw(.), q)`` ("lp") or ``coeff_coefficients`` ("coeff"), in one
    Numba sweep per row, and its gradients in one reverse sweep. Check `can_fuse_voice` first.

    Args:
        f0_hz: fundamental (Hz), (B,); no gradient.
        note_on_samples: N_on (samples), (B,).
        num_samples: T (>= 1).
        sample_rate: F_s (Hz).
        filter_controls: raw controls (B or 1, F, P), frame m at sample m * ``control_hop``; P = 1 ("lp")
            or 5 ("coeff").
        control_hop: samples between frames (>= 1).
        filter_type: "lp" or "coeff".
        osc_mix, env_exponent, osc_gain, dist_gain, phase_rad: physical globals, (B,), () or floats.
        q: Q of the "lp" filter, (B,), () or a float; required for "lp", ignored for "coeff".

    Shape:
        returns y: (B, T).

    Raises:
        TypeError, ValueError: bad types, shapes, ``filter_type``, ``control_hop`` or missing ``q``.
    """
    f0_hz = _check_f0(f0_hz)
    _check_positive_int(num_samples, "num_samples")
    _check_sample_rate(sample_rate)
    _check_positive_int(control_hop, "control_hop")
    if filter_type not in ("lp", "coeff"):
        raise ValueError(f"Unexpected value for `filter_type`: expected 'lp' or 'coeff', found {filter_type!r}")
    lp = filter_type == "lp"
    n_ctrl = 1 if lp else 5
    if filter_controls.dim() != 3 or filter_controls.shape[-1] != n_ctrl or filter_controls.shape[1] < 1:
        raise ValueError(
            f"Unexpected shape for `filter_controls`: expected (B, F, {n_ctrl}) for filter_type={filter_type!r}, "
            f"found {tuple(filter_controls.shape)}"
        )
    if lp and q is None:
        raise ValueError("Unexpected value for `q`: the 'lp' filter needs a Q")
    batch = f0_hz.shape[0]
    dtype = filter_controls.dtype
    like = f0_hz.to(dtype)
    columns = []
    for name, value in (("osc_mix", osc_mix), ("env_exponent", env_exponent), ("osc_gain", osc_gain),
                        ("dist_gain", dist_gain), ("phase_rad", phase_rad), ("q", 1.0 if q is None else q)):
        if isinstance(value, Tensor) and value.dim() == 0:
            value = value.expand(batch)
        columns.append(_as_batch(value, name, like).to(dtype).expand(batch))
    params = torch.stack(columns, dim=-1)
    cond = torch.stack([like, note_on_samples.to(dtype)], dim=-1).contiguous()
    ctrl = filter_controls.expand(batch, *filter_controls.shape[1:]).contiguous()
    y, *_ = FusedSynthVoiceFunction.apply(ctrl, params, cond, num_samples, control_hop, float(sample_rate), lp)
    return y

"""Differentiable time-varying filters: the all-pole layer of Yu et al. (DAFx 2024) and friends.

Public API:

* `allpole(x, a, zi=None, *, return_zf=False, backend=None)` - y[n] = x[n] - sum_i a_i[n] y[n-i] (Eq. 1)
* `use_backend("torch")` - a context manager: the pure-PyTorch scan (any device, TorchScript,
  export) instead of Numba/Triton; `allpole_torch` is that scan as a scriptable function
* `linear_recurrence(a, x, zi=None)` - h[n] = a[n] h[n-1] + x[n]
* `lfilter(b, a, x, zi=None)` - time-varying FIR then all-pole (the paper's form)
* `sosfilt(sos, x, zi=None)` - exact cascade of (time-varying) second-order sections
* `fir(x, b, zi=None)` - time-varying FIR
* `allpass_feedback_loop(x, p, g2, zi=None)`, `allpass_chain(x, coef, g2, zi=None)` - K first-order
  all-passes in a feedback loop, time-varying, exact (the phaser's core)
* `attack_release_smoother(g, attack_coef, release_coef, zi=None)` - the compressor's switching
  one-pole (Eq. 21, Algorithm 1)
* `ltv_scan(a, u, s0)` - s[n] = A[n] s[n-1] + u[n] as a chunked scan (any device, TorchScript)
* `use_fused(False)` - a context manager: effects run their paths composed from these primitives
* design helpers: `interpolate_controls`, `biquad_from_poles`, `biquad_triangle`,
  `lpc_from_reflection`, `rbj_lowpass`, `max_pole_radius`, `is_stable`
* frequency sampling (the baseline): `fs_filter`, `frequency_response`, `fft_size`
* the CPU output cache (memory of dropped outputs is reused, see `zoo.filters._buffers`):
  `set_buffer_cache`, `empty_buffer_cache`, `buffer_cache_info`
"""

from .dispatch import use_backend, use_fused
from ._buffers import buffer_cache_info, empty_buffer_cache, set_buffer_cache
from .recursions import allpole, fir, lfilter, linear_recurrence, sosfilt
from .allpass import allpass_chain, allpass_feedback_loop
from .smoother import attack_release_smoother
from .state_space import ltv_scan
from .design import (
    biquad_from_poles,
    biquad_triangle,
    interpolate_controls,
    is_stable,
    lpc_from_reflection,
    max_pole_radius,
    num_frames,
    rbj_lowpass,
)
from .frequency_sampling import fft_size, frequency_response, fs_filter, fs_num_frames
from .kernels.torch_scan import allpole_torch

__all__ = [
    "allpole",
    "allpole_torch",
    "use_backend",
    "use_fused",
    "linear_recurrence",
    "allpass_feedback_loop",
    "allpass_chain",
    "attack_release_smoother",
    "ltv_scan",
    "lfilter",
    "sosfilt",
    "fir",
    "interpolate_controls",
    "num_frames",
    "biquad_from_poles",
    "biquad_triangle",
    "lpc_from_reflection",
    "rbj_lowpass",
    "max_pole_radius",
    "is_stable",
    "fs_filter",
    "frequency_response",
    "fft_size",
    "fs_num_frames",
    "set_buffer_cache",
    "empty_buffer_cache",
    "buffer_cache_info",
]

r"""Differentiable feed-forward dynamic range compressor (Yu et al., DAFx 2024, Sec. 4.3).

Zölzer's feed-forward compressor (DAFX, 2nd ed., Sec. 4.2), signal path per sample n:

1. RMS detector, a one-pole on the signal power (`rms_detector`):
   :math:`x_{rms}(n) = \alpha_{rms} x^2(n) + (1 - \alpha_{rms}) x_{rms}(n-1)`.
2. Gain computer, in dB (`gain_computer`), with L(n) = 10 log10 x_rms(n):
   :math:`g_{dB}(n) = \min(0, (1/R - 1)(L(n) - CT))`, i.e.
   :math:`g(n) = \min(1, (\sqrt{x_{rms}(n)} / 10^{CT/20})^{(1-R)/R})`; optionally a soft knee, an
   expander below ET (ratio ER < 1) and a limiter (infinite ratio above LT).
3. Attack/release smoother (Eq. 21, `attack_release_smoother`):
   :math:`\hat g(n) = \alpha(n) g(n) + (1 - \alpha(n)) \hat g(n-1)`, with
   :math:`\alpha(n) = \alpha_{at}` if :math:`g(n) < \hat g(n-1)` (attack) else :math:`\alpha_{rt}`,
   :math:`\hat g(-1) = 1`.
4. Output: :math:`y(n) = x(n) \hat g(n) \gamma`, with make-up gain :math:`\gamma = 10^{\gamma_{dB}/20}`.

The smoother's branch is not differentiable as written; Algorithm 1 of the paper differentiates
it exactly by treating the recorded branch (the attack mask beta) as fixed: with u = alpha g the
smoother is a first-order time-varying all-pole filter with a_1(n) = alpha(n) - 1, so its
gradients are the all-pole layer's (Eqs. 7-8). `AttackReleaseFunction` implements that, reusing
`zoo.filters`' reverse recursion.

Two implementations of "td" give the same values and gradients:

* fused (the default on CPU): `FusedCompressorFunction`, the four stages in one Numba sweep per
  row forward and one reverse sweep backward (`kernels_compressor_fused`), with no full-length
  intermediate tensors; several times faster to train.
* composed: `rms_detector`, `gain_computer` and `attack_release_smoother` as differentiable torch
  ops. It serves CUDA tensors, forward-mode AD and functorch transforms, and the fused backward
  recomputes through it when a graph of the gradient is wanted (double backward).

"fs" is the frequency-sampling baseline (the DASP-style compressor): attack = release, so the
smoother is a time-invariant one-pole, applied by multiplying spectra over an FFT of length
>= 2T (`one_pole_fs`).

Parameter ranges (physical units, what `Compressor` maps its unconstrained parameters to):

=================  ======================  ======================================  =========
parameter          range                   unconstrained parameterisation          paper init
=================  ======================  ======================================  =========
threshold_db       (-inf, 0], e.g. [-60,0]  plain value (dB)                        -10 dB
ratio              [1, inf]                R = exp(r) + 1                          2
attack_ms          (0, inf), ~[0.01, 1000]  alpha_at = sigmoid(a), ms = coef_to_ms  50 ms
release_ms         (0, inf), ~[1, 5000]     alpha_rt = sigmoid(r)                   50 ms
rms_coef           (0, 1]                  alpha_rms = sigmoid(c)                  0.3
makeup_gain_db     any, e.g. [-24, 24]     plain value (dB)                        0 dB
knee_db            [0, inf), e.g. [0, 24]   fixed (not learned)                     0 (hard)
=================  ======================  ======================================  =========

Time constants follow the paper: :math:`\alpha = 1 - e^{-2.2 / (F_s t)}` (t in s), the 10-90 %
rise time of the one-pole (`ms_to_coef`, `coef_to_ms`).
"""

from .functional import compressor, device_gain
from .module import Compressor
from ...filters.autograd_smoother import AttackReleaseFunction
from .ops import FusedCompressorFunction
from .stages import (
    DETECTORS,
    SMOOTHINGS,
    TOPOLOGIES,
    attack_release_smoother,
    coef_to_ms,
    gain_computer,
    ms_to_coef,
    one_pole_fs,
    rms_detector,
)

# private names that tests import from `zoo.effects.compressors`
from .functional import _compress  # noqa: F401
from .ops import _fused_backward_op, _fused_forward_op  # noqa: F401

__all__ = [
    "ms_to_coef",
    "coef_to_ms",
    "rms_detector",
    "gain_computer",
    "attack_release_smoother",
    "one_pole_fs",
    "compressor",
    "AttackReleaseFunction",
    "FusedCompressorFunction",
    "Compressor",
    "DETECTORS",
    "SMOOTHINGS",
    "TOPOLOGIES",
    "device_gain",
]

r"""Differentiable phaser: K first-order all-pass stages with feedback, driven by a learnable LFO.

Yu et al., "Differentiable All-pole Filters for Time-varying Audio Systems", DAFx 2024, Sec. 4.1
(after Carson et al., DAFx 2023, whose frequency-sampling model is the ``"fs"`` twin here).

Signal path, with x the input, u the signal entering the all-pass chain and y_k the k-th stage
output (y_0 = u):

.. math::

    y_k[n] = p[n]\,(y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1]      \qquad (Eq. 10)

    u[n] = x[n] + g_2\, y_K[n]                                   \quad \text{(delay-free feedback)}

    o[n] = g_1 x[n] + y_K[n],  \qquad  \text{out} = \mathrm{BQ}\{o\}

With p frozen this is H(z) = BQ(z) (g1 + A(z) / (1 - g2 A(z))), A(z) = ((p - z^-1)/(1 - p z^-1))^K.
Three implementations:

* ``"td_regrouped"``: the paper's form (Eqs. 11-12). With p[n] frozen per sample, A = N/D with
  N = (p - z^-1)^K, D = (1 - p z^-1)^K, and g1 + A/(1 - g2 A) = (g1 (D - g2 N) + N) / (D - g2 N);
  times the biquad this is one time-varying FIR of K+3 taps followed by ONE all-pole of order K+2.
  For time-varying p this is an approximation: the zeros and poles of different stages are
  regrouped as if they commuted.
* ``"td_exact"``: exact for any p[n], in state-space form: the shared primitive
  `zoo.filters.allpass_feedback_loop` (`AllpassLoopFunction`, Numba kernels on the CPU; a chunked
  state-space scan on other devices). Per sample each stage is affine in its input,
  y_k[n] = p[n] y_{k-1}[n] + c_k[n] with c_k[n] = p[n] y_k[n-1] - y_{k-1}[n-1] from the K + 1
  stored values (u[n-1], y_1[n-1], ..., y_K[n-1]), so y_K[n] = p[n]^K u[n] + C[n] and the
  delay-free loop is solved per sample, u[n] = (x[n] + g2 C[n]) / (1 - g2 p[n]^K), a pivot > 0 for
  |g2| <= 1, |p| < 1 whatever the modulation. The backward pass is the exact adjoint of that
  per-sample system (one reverse sweep). The biquad is a time-invariant section at the end.
  (An earlier version composed the K stages into one order-K recursion on the loop signal,
  `allpass_cascade_exact`; mathematically the same, but its leading coefficient can come close to
  0 when p moves fast, which gave non-finite losses in training. It is kept for double backward.)
* ``"fs"``: frequency sampling (Hann window 4L, hop L, FFT length 2^(ceil(log2 4L)+1)); each frame
  uses H(e^{jw}) of its frame-rate p.

Measured difference between the two TD forms (float64, 44.1 kHz, 1 s of white noise, K = 4,
g1 = 0.5, biquad = identity; p from the default LFO mapping with a cosine LFO sweeping the break
frequency over 100-2000 Hz (p in [0.749, 0.986]), control hop 10 ms, linear interpolation;
ESR = ||y_regrouped - y_exact||^2 / ||y_exact||^2; td_exact itself matches a float64
sample-by-sample loop to ESR < 1e-29, i.i.d. p included. Reproduced by
``tests/effects/test_phaser_exact.py::test_regrouped_vs_exact_documented_numbers``):

========  =========  =========  =========  =========  =====================
g2        0.5 Hz     2 Hz       5 Hz       20 Hz      p[n] i.i.d. per sample
========  =========  =========  =========  =========  =====================
0         3.5e-5     1.3e-2     0.57       14         5.6e4 (diverges)
0.6       1.1e-4     3.8e-2     1.6        48         4.6e5 (diverges)
========  =========  =========  =========  =========  =====================

The error is concentrated where p is close to 1 (low break frequencies, long time constants) and
grows steeply with the modulation speed: at the Small Stone's slow rates (0.06-0.6 Hz) the
regrouped form is within about -40 dB, but at 2 Hz with a deep sweep it is already a few percent,
and for fast modulation the regrouped 6th-order all-pole is not even stable while the exact form is.
"""

from .functional import (
    PHASER_METHODS,
    STAGE_FORMS,
    allpass_chain,
    allpass_feedback_loop,
    phaser,
    stage_coefficients,
)
from .lfo import SweepLFO
from .module import Phaser
from .polynomials import allpass_cascade_exact, allpass_polynomials, phaser_response

# the shared primitives the phaser is built on, re-exported where they were first public
from ...filters.autograd_allpass import AllpassLoopFunction, ChainLoopFunction  # noqa: E402

__all__ = [
    "PHASER_METHODS",
    "allpass_polynomials",
    "allpass_cascade_exact",
    "allpass_feedback_loop",
    "AllpassLoopFunction",
    "phaser_response",
    "phaser",
    "Phaser",
    "STAGE_FORMS",
    "ChainLoopFunction",
    "allpass_chain",
    "SweepLFO",
    "stage_coefficients",
]

r"""All-pass primitives: K first-order all-passes in a feedback loop, time-varying, exact and
differentiable (the phaser's core, Sec. 4.1 of Yu et al. 2024, and the digital phasers `zoo fit` models).

* `allpass_feedback_loop`: one coefficient p[n] for every stage, delay-free feedback (Eq. 10 with
  u = x + g2 y_K, solved per sample).
* `allpass_chain`: per-stage coefficients, DF1 or TPT stages, delay-free or one-sample feedback.

On the CPU each runs a Numba kernel with an exact adjoint (`zoo.filters.autograd_allpass`); on any
other device, under functorch transforms, and with ``use_backend("torch")`` the same recursion is
composed from tensor ops (`zoo.filters.allpass_composed`): no host round trip. The choice is
`zoo.filters.dispatch`'s.
"""

from __future__ import annotations

from torch import Tensor

from .allpass_composed import allpass_chain_composed
from .allpass_polynomials import check_stages
from .autograd_allpass import AllpassLoopFunction, ChainLoopFunction, _CompiledAllpassLoopFunction
from .dispatch import is_compiling, uses_composed_primitive as _composed

__all__ = ["allpass_feedback_loop", "allpass_chain", "STAGE_FORMS"]


def _maybe_zf(out: tuple[Tensor, Tensor], return_zf: bool) -> Tensor | tuple[Tensor, Tensor]:
    return out if return_zf else out[0]


def _apply_allpass_loop(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor | None, num_stages: int):
    """Apply the right Function: the jvp-free one while `torch.compile` traces, else the full one."""
    if is_compiling():
        return _CompiledAllpassLoopFunction.apply(x, p, g2, zi, num_stages)
    return AllpassLoopFunction.apply(x, p, g2, zi, num_stages)


def allpass_feedback_loop(
    x: Tensor,
    p: Tensor,
    g2: Tensor,
    zi: Tensor | None = None,
    *,
    num_stages: int = 4,
    return_zf: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""K first-order all-passes in a delay-free feedback loop, exact for any p[n] (state-space form).

    y_k[n] = p[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1] (Eq. 10), y_0 = u = x + g2 y_K; returns
    y_K. See `AllpassLoopFunction` for the per-sample solve and the adjoint.

    Args:
        x: input, (N, T).
        p: all-pass coefficient per sample, (N, T), |p| < 1 (not checked).
        g2: feedback gain, (N,), |g2| <= 1 (not checked; then the per-sample pivot
            1 - g2 p^K stays > 0).
        zi: state (N, K+1): u[-1], y_1[-1], ..., y_K[-1]. Default None: at rest (zeros).
        num_stages: K >= 1. Default 4.
        return_zf: also return the final state, in the layout of ``zi``.

    Returns:
        y_K (N, T), or (y_K, zf) when ``return_zf``.

    Raises:
        ValueError: ``num_stages`` < 1 or a shape mismatch.

    Supports:
        CPU: the Numba kernels of `AllpassLoopFunction`, float32 and float64, autograd (double
        backward only at rest), forward-mode AD. CUDA and any other device, functorch transforms
        (vmap) and ``use_backend("torch")``: the composed path (`allpass_chain_composed`, tensor ops:
        autograd of any order, any state).
    """
    check_stages(num_stages)
    if x.dim() != 2 or p.shape != x.shape or g2.shape != x.shape[:1]:
        raise ValueError(
            f"Unexpected shapes for `x`, `p`, `g2`: expected (N, T), (N, T) and (N,), found "
            f"{tuple(x.shape)}, {tuple(p.shape)} and {tuple(g2.shape)}"
        )
    if zi is not None and zi.shape != (x.shape[0], num_stages + 1):
        raise ValueError(f"Unexpected shape for `zi`: expected {(x.shape[0], num_stages + 1)}, found {tuple(zi.shape)}")
    if _composed(x):
        coef = p.unsqueeze(-1).expand(*p.shape, num_stages)
        state = x.new_zeros(x.shape[0], num_stages + 1) if zi is None else zi
        y, zf = allpass_chain_composed(x, coef, g2, state, 0, 0)
    else:
        y, zf, _ = _apply_allpass_loop(
            x.contiguous(), p.contiguous(), g2.contiguous(), None if zi is None else zi.contiguous(), num_stages
        )
    return (y, zf) if return_zf else y


#: stage forms of `allpass_chain`: the paper's direct form (Eq. 10) and the TPT form
STAGE_FORMS = ("df1", "tpt")


def allpass_chain(
    x: Tensor,
    coef: Tensor,
    g2: Tensor,
    zi: Tensor | None = None,
    *,
    form: str = "df1",
    feedback_delay: int = 0,
    return_zf: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""K first-order all-passes with per-stage, per-sample coefficients, in a feedback loop.

    DF1 stages (Eq. 10): y_k[n] = p_k[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1]; TPT stages
    (Zavalishin): v = G (y_{k-1} - s), lp = v + s, y_k = 2 lp - y_{k-1}, s <- lp + v. Loop:
    u[n] = x[n] + g2 y_K[n - d], d = ``feedback_delay`` (0: delay-free, solved per sample; 1: JUCE-style).
    Frozen-time, a DF1 stage is (p - z^-1)/(1 - p z^-1); a TPT stage is its negative with p = 1 - 2G.

    Args:
        x: input, (N, T).
        coef: (N, T, K): p_k[n] in (-1, 1) for ``"df1"``, G_k[n] in (0, 1) for ``"tpt"`` (not checked).
        g2: feedback gain, (N,), |g2| < 1 (not checked).
        zi: state (N, K+1), see `zoo.filters.kernels.numba_allpass_chain`. Default None: at rest.
        form: ``"df1"`` (default) or ``"tpt"``.
        feedback_delay: 0 (default, delay-free) or 1.
        return_zf: also return the final state.

    Returns:
        y_K (N, T), or (y_K, zf).

    Raises:
        ValueError: an unknown form or delay, or mismatched shapes.

    Supports:
        CPU: the Numba kernels of `ChainLoopFunction`, float32 and float64, first-order autograd.
        CUDA and any other device, functorch transforms and ``use_backend("torch")``: the composed
        path (`allpass_chain_composed`, tensor ops: autograd of any order).
    """
    if form not in STAGE_FORMS:
        raise ValueError(f"Unexpected value for `form`: expected one of {STAGE_FORMS}, found {form!r}")
    if feedback_delay not in (0, 1):
        raise ValueError(f"Unexpected value for `feedback_delay`: expected 0 or 1 (samples), found {feedback_delay!r}")
    if x.dim() != 2 or coef.dim() != 3 or coef.shape[:2] != x.shape or g2.shape != x.shape[:1]:
        raise ValueError(
            f"Unexpected shapes for `x`, `coef`, `g2`: expected (N, T), (N, T, K) and (N,), found "
            f"{tuple(x.shape)}, {tuple(coef.shape)} and {tuple(g2.shape)}"
        )
    k_stages = coef.shape[-1]
    if zi is None:
        zi = x.new_zeros(x.shape[0], k_stages + 1)
    elif zi.shape != (x.shape[0], k_stages + 1):
        raise ValueError(f"Unexpected shape for `zi`: expected {(x.shape[0], k_stages + 1)}, found {tuple(zi.shape)}")
    dtype = x.dtype
    if _composed(x):
        return _maybe_zf(allpass_chain_composed(x, coef.to(dtype), g2.to(dtype), zi.to(dtype),
                                                STAGE_FORMS.index(form), int(feedback_delay)), return_zf)
    y, zf = ChainLoopFunction.apply(
        x.contiguous(), coef.to(dtype).contiguous(), g2.to(dtype).contiguous(), zi.to(dtype).contiguous(),
        STAGE_FORMS.index(form), int(feedback_delay),
    )
    return (y, zf) if return_zf else y

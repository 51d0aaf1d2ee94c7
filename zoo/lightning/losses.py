"""Training losses: thin wrappers around auraloss with an optional pre-emphasis filter.

Every loss here takes ``(prediction, target)`` audio shaped (B, C, T) and returns a scalar. Each
wrapper accepts a ``pre_emphasis`` option that filters both signals before the loss:

- ``"none"``: no filter.
- ``"highpass"``: the first-order high-pass H(z) = 1 - c z^-1 (``pre_emphasis_coef`` = c,
  0.85 by default; Wright & Välimäki, "Perceptual loss function for neural modelling of audio
  systems", ICASSP 2020).
- ``"compressor"``: H(z) = (1 - z^-1) / (1 - 0.995 z^-1), the pre-filter of the paper's
  compressor experiments (Yu et al., DAFx 2024, Sec. 4.3); ``pre_emphasis_coef`` is then the pole
  (0.995 by default).

Losses hold no learnable parameters and no persistent buffers, and they live in the
`zoo.lightning.EffectModule`, never inside an effect: an effect's ``state_dict`` (and the weights
exported from a checkpoint) holds only the effect.

Example (YAML for ``zoo train``)::

    model:
      loss:
        class_path: zoo.lightning.losses.CompositeLoss
        init_args:
          losses:
            - class_path: zoo.lightning.losses.ESRLoss
            - class_path: zoo.lightning.losses.DCLoss
          weights: [1.0, 0.1]
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from zoo.filters import lfilter

try:
    import auraloss
except ImportError as error:  # pragma: no cover - exercised only without the extra installed
    raise ImportError("zoo.lightning.losses needs auraloss: pip install 'allpole-zoo[train]'") from error

__all__ = [
    "PreEmphasis",
    "ESRLoss",
    "DCLoss",
    "L1Loss",
    "MRSTFTLoss",
    "CompositeLoss",
    "PRE_EMPHASIS_KINDS",
    "loss_components",
]

#: Accepted values of ``pre_emphasis``.
PRE_EMPHASIS_KINDS: tuple[str, ...] = ("none", "highpass", "compressor")

_DEFAULT_COEF = {"none": 0.0, "highpass": 0.85, "compressor": 0.995}


def _check_pair(prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape:
        raise ValueError(
            f"Unexpected shape for `prediction`: expected {tuple(target.shape)} (the shape of `target`), "
            f"found {tuple(prediction.shape)}"
        )


class PreEmphasis(nn.Module):
    r"""Fixed pre-emphasis filter applied to audio before a loss.

    .. math::
        H_\text{highpass}(z) = 1 - c z^{-1}, \qquad
        H_\text{compressor}(z) = \frac{1 - z^{-1}}{1 - c z^{-1}}

    The high-pass form is the usual first-order pre-emphasis (Wright & Välimäki 2020); the second
    is the compressor pre-filter of Yu et al. (DAFx 2024, Sec. 4.3) with c = 0.995, run with
    `zoo.filters.lfilter`.

    Args:
        kind: ``"none"``, ``"highpass"`` or ``"compressor"``. Default ``"none"``.
        coef: c above, in [0, 1). Default: 0.85 for ``"highpass"``, 0.995 for ``"compressor"``.

    Shape:
        - x: (..., T)
        - returns: (..., T), same dtype and device.

    Raises:
        ValueError: unknown ``kind`` or ``coef`` outside [0, 1).

    Supports: CPU and CUDA, float32 and float64, autograd.
    """

    def __init__(self, kind: str = "none", coef: float | None = None) -> None:
        super().__init__()
        if kind not in PRE_EMPHASIS_KINDS:
            raise ValueError(f"Unexpected value for `pre_emphasis`: expected one of {PRE_EMPHASIS_KINDS}, found {kind!r}")
        coef = _DEFAULT_COEF[kind] if coef is None else float(coef)
        if not 0.0 <= coef < 1.0:
            raise ValueError(f"Unexpected value for `pre_emphasis_coef`: expected a value in [0, 1), found {coef}")
        self.kind = kind
        self.coef = coef

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "none":
            return x
        if self.kind == "highpass":
            # y[n] = x[n] - c x[n-1], with x[-1] = 0.
            return torch.cat([x[..., :1], x[..., 1:] - self.coef * x[..., :-1]], dim=-1)
        b = x.new_tensor([1.0, -1.0])
        a = x.new_tensor([-self.coef])
        return lfilter(b, a, x)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, coef={self.coef}"


class _WrappedLoss(nn.Module):
    """Shared plumbing: pre-emphasis, shape check, then the wrapped criterion."""

    def __init__(self, pre_emphasis: str = "none", pre_emphasis_coef: float | None = None) -> None:
        super().__init__()
        self.pre_emphasis = PreEmphasis(pre_emphasis, pre_emphasis_coef)

    #: the wrapped criterion (an auraloss module), set by subclasses that do not override `criterion`
    loss: nn.Module

    def criterion(self, prediction: Tensor, target: Tensor) -> Tensor:
        return self.loss(prediction, target)

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        _check_pair(prediction, target)
        return self.criterion(self.pre_emphasis(prediction), self.pre_emphasis(target))


class ESRLoss(_WrappedLoss):
    r"""Error-to-signal ratio, the paper's phaser and compressor metric (auraloss ``ESRLoss``).

    .. math:: \mathrm{ESR} = \frac{\sum_n (y_n - \hat y_n)^2}{\sum_n y_n^2 + \epsilon}

    computed per item and channel, then averaged.

    Args:
        pre_emphasis: see `PreEmphasis`. Default ``"none"``.
        pre_emphasis_coef: see `PreEmphasis`. Default: the kind's default.
        eps: ε above. Default 1e-8.

    Shape:
        - prediction, target: (B, C, T)
        - returns: scalar.
    """

    def __init__(self, pre_emphasis: str = "none", pre_emphasis_coef: float | None = None, eps: float = 1e-8) -> None:
        super().__init__(pre_emphasis, pre_emphasis_coef)
        self.loss = auraloss.time.ESRLoss(eps=eps)


class DCLoss(_WrappedLoss):
    r"""DC error relative to the target's power (auraloss ``DCLoss``).

    .. math:: \frac{\left(\frac1T \sum_n (y_n - \hat y_n)\right)^2}{\frac1T \sum_n y_n^2 + \epsilon}

    Args:
        pre_emphasis: see `PreEmphasis`. Default ``"none"`` (a high-pass would remove the DC).
        pre_emphasis_coef: see `PreEmphasis`.
        eps: ε above. Default 1e-8.

    Shape:
        - prediction, target: (B, C, T)
        - returns: scalar.
    """

    def __init__(self, pre_emphasis: str = "none", pre_emphasis_coef: float | None = None, eps: float = 1e-8) -> None:
        super().__init__(pre_emphasis, pre_emphasis_coef)
        self.loss = auraloss.time.DCLoss(eps=eps)


class L1Loss(_WrappedLoss):
    r"""Mean absolute error, the compressor's training loss (with ``pre_emphasis="compressor"``).

    .. math:: \frac{1}{BCT} \sum |y - \hat y|

    Args:
        pre_emphasis: see `PreEmphasis`. Default ``"none"``.
        pre_emphasis_coef: see `PreEmphasis`.

    Shape:
        - prediction, target: (B, C, T)
        - returns: scalar.
    """

    def criterion(self, prediction: Tensor, target: Tensor) -> Tensor:
        return torch.nn.functional.l1_loss(prediction, target)


class MRSTFTLoss(_WrappedLoss):
    """Multi-resolution STFT loss (auraloss ``MultiResolutionSTFTLoss``), the synth's training loss.

    Spectral convergence plus log-magnitude distance, averaged over FFT sizes (Yamamoto et al.,
    "Parallel WaveGAN", ICASSP 2020; Steinmetz & Reiss, "auraloss", DMRN 2020).

    Args:
        fft_sizes: FFT sizes. Default (1024, 2048, 512).
        hop_sizes: hops, one per FFT size. Default (120, 240, 50).
        win_lengths: window lengths, one per FFT size. Default (600, 1200, 240).
        w_sc: weight of spectral convergence. Default 1.0.
        w_log_mag: weight of the log-magnitude term. Default 1.0.
        w_lin_mag: weight of the linear-magnitude term. Default 0.0.
        pre_emphasis: see `PreEmphasis`. Default ``"none"``.
        pre_emphasis_coef: see `PreEmphasis`.

    Shape:
        - prediction, target: (B, C, T) with T at least the largest window length.
        - returns: scalar.

    Raises:
        ValueError: the three size lists differ in length.
    """

    def __init__(
        self,
        fft_sizes: Sequence[int] = (1024, 2048, 512),
        hop_sizes: Sequence[int] = (120, 240, 50),
        win_lengths: Sequence[int] = (600, 1200, 240),
        w_sc: float = 1.0,
        w_log_mag: float = 1.0,
        w_lin_mag: float = 0.0,
        pre_emphasis: str = "none",
        pre_emphasis_coef: float | None = None,
    ) -> None:
        super().__init__(pre_emphasis, pre_emphasis_coef)
        if not len(fft_sizes) == len(hop_sizes) == len(win_lengths):
            raise ValueError(
                "Unexpected lengths for `fft_sizes`, `hop_sizes`, `win_lengths`: expected equal lengths, found "
                f"{len(fft_sizes)}, {len(hop_sizes)}, {len(win_lengths)}"
            )
        self.loss = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=list(fft_sizes),
            hop_sizes=list(hop_sizes),
            win_lengths=list(win_lengths),
            w_sc=w_sc,
            w_log_mag=w_log_mag,
            w_lin_mag=w_lin_mag,
        )

    def criterion(self, prediction: Tensor, target: Tensor) -> Tensor:
        # auraloss builds its windows in the input dtype only for float32; compute in the input's
        # dtype anyway so that float64 training stays float64 end to end.
        return self.loss(prediction, target)


class CompositeLoss(nn.Module):
    r"""Weighted sum of losses: :math:`L = \sum_k w_k L_k(\hat y, y)`.

    The terms are kept so that a training loop can log each one (`components`).

    Args:
        losses: the terms, each a module called as ``loss(prediction, target)``.
        weights: one weight per term. Default: all 1.
        names: one name per term (used as log keys). Default: the snake-cased class names
            (``ESRLoss`` -> ``"esr"``), made unique with a numeric suffix.

    Shape:
        - prediction, target: (B, C, T)
        - returns: scalar.

    Raises:
        ValueError: empty ``losses``, or ``weights``/``names`` of the wrong length, or duplicate names.
    """

    def __init__(
        self,
        losses: Sequence[nn.Module],
        weights: Sequence[float] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        losses = list(losses)
        if not losses:
            raise ValueError("Unexpected value for `losses`: expected at least one loss, found none")
        weights = [1.0] * len(losses) if weights is None else [float(w) for w in weights]
        if len(weights) != len(losses):
            raise ValueError(f"Unexpected length for `weights`: expected {len(losses)} (one per loss), found {len(weights)}")
        if names is None:
            names = []
            for loss in losses:
                base = _loss_name(loss)
                name, k = base, 1
                while name in names:
                    k += 1
                    name = f"{base}{k}"
                names.append(name)
        names = list(names)
        if len(names) != len(losses) or len(set(names)) != len(names):
            raise ValueError(f"Unexpected value for `names`: expected {len(losses)} unique names, found {names}")
        self.losses = nn.ModuleList(losses)
        self.weights = weights
        self.names = names

    def components(self, prediction: Tensor, target: Tensor) -> dict[str, Tensor]:
        """Every term (unweighted) by name, plus ``"loss"``, the weighted sum."""
        out: dict[str, Tensor] = {}
        total = prediction.new_zeros(())
        for name, weight, loss in zip(self.names, self.weights, self.losses):
            value = loss(prediction, target)
            out[name] = value
            total = total + weight * value
        out["loss"] = total
        return out

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return self.components(prediction, target)["loss"]


def _loss_name(loss: nn.Module) -> str:
    name = type(loss).__name__
    if name.endswith("Loss") and len(name) > 4:
        name = name[:-4]
    return name.lower()


def loss_components(loss: nn.Module, prediction: Tensor, target: Tensor) -> dict[str, Tensor]:
    """``{"loss": total, <term>: value, ...}`` for any loss module (terms only for `CompositeLoss`)."""
    if isinstance(loss, CompositeLoss):
        return loss.components(prediction, target)
    return {"loss": loss(prediction, target)}

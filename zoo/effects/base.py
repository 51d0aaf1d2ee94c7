"""The contract every effect in the zoo fulfils.

An effect is plain differentiable DSP: an ``nn.Module`` whose learnable parameters are named and
bounded (unconstrained tensors mapped to physical ranges), built on `zoo.filters`. It has a
time-domain (TD) implementation on the all-pole layer and a frequency-sampling (FS) twin, chosen
by ``method`` and switchable after training (the paper tests FS-trained models with TD inference).

Batches are dicts of tensors (see `zoo.data`): ``"input"`` (B, C, T) dry audio for audio effects,
``"target"`` (B, C, T) the audio to match, plus effect-specific conditioning (the synth's
``"f0_hz"`` (B,) and ``"note_on_samples"`` (B,)). ``forward_batch`` maps a batch to a prediction
shaped like ``batch["target"]``; the LightningModules in `zoo.lightning` call only this.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from ..filters.dispatch import can_stream_lean


class Effect(nn.Module):
    """Base class: a differentiable audio effect with a TD and an FS implementation.

    Subclasses set ``methods`` (the allowed values of ``method``) and implement ``forward_batch``,
    ``learned_parameters`` and ``control_curves``.
    """

    methods: tuple[str, ...] = ("td", "fs")
    #: constructor arguments that may be +-Inf (never NaN); every other number must be finite
    infinite_args: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Record the constructor arguments of every effect, so that `zoo.hub` can save a config.json
        from which the same effect is rebuilt (as huggingface_hub's ModelHubMixin does), and reject
        NaN or Inf in any of them (`check_finite_arg`) before the effect is built."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: "Effect", *args: Any, **kw: Any) -> None:
            if "_init_args" not in self.__dict__:  # the outermost constructor records
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                recorded: dict[str, Any] = {}
                for key, value in list(bound.arguments.items())[1:]:
                    if signature.parameters[key].kind is inspect.Parameter.VAR_KEYWORD:
                        recorded.update(value)
                    elif signature.parameters[key].kind is not inspect.Parameter.VAR_POSITIONAL:
                        recorded[key] = value
                allowed = getattr(type(self), "infinite_args", ())
                for key, value in recorded.items():
                    check_finite_arg(value, key, allow_infinite=key in allowed)
                self.__dict__["_init_args"] = recorded
            init(self, *args, **kw)

        cls.__init__ = recording_init  # type: ignore[method-assign]

    @property
    def init_args(self) -> dict[str, Any]:
        """The keyword arguments this effect was built with (what `zoo.hub` saves as its config)."""
        return dict(self.__dict__.get("_init_args", {}))

    def __init__(self, sample_rate: float, method: str) -> None:
        super().__init__()
        if sample_rate <= 0:
            raise ValueError(f"Unexpected value for `sample_rate`: expected > 0 (Hz), found {sample_rate}")
        self.sample_rate = float(sample_rate)
        self.method = method

    @property
    def method(self) -> str:
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        if value not in self.methods:
            raise ValueError(f"Unexpected value for `method`: expected one of {self.methods}, found {value!r}")
        self._method = value

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        """Prediction for a batch dict, shaped like ``batch["target"]``."""
        raise NotImplementedError

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        """The global parameters in physical units (e.g. ``{"ratio": 4.0, "attack_ms": 3.1}``)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ streaming
    def process_block(self, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Process one block of a longer signal, carrying ``state`` between blocks.

        Concatenating the outputs of consecutive blocks equals one pass over the whole signal.
        ``state`` is None for the first block. Effects that can stream override this.

        Shape:
            x: (B, C, T_block) -> (B, C, T_block)
        """
        raise NotImplementedError(f"{type(self).__name__} does not support block processing")

    @property
    def supports_streaming(self) -> bool:
        return type(self).process_block is not Effect.process_block

    def reset_stream(self) -> None:
        """Forget the state of `stream` (start a new signal)."""
        self.__dict__["_stream_state"] = None

    def stream(self, block: Tensor) -> Tensor:
        """Stateful block processing: ``effect.stream(b1); effect.stream(b2); ...`` equals one pass.

        Call `reset_stream` before a new signal. Blocks may have any length. A float32 CPU block
        with no gradient wanted (``torch.no_grad()``/``inference_mode()``, or no parameter requiring
        one) takes the lean path of `zoo.effects.lean_stream` where the effect's structure has one
        (one Numba call per block, same output and state).
        """
        block = check_audio(block, "block")
        state = self.__dict__.get("_stream_state")
        if can_stream_lean(block):
            from .lean_stream import lean_stream_for  # here, not at the top: lean_stream imports the effect packages

            lean = lean_stream_for(self)
            result = lean.process(block, state) if lean is not None and lean.ready(block) else None
            if result is not None:
                self.__dict__["_stream_state"] = result[1]
                return result[0]
        y, state = self.process_block(block, state)
        self.__dict__["_stream_state"] = state
        return y

    @torch.no_grad()
    def control_curves(self, batch: Mapping[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """Named curves for plotting learned controls: ``{"name": (x_values, y_values)}`` (1-D tensors).

        E.g. the phaser's LFO (time s -> all-pass coefficient), the compressor's static gain curve
        (input dB -> output dB), the synth's cutoff trajectory (time s -> Hz, for the first item of
        ``batch``).
        """
        raise NotImplementedError


def check_audio(x: Tensor, name: str = "x", *, min_samples: int = 0) -> Tensor:
    """Check that ``x`` is floating (B, C, T) audio with T >= ``min_samples``; raise a clear error otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor, found {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"Unexpected dtype for `{name}`: expected a floating point dtype, found {x.dtype}")
    if x.dim() != 3:
        raise ValueError(f"Unexpected shape for `{name}`: expected (B, C, T), found {tuple(x.shape)}")
    if x.shape[-1] < min_samples:
        raise ValueError(
            f"Unexpected shape for `{name}`: expected (B, C, T) with T >= {min_samples} samples, "
            f"found {tuple(x.shape)}"
        )
    return x


def check_finite_arg(value: Any, name: str, *, allow_infinite: bool = False) -> None:
    """Raise ``ValueError`` if the constructor argument ``name`` holds NaN or Inf.

    Numbers, tensors and arrays are checked, and so are the items of lists, tuples and dicts
    (named ``name[i]`` / ``name['key']``); anything else (strings, modules, None) is left alone.
    With ``allow_infinite`` a number may be +-Inf (an effect's ``infinite_args``), never NaN.
    """
    import numbers

    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return
    if isinstance(value, numbers.Real):
        if allow_infinite and not math.isnan(float(value)):
            return
        if not math.isfinite(float(value)):
            raise ValueError(f"Unexpected value for `{name}`: expected a finite number, found {float(value)}")
        return
    if isinstance(value, numbers.Complex):
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise ValueError(f"Unexpected value for `{name}`: expected a finite number, found {value}")
        return
    if isinstance(value, Tensor):
        if (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value.detach()).all()):
            raise ValueError(f"Unexpected value for `{name}`: expected finite values, found NaN or Inf in a tensor")
        return
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        import numpy as np

        if value.dtype.kind in "fc" and not bool(np.isfinite(value).all()):
            raise ValueError(f"Unexpected value for `{name}`: expected finite values, found NaN or Inf in an array")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_finite_arg(item, f"{name}[{i}]", allow_infinite=allow_infinite)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_finite_arg(item, f"{name}[{key!r}]", allow_infinite=allow_infinite)

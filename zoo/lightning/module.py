"""`EffectModule`: one thin LightningModule that trains any `zoo.effects.Effect`.

The module owns the training concerns (loss, metrics, optimiser, precision, the TD/FS switch) and
nothing else: the effect is plain DSP and is called only through ``effect.forward_batch(batch)``.
The loss and the metrics are kept out of the effect, so ``effect.state_dict()`` (and the
``effect.*`` weights of a Lightning checkpoint, see `effect_state_dict`) hold only the effect.

Notes on the options (how the paper trains, Yu et al., DAFx 2024, Sec. 4):

- **Gradient clipping** belongs to the Trainer: ``trainer.gradient_clip_val: 0.5`` (and
  ``gradient_clip_algorithm: norm``, the default) reproduces the paper's clipping of the gradient
  norm at 0.5 for the phaser and the synth.
- **TD or FS.** ``method`` sets the effect's implementation for training; ``val_method`` and
  ``test_method`` switch it for validation and testing only (default: the training method), so an
  FS-trained model can be evaluated with TD inference, as the paper's tables do.
- **float64.** ``double: true`` converts the effect and every floating tensor of each batch to
  float64 (the Trainer's ``precision: 64-true`` does the same at the Trainer level; use one or the
  other). float32 is enough for the compressor and the synth (the paper trains both in float32);
  the phaser is trained in float64 by the paper's code because float32 training exploded once the
  all-pass coefficient passed p > 0.98 (poles close to the unit circle amplify rounding errors in
  the recursion). The FS compressor baseline also needs float64.
- **Optimiser and LR scheduler** are init arguments (dependency injection, which works the same from
  Python and from jsonargparse/LightningCLI)::

      model:
        optimizer:
          class_path: torch.optim.Adam
          init_args: {lr: 5.0e-4}
        lr_scheduler:
          class_path: torch.optim.lr_scheduler.StepLR
          init_args: {step_size: 1000, gamma: 0.5}

  or from Python ``EffectModule(effect, optimizer=functools.partial(torch.optim.Adam, lr=5e-4))``.
- **Non-finite losses.** With ``check_finite`` (the default), a NaN/Inf training loss or gradient
  raises `NonFiniteLossError` inside the training step, before the optimiser step and before any
  checkpoint of that step is written, with a message pointing at float64 or a lower learning rate.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Union

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from zoo.effects.base import Effect

try:
    import lightning.pytorch as pl
except ImportError as error:  # pragma: no cover
    raise ImportError("zoo.lightning needs PyTorch Lightning: pip install 'allpole-zoo[train]'") from error

from .losses import ESRLoss, L1Loss, MRSTFTLoss, loss_components

__all__ = [
    "EffectModule",
    "NonFiniteLossError",
    "effect_state_dict",
    "load_effect_weights",
    "OptimizerFactory",
    "SchedulerFactory",
]

#: A callable that builds an optimiser from parameters (e.g. ``torch.optim.Adam`` or a partial).
OptimizerFactory = Callable[[Iterable], Optimizer]
#: A callable that builds an LR scheduler from an optimiser (e.g. ``torch.optim.lr_scheduler.StepLR``).
SchedulerFactory = Callable[[Optimizer], Union[LRScheduler, ReduceLROnPlateau]]

_EFFECT_PREFIX = "effect."


class NonFiniteLossError(RuntimeError):
    """Raised when the training loss or a gradient is NaN or Inf (the run stops, nothing is saved)."""


def _non_finite_message(what: str, value: str, step: int, epoch: int, batch_idx: int | None, dtype: torch.dtype) -> str:
    where = f"global step {step}, epoch {epoch}" + ("" if batch_idx is None else f", batch {batch_idx}")
    hints = []
    if dtype != torch.float64:
        hints.append(
            f"train in float64 (`--model.double true` or `--trainer.precision 64-true`; the effect runs in {dtype}): "
            "recursive filters with poles near the unit circle lose precision in float32 "
            "(the paper's phaser exploded in float32 once the all-pass coefficient passed 0.98)"
        )
    hints.append("lower the learning rate (`--model.optimizer.init_args.lr ...`)")
    hints.append("clip gradients (`--trainer.gradient_clip_val 0.5`)")
    return (
        f"Non-finite {what} ({value}) at {where}. The run was stopped before the optimiser step and "
        "before any checkpoint of this step was written; the last good checkpoint is untouched. Try: "
        + "; ".join(hints)
        + "."
    )


def effect_state_dict(checkpoint: Mapping[str, Any] | str | os.PathLike) -> dict[str, Tensor]:
    """The effect's weights from an `EffectModule` Lightning checkpoint, keys without ``effect.``.

    Args:
        checkpoint: a loaded checkpoint dict (with ``"state_dict"``) or a path to a ``.ckpt`` file.

    Returns:
        A state dict that loads into a bare effect with ``effect.load_state_dict(sd)``.

    Raises:
        ValueError: the checkpoint holds no ``effect.*`` weights.
    """
    if not isinstance(checkpoint, Mapping):
        checkpoint = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint)
    out = {k[len(_EFFECT_PREFIX) :]: v for k, v in state.items() if k.startswith(_EFFECT_PREFIX)}
    if not out:
        raise ValueError(
            "Unexpected value for `checkpoint`: expected an EffectModule checkpoint with `effect.*` weights, "
            f"found keys {sorted(state)[:5]}"
        )
    return out


def _find_weights_file(path: Path) -> Path:
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"Unexpected value for `pretrained`: {str(path)!r} is neither a file nor a directory")
    for name in ("model.safetensors", "effect.safetensors", "weights.safetensors"):
        if (path / name).is_file():
            return path / name
    found = sorted(path.glob("*.safetensors"))
    if len(found) == 1:
        return found[0]
    ckpts = sorted(path.glob("*.ckpt"))
    if not found and len(ckpts) == 1:
        return ckpts[0]
    raise FileNotFoundError(
        f"Unexpected value for `pretrained`: expected a directory with one *.safetensors file "
        f"(model.safetensors preferred), found {[p.name for p in found + ckpts]} in {str(path)!r}"
    )


def load_effect_weights(effect: nn.Module, pretrained: str | os.PathLike, *, strict: bool = True) -> Path:
    """Load weights into ``effect`` from a checkpoint directory, a ``.safetensors`` file or a ``.ckpt``.

    A directory (``checkpoints/<name>``) must hold ``model.safetensors`` (or exactly one
    ``*.safetensors``). Keys may carry an ``effect.`` prefix, which is stripped.

    Args:
        effect: the module to load into (in place).
        pretrained: a shipped checkpoint name (``zoo list``), or a path to a directory, a
            ``.safetensors`` file or a Lightning ``.ckpt`` (read with ``weights_only=True``).
        strict: as in ``nn.Module.load_state_dict``. Default True.

    Returns:
        The file that was loaded.

    Raises:
        FileNotFoundError: nothing to load at ``pretrained``.
        ValueError: corrupt weights, or weights that do not match ``effect`` (naming file and key).
        ImportError: safetensors is missing.
    """
    from ..hub import load_state, load_weights, resolve_checkpoint

    path = _find_weights_file(Path(resolve_checkpoint(str(pretrained))))
    if path.suffix == ".ckpt":
        from ..run_export import _load_checkpoint, effect_weights

        state = effect_weights(_load_checkpoint(path), path)
    else:
        state = load_state(path)
        if state and all(k.startswith(_EFFECT_PREFIX) for k in state):
            state = {k[len(_EFFECT_PREFIX) :]: v for k, v in state.items()}
    load_weights(effect, state, path, strict=strict)
    return path


def _to_double(batch: Any) -> Any:
    if isinstance(batch, Tensor):
        return batch.double() if batch.is_floating_point() else batch
    if isinstance(batch, Mapping):
        return {k: _to_double(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_double(v) for v in batch)
    return batch


class EffectModule(pl.LightningModule):
    """Train, validate and test a differentiable effect with one loss and the paper's metrics.

    Args:
        effect: the effect to train (a `zoo.effects.Effect`; only ``forward_batch`` is called).
        loss: training loss, called as ``loss(prediction, target)``; a `CompositeLoss` also logs
            its terms. Default: `ESRLoss` (the paper's phaser loss).
        optimizer: builds the optimiser from the effect's parameters. Default ``torch.optim.Adam``
            (lr 1e-3).
        lr_scheduler: builds an LR scheduler from the optimiser. Default None (constant LR).
        lr_scheduler_interval: ``"step"`` or ``"epoch"``, how often the scheduler steps. Default
            ``"step"`` (the paper counts iterations).
        lr_scheduler_monitor: metric for ``ReduceLROnPlateau``. Default ``"val/loss"``.
        method: the effect's implementation for training (``"td"``, ``"fs"``, ...). Default: keep
            the effect's own.
        val_method: implementation for validation. Default: the training method.
        test_method: implementation for testing and prediction. Default: the training method.
        double: convert the effect and each batch's floating tensors to float64. Default False.
        pretrained: initialise the effect from a checkpoint directory (``checkpoints/<name>`` with
            ``model.safetensors``), a ``.safetensors`` file or a Lightning ``.ckpt``. Default None.
        check_finite: stop with `NonFiniteLossError` on a NaN/Inf loss or gradient. Default True.
        metrics_pre_emphasis_coef: c of the 1 - c z^-1 filter for the ``l1_pre`` metric. Default 0.85.
        target_effect: a fixed "teacher" effect: when given, every batch's ``"target"`` is replaced
            by ``target_effect.forward_batch(batch)`` (no gradient), e.g. our own `Compressor` with
            known settings for the paper's digital FF-A/B/C targets. It is not trained and not
            saved in any state_dict. Default None (use the data's targets).

    Logged: ``train/loss`` (+ ``train/loss_<term>`` for a `CompositeLoss`); ``val/loss``, ``val/esr``,
    ``val/mrstft``, ``val/l1_pre`` (and the same under ``test/``).

    Raises:
        TypeError: ``effect`` is not an ``nn.Module`` with ``forward_batch``.
        ValueError: a method name the effect does not offer, or a bad ``lr_scheduler_interval``.
    """

    def __init__(
        self,
        effect: Effect,
        loss: nn.Module | None = None,
        optimizer: OptimizerFactory = torch.optim.Adam,
        lr_scheduler: SchedulerFactory | None = None,
        lr_scheduler_interval: str = "step",
        lr_scheduler_monitor: str = "val/loss",
        method: str | None = None,
        val_method: str | None = None,
        test_method: str | None = None,
        double: bool = False,
        pretrained: str | None = None,
        check_finite: bool = True,
        metrics_pre_emphasis_coef: float = 0.85,
        target_effect: Effect | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(effect, nn.Module) or not callable(getattr(effect, "forward_batch", None)):
            raise TypeError(
                f"Unexpected type for `effect`: expected a zoo.effects.Effect (an nn.Module with forward_batch), "
                f"found {type(effect).__name__}"
            )
        methods = tuple(getattr(effect, "methods", ()))
        for name, value in (("method", method), ("val_method", val_method), ("test_method", test_method)):
            if value is not None and methods and value not in methods:
                raise ValueError(f"Unexpected value for `{name}`: expected one of {methods}, found {value!r}")
        if lr_scheduler_interval not in ("step", "epoch"):
            raise ValueError(
                f"Unexpected value for `lr_scheduler_interval`: expected 'step' or 'epoch', found {lr_scheduler_interval!r}"
            )
        # Hyperparameters: the scalar options (LightningCLI also records the full config).
        self.save_hyperparameters(ignore=["effect", "loss", "optimizer", "lr_scheduler", "target_effect"])
        self.effect = effect
        if method is not None:
            self.effect.method = method
        self.train_method = getattr(effect, "method", None)
        self.val_method = val_method
        self.test_method = test_method
        # The loss is a child of this module, never of the effect (see the module docstring).
        self.loss = loss if loss is not None else ESRLoss()
        self.optimizer_factory = optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.lr_scheduler_interval = lr_scheduler_interval
        self.lr_scheduler_monitor = lr_scheduler_monitor
        self.double_precision = bool(double)
        self.check_finite = bool(check_finite)
        # Metrics hold no state; a plain dict keeps them out of every state_dict.
        self._metrics: dict[str, nn.Module] = {
            "esr": ESRLoss(),
            "l1_pre": L1Loss(pre_emphasis="highpass", pre_emphasis_coef=metrics_pre_emphasis_coef),
        }
        self._mrstft_cache: dict[int, MRSTFTLoss | None] = {}
        # Kept out of the module tree (object.__setattr__), so it is never trained nor checkpointed.
        object.__setattr__(self, "_target_effect", target_effect)
        if target_effect is not None:
            target_effect.requires_grad_(False).eval()
        self.pretrained_path = None if pretrained is None else str(load_effect_weights(self.effect, pretrained))
        if self.double_precision:
            self.effect.double()

    # ----------------------------------------------------------------------------------------------
    # Helpers
    # ----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def use_method(self, method: str | None) -> Iterator[None]:
        """Temporarily switch the effect's implementation (no-op for None or the current one)."""
        current = getattr(self.effect, "method", None)
        if method is None or method == current:
            yield
            return
        self.effect.method = method
        try:
            yield
        finally:
            self.effect.method = current

    def prepare_batch(self, batch: Mapping[str, Tensor]) -> Mapping[str, Tensor]:
        """Apply the ``double`` option to a batch (Lightning has already moved it to the device)."""
        if not isinstance(batch, Mapping) or "target" not in batch:
            raise TypeError(
                "Unexpected value for `batch`: expected a dict with at least 'target' (and 'input' for audio "
                f"effects), found {type(batch).__name__}"
                + (f" with keys {sorted(batch)}" if isinstance(batch, Mapping) else "")
            )
        batch = _to_double(batch) if self.double_precision else batch
        teacher = self._target_effect
        if teacher is not None:
            reference = batch.get("input", batch["target"])
            teacher.to(device=reference.device, dtype=reference.dtype)
            with torch.no_grad():
                batch = {**batch, "target": teacher.forward_batch(batch).to(batch["target"].dtype)}
        return batch

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        """The effect's prediction for ``batch`` (same as ``effect.forward_batch``)."""
        return self.effect.forward_batch(self.prepare_batch(batch))

    def _mrstft_metric(self, num_samples: int) -> MRSTFTLoss | None:
        """auraloss's default resolutions, minus those too long for ``num_samples``."""
        if num_samples not in self._mrstft_cache:
            sizes = [(n, h, w) for n, h, w in ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240)) if n // 2 < num_samples]
            if not sizes:
                sizes = [(n, n // 4, n) for n in (256, 128, 64) if n // 2 < num_samples]
            self._mrstft_cache[num_samples] = (
                MRSTFTLoss(*(list(t) for t in zip(*sizes))) if sizes else None  # type: ignore[arg-type]
            )
        return self._mrstft_cache[num_samples]

    def _evaluate(self, batch: Mapping[str, Tensor], stage: str, method: str | None) -> Tensor:
        batch = self.prepare_batch(batch)
        with self.use_method(method):
            prediction = self.effect.forward_batch(batch)
        target = batch["target"]
        terms = loss_components(self.loss, prediction, target)
        batch_size = target.shape[0]
        sync = self.trainer.world_size > 1 if self._trainer is not None else False
        self.log(f"{stage}/loss", terms["loss"], prog_bar=True, batch_size=batch_size, sync_dist=sync)
        for name, value in terms.items():
            if name != "loss":
                self.log(f"{stage}/loss_{name}", value, batch_size=batch_size, sync_dist=sync)
        metrics = {name: metric(prediction, target) for name, metric in self._metrics.items()}
        mrstft = self._mrstft_metric(target.shape[-1])
        if mrstft is not None:
            metrics["mrstft"] = mrstft(prediction, target)
        for name, value in metrics.items():
            self.log(f"{stage}/{name}", value, batch_size=batch_size, sync_dist=sync)
        return terms["loss"]

    def _raise_if_non_finite(self, finite: Tensor, what: str, value: str, batch_idx: int | None) -> None:
        ok = bool(finite)
        if self._trainer is not None and self.trainer.world_size > 1:
            # Every rank must stop together, or the others would hang in the next all-reduce.
            ok = self.trainer.strategy.reduce_boolean_decision(ok, all=True)
        if not ok:
            step = self.trainer.global_step if self._trainer is not None else 0
            epoch = self.current_epoch if self._trainer is not None else 0
            dtype = next((p.dtype for p in self.effect.parameters()), torch.float32)
            raise NonFiniteLossError(_non_finite_message(what, value, step, epoch, batch_idx, dtype))

    # ----------------------------------------------------------------------------------------------
    # Lightning hooks
    # ----------------------------------------------------------------------------------------------

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        batch = self.prepare_batch(batch)
        prediction = self.effect.forward_batch(batch)
        target = batch["target"]
        terms = loss_components(self.loss, prediction, target)
        loss = terms["loss"]
        if self.check_finite:
            self._raise_if_non_finite(torch.isfinite(loss).all(), "training loss", f"{loss.item():g}", batch_idx)
        batch_size = target.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        for name, value in terms.items():
            if name != "loss":
                self.log(f"train/loss_{name}", value, batch_size=batch_size)
        return loss

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        if not self.check_finite:
            return
        grads = [p.grad for p in self.effect.parameters() if p.grad is not None]
        if grads:
            finite = torch.stack([torch.isfinite(g).all() for g in grads]).all()
            self._raise_if_non_finite(finite, "gradient", "NaN/Inf in at least one parameter's gradient", None)

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        return self._evaluate(batch, "val", self.val_method)

    def test_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        return self._evaluate(batch, "test", self.test_method)

    def predict_step(self, batch: Mapping[str, Tensor], batch_idx: int, dataloader_idx: int = 0) -> Tensor:
        batch = self.prepare_batch(batch)
        with self.use_method(self.test_method):
            return self.effect.forward_batch(batch)

    def configure_optimizers(self) -> Any:
        params = [p for p in self.effect.parameters() if p.requires_grad]
        if not params:
            raise ValueError("Unexpected value for `effect`: it has no trainable parameters")
        optimizer = self.optimizer_factory(params)
        if self.lr_scheduler_factory is None:
            return optimizer
        scheduler = self.lr_scheduler_factory(optimizer)
        config: dict[str, Any] = {"scheduler": scheduler, "interval": self.lr_scheduler_interval}
        if isinstance(scheduler, ReduceLROnPlateau):
            config["monitor"] = self.lr_scheduler_monitor
        return {"optimizer": optimizer, "lr_scheduler": config}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Enough to rebuild the effect without Lightning (see zoo.hub), and the RNG states so that a
        # resumed run draws the same random numbers (shuffling, noise) as an uninterrupted one.
        checkpoint["zoo"] = {
            "effect_class": f"{type(self.effect).__module__}.{type(self.effect).__qualname__}",
            "method": self.train_method,
            "sample_rate": getattr(self.effect, "sample_rate", None),
            "double": self.double_precision,
        }
        checkpoint["zoo_rng_states"] = _collect_rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        states = checkpoint.get("zoo_rng_states")
        if states is not None:
            _set_rng_states(states)


def _collect_rng_states() -> dict[str, Any]:
    import random

    import numpy as np

    # Plain tensors, ints and tuples only, so the checkpoint loads with torch.load(weights_only=True).
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": (str(kind), torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "python": random.getstate(),
    }


def _set_rng_states(states: Mapping[str, Any]) -> None:
    import random

    import numpy as np

    if "torch" in states:
        torch.set_rng_state(states["torch"])
    if "numpy" in states:
        kind, keys, pos, has_gauss, cached = states["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, cached))
    if "python" in states:
        random.setstate(states["python"])

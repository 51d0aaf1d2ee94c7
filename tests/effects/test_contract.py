"""The Effect contract, once, over the registry (`zoo.hub.EFFECTS`): every effect, every method.

For each registered effect and each of its methods (and the device structures `zoo fit` uses):
shape, dtype and device of ``forward_batch``; no NaN on silence, gradients finite and reaching every
parameter; ``gradcheck`` on a tiny float64 case; streaming equal to one pass where the effect
streams; a save/load round trip through `zoo.hub`; the path composed from `zoo.filters` primitives
(what CUDA and other devices run: ``use_backend("torch")`` and ``use_fused(False)``) equal to the
default path, values and gradients. A new effect in the registry fails
`test_every_registered_effect_is_covered` until it has cases here.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from zoo import hub
from zoo.effects.base import Effect
from zoo.filters import use_backend, use_fused

SR_AUDIO = 8000.0
SR_SYNTH = 48000.0
SMALL_SYNTH = {"encoder_width": 8, "encoder_layers": 1, "n_win": 128}

#: (registry name, constructor kwargs, method): the paper's structures with every method, and the device structures
CASES = [
    ("phaser", {"hop": 40, "g2": 0.3}, "td_exact"),
    ("phaser", {"hop": 40, "g2": 0.3}, "td_regrouped"),
    ("phaser", {"hop": 40, "g2": 0.3}, "fs"),
    ("phaser", {"lfo": "sweep", "num_stages": 4, "stage_form": "tpt", "feedback_delay": 1, "stage_maps": True,
                "signed_feedback": True, "g2": -0.3, "lfo_rate_hz": 2.0}, "td_exact"),
    ("compressor", {"threshold_db": -20.0, "ratio": 4.0}, "td"),
    ("compressor", {"threshold_db": -20.0, "ratio": 4.0}, "fs"),
    ("compressor", {"threshold_db": -20.0, "ratio": 4.0, "knee_db": 6.0, "expander_threshold_db": -50.0}, "td"),
    ("compressor", {"threshold_db": -20.0, "ratio": 4.0, "detector": "peak", "smoothing": "level",
                    "topology": "feedforward", "knee_db": 3.0}, "td"),
    ("synth", {"filter_type": "lp", **SMALL_SYNTH}, "td"),
    ("synth", {"filter_type": "lp", **SMALL_SYNTH}, "fs"),
    ("synth", {"filter_type": "coeff", **SMALL_SYNTH}, "td"),
    ("synth", {"filter_type": "coeff", **SMALL_SYNTH}, "fs"),
    ("synth_lstm", {"encoder_width": 8, "encoder_layers": 1}, "td"),
]
#: (registry name, device structure?) -> parameters that structure leaves unused
_UNUSED = {("compressor", True): {"raw_rms"}}
IDS = [f"{name}-{method}-{i}" for i, (name, _, method) in enumerate(CASES)]
SYNTHS = ("synth", "synth_lstm")


def _build(name: str, kwargs: dict, method: str, dtype=torch.float32) -> Effect:
    torch.manual_seed(0)
    rate = SR_SYNTH if name in SYNTHS else SR_AUDIO
    return hub.effect_class(name)(rate, method=method, **kwargs).to(dtype)


def _batch(name: str, n_time: int, dtype, *, silent: bool = False, batch: int = 2) -> dict:
    gen = torch.Generator().manual_seed(1)
    audio = torch.zeros(batch, 1 if name in SYNTHS else 2, n_time, dtype=dtype)
    if not silent:
        audio = 0.3 * torch.randn(audio.shape, generator=gen, dtype=dtype)
    if name in SYNTHS:
        return {"target": audio, "f0_hz": torch.tensor([55.0, 110.0][:batch], dtype=dtype),
                "note_on_samples": torch.tensor([n_time // 2, n_time // 3][:batch])}
    return {"input": audio, "target": audio}


def test_every_registered_effect_is_covered() -> None:
    assert {name for name, _, _ in CASES} == set(hub.EFFECTS)
    for name in hub.EFFECTS:
        methods = {m for n, _, m in CASES if n == name}
        assert methods == set(hub.effect_class(name).methods), name


@pytest.mark.parametrize(("name", "kwargs", "method"), CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device_and_gradients(name: str, kwargs: dict, method: str, dtype) -> None:
    effect = _build(name, kwargs, method, dtype)
    assert isinstance(effect, Effect) and effect.method == method
    batch = _batch(name, 1024, dtype)
    y = effect.forward_batch(batch)
    assert y.shape == batch["target"].shape and y.dtype == dtype and y.device == batch["target"].device
    assert torch.isfinite(y).all()
    (y - batch["target"]).square().mean().backward()
    unused = _UNUSED.get((name, bool(set(kwargs) & {"lfo", "detector"})), set())
    for key, param in effect.named_parameters():
        if key in unused:  # parameters a structure does not use (kept so that every structure has one layout)
            assert param.grad is None, key
            continue
        assert param.grad is not None and torch.isfinite(param.grad).all(), key
    reached = sum(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in effect.parameters())
    assert reached >= 0.5 * len(list(effect.parameters())), "gradients reach too few parameters"


@pytest.mark.parametrize(("name", "kwargs", "method"), CASES, ids=IDS)
def test_silence_gives_no_nan(name: str, kwargs: dict, method: str) -> None:
    effect = _build(name, kwargs, method)
    batch = _batch(name, 512, torch.float32, silent=True)
    y = effect.forward_batch(batch)
    assert torch.isfinite(y).all()
    y.sum().backward()
    for key, param in effect.named_parameters():
        assert param.grad is None or torch.isfinite(param.grad).all(), key


def _small_parameters(effect: Effect, limit: int = 4) -> list[str]:
    """Up to ``limit`` of the effect's parameters with at most 4 elements (the physical controls)."""
    return [k for k, p in effect.named_parameters() if p.numel() <= 4][:limit]


@pytest.mark.parametrize(("name", "kwargs", "method"), CASES, ids=IDS)
def test_gradcheck_on_a_tiny_case(name: str, kwargs: dict, method: str) -> None:
    effect = _build(name, kwargs, method, torch.float64)
    # the FS phaser's STFT needs a longer signal; its gradient w.r.t. the input is then not checked
    # element by element (the TD methods check it)
    n_time = 256 if name in SYNTHS else (1024 if method == "fs" else 96)
    batch = _batch(name, n_time, torch.float64, batch=1)
    if method == "fs" and "input" in batch:
        batch = {k: v.detach() for k, v in batch.items()}
    names = _small_parameters(effect)
    assert names, "no small parameter to check"
    params = dict(effect.named_parameters())

    check_input = "input" in batch and method != "fs"

    def run(*values):
        override = dict(zip(names, values))
        inputs = dict(batch, input=values[-1]) if check_input else batch
        return _forward_batch(effect, {k: override.get(k, v) for k, v in params.items()}, inputs)

    values = [params[k].detach().clone().requires_grad_(True) for k in names]
    if check_input:
        values.append(batch["input"].clone().requires_grad_(True))
    assert torch.autograd.gradcheck(run, tuple(values), eps=1e-6, atol=1e-5, rtol=1e-3)


class _ForwardBatch(torch.nn.Module):
    """``forward_batch`` as ``forward``, so that `torch.func.functional_call` can substitute the weights."""

    def __init__(self, inner: Effect) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, batch: dict) -> torch.Tensor:
        return self.inner.forward_batch(batch)


def _forward_batch(effect: Effect, params: dict, batch: dict) -> torch.Tensor:
    return torch.func.functional_call(_ForwardBatch(effect), {f"inner.{k}": v for k, v in params.items()}, (batch,))


@pytest.mark.parametrize(("name", "kwargs", "method"), [c for c in CASES if c[0] not in SYNTHS and c[2] != "fs"],
                         ids=[i for i, c in zip(IDS, CASES) if c[0] not in SYNTHS and c[2] != "fs"])
def test_streaming_equals_one_pass(name: str, kwargs: dict, method: str) -> None:
    effect = _build(name, kwargs, method, torch.float64).eval()
    assert effect.supports_streaming
    x = _batch(name, 3001, torch.float64)["input"]
    with torch.no_grad():
        whole = effect(x)
        effect.reset_stream()
        sizes = [1, 7, 64, 500, 129, 1000, 1300]
        edges = [0]
        for s in sizes:
            edges.append(min(edges[-1] + s, x.shape[-1]))
        edges.append(x.shape[-1])
        parts = [effect.stream(x[..., a:b]) for a, b in zip(edges[:-1], edges[1:])]
    torch.testing.assert_close(torch.cat(parts, -1), whole, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(("name", "kwargs", "method"), CASES, ids=IDS)
def test_composed_path_equals_default_path(name: str, kwargs: dict, method: str) -> None:
    effect = _build(name, kwargs, method, torch.float64)
    batch = _batch(name, 2048 if name in SYNTHS else 1500, torch.float64)

    def run():
        effect.zero_grad()
        y = effect.forward_batch(batch)
        (y - batch["target"]).square().mean().backward()
        return y.detach(), {k: p.grad.clone() for k, p in effect.named_parameters() if p.grad is not None}

    y, grads = run()
    with use_backend("torch"), use_fused(False):
        y_composed, grads_composed = run()
    torch.testing.assert_close(y_composed, y, rtol=1e-7, atol=1e-9)
    assert grads_composed.keys() == grads.keys()
    for key in grads:
        torch.testing.assert_close(grads_composed[key], grads[key], rtol=1e-6, atol=1e-9, msg=key)


def test_effects_that_cannot_stream_say_so() -> None:
    for name in SYNTHS:
        assert not _build(name, dict(CASES[[c[0] for c in CASES].index(name)][1]), "td").supports_streaming


@pytest.mark.parametrize(("name", "kwargs", "method"), CASES, ids=IDS)
def test_save_load_round_trip(name: str, kwargs: dict, method: str, tmp_path) -> None:
    effect = _build(name, kwargs, method).eval()
    with torch.no_grad():
        for p in effect.parameters():  # not the initial values: the weights must come from the file
            p.add_(0.01 * torch.randn_like(p))
    folder = hub.save_pretrained(effect, tmp_path / "ckpt")
    loaded = hub.from_pretrained(folder).eval()
    assert type(loaded) is type(effect) and loaded.method == method and _json(loaded.init_args) == _json(effect.init_args)
    for (k, p), (_, q) in zip(effect.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=k)
    batch = _batch(name, 777, torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.forward_batch(batch), effect.forward_batch(batch), rtol=0, atol=0)


def _json(value):
    return json.loads(json.dumps(value))


def test_bad_method_is_refused_by_every_effect() -> None:
    for name, kwargs, method in CASES:
        effect = _build(name, kwargs, method)
        with pytest.raises(ValueError, match="method"):
            effect.method = "not-a-method"
        assert math.isfinite(effect.sample_rate)

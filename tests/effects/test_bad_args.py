"""Effects refuse NaN/Inf constructor arguments (naming the argument) and a phaser refuses T = 0.

The finite check lives in `zoo.effects.base.Effect`'s argument recording, so it covers every
registered effect; the parametrised cases below go through the registry as well as by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.effects.base import Effect, check_audio, check_finite_arg
from zoo.effects.compressors import Compressor
from zoo.effects.phasers import Phaser

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: Compressor(sample_rate=44100, threshold_db=NAN), "threshold_db"),
        (lambda: Compressor(sample_rate=44100, threshold_db=-INF), "threshold_db"),
        (lambda: Compressor(sample_rate=44100, ratio=INF), "ratio"),
        (lambda: Compressor(sample_rate=44100, makeup_gain_db=NAN), "makeup_gain_db"),
        (lambda: Compressor(sample_rate=NAN), "sample_rate"),
        (lambda: Phaser(sample_rate=44100, lfo_rate_hz=INF), "lfo_rate_hz"),
        (lambda: Phaser(sample_rate=44100, g2=NAN), "g2"),
        (lambda: Phaser(sample_rate=44100, break_hz_range=(100.0, INF)), r"break_hz_range\[1\]"),
        (lambda: Phaser(44100, 4, None, "td_exact", 8, 3, NAN), "lfo_rate_hz"),  # positional too
    ],
)
def test_non_finite_constructor_argument_is_named(build, name):
    with pytest.raises(ValueError, match=rf"Unexpected value for `{name}`: expected a finite"):
        build()


def test_every_registered_effect_checks_its_float_arguments():
    from zoo.hub import EFFECTS, effect_class  # the one effect registry

    checked = 0
    for name in EFFECTS:
        cls = effect_class(name)
        effect = cls(sample_rate=8000)
        floats = {k: v for k, v in effect.init_args.items() if isinstance(v, float) and k != "sample_rate"}
        for key in floats:
            with pytest.raises(ValueError, match=f"`{key}`"):
                cls(**{**effect.init_args, key: NAN})
            checked += 1
    assert checked >= 10


def test_finite_arguments_still_build_and_are_recorded():
    effect = Compressor(sample_rate=44100, threshold_db=-30.0, ratio=8.0)
    assert effect.init_args["threshold_db"] == -30.0 and effect.init_args["ratio"] == 8.0


def test_check_finite_arg_walks_containers_tensors_and_arrays():
    check_finite_arg({"a": [1.0, (2, 3.5)], "b": "text", "c": None, "d": True}, "opts")
    check_finite_arg(torch.arange(3), "ints")  # integer tensors hold no NaN
    with pytest.raises(ValueError, match=r"`opts\['a'\]\[1\]\[0\]`"):
        check_finite_arg({"a": [1.0, (NAN, 3.5)]}, "opts")
    with pytest.raises(ValueError, match="`weights`.*tensor"):
        check_finite_arg(torch.tensor([0.0, INF]), "weights")
    with pytest.raises(ValueError, match="`curve`.*array"):
        check_finite_arg(np.array([0.0, np.nan]), "curve")
    with pytest.raises(ValueError, match="`x`"):
        check_finite_arg(np.float32("nan"), "x")
    with pytest.raises(ValueError, match="`z`"):
        check_finite_arg(complex(1.0, INF), "z")


def test_infinite_args_opt_in_allows_inf_but_never_nan():
    class Limiter(Effect):
        infinite_args = ("ratio",)

        def __init__(self, sample_rate: float = 8000.0, ratio: float = 2.0, gain: float = 1.0) -> None:
            super().__init__(sample_rate, "td")
            self.ratio = ratio

    assert math.isinf(Limiter(ratio=INF).ratio)
    with pytest.raises(ValueError, match="`ratio`"):
        Limiter(ratio=NAN)
    with pytest.raises(ValueError, match="`gain`"):
        Limiter(gain=INF)


@pytest.mark.parametrize("structure", [{}, {"lfo": "sweep"}])
def test_phaser_with_no_samples_is_a_clear_error(structure):
    try:
        phaser = Phaser(sample_rate=8000, **structure)
    except TypeError:  # an older phaser without the device structures
        pytest.skip("no device structures in this phaser")
    empty = torch.zeros(2, 1, 0)
    with pytest.raises(ValueError, match=r"Unexpected shape for `x`: expected \(B, C, T\) with T >= 1 samples, found \(2, 1, 0\)"):
        phaser(empty)
    with pytest.raises(ValueError, match="T >= 1"):
        phaser.forward_batch({"input": empty, "target": empty, "offset": torch.zeros(2)})
    assert phaser(torch.zeros(2, 1, 1)).shape == (2, 1, 1)  # one sample is fine


def test_check_audio_min_samples_defaults_to_zero():
    assert check_audio(torch.zeros(1, 1, 0)).shape == (1, 1, 0)
    with pytest.raises(ValueError, match="T >= 4"):
        check_audio(torch.zeros(1, 1, 3), min_samples=4)

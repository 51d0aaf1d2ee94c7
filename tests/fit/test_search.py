"""Structure selection: data rendered with K = 8 all-pass stages selects K = 8, or a structure whose
validation ESR is as good."""

from __future__ import annotations

import time

import numpy as np
import torch

from zoo.data.generate import generate_material
from zoo.effects.phasers import Phaser
from zoo.fit.estimators import estimate_lfo_rate, estimate_sweep
from zoo.fit.search import search_phaser

SR = 16000


def test_k8_data_selects_k8_or_an_equal_structure():
    torch.set_num_threads(1)
    x = generate_material("music_mix", SR, 8.0, seed=9).astype(np.float32)
    truth = Phaser(SR, num_stages=8, lfo="sweep", stage_form="df1", feedback_delay=0, signed_feedback=True,
                   lfo_rate_hz=0.9, lfo_phase_rad=1.0, centre_hz=600.0, sweep_octaves=1.5, g2=0.3, g1=0.6)
    with torch.no_grad():
        y = truth(torch.from_numpy(x)[None, None])[0, 0].numpy()
    fit_stop, val_start = int(6.0 * SR), int(4.8 * SR)
    rates = estimate_lfo_rate(x[:val_start], y[:val_start], SR)
    sweep = estimate_sweep(x[:val_start], y[:val_start], SR, rates, num_stages=6)
    result = search_phaser(x, y, SR, fit_stop, val_start, rates, lambda line: None, time.monotonic() + 120, sweep=sweep)
    chosen = result["kwargs"]["num_stages"]
    k8 = [row["val_esr"] for row in result["table"] if row["structure"]["num_stages"] == 8 and "val_esr" in row]
    assert chosen == 8 or (k8 and result["val_esr"] <= 1.05 * min(k8)), result["table"]
    assert result["val_esr"] < 0.05

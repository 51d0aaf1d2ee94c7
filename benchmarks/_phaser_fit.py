"""Shared code of results_phaser.py and results_phaser_ablations.py (paper Sec. 4.1, Table 2).

Known digital targets are our `Phaser` (td_exact, float64) with set parameters: a cosine LFO (sigma 0)
at a known rate and phase, a fixed monotone MLP (one path of tanh units with gains 1.5), break range
150-2500 Hz, g1 = 0.7, g2 = 0 ("feedback off", sigmoid logit -30) or 0.6, identity biquad.

Learners start from a shared initial LFO: the rate is set to the true rate (an oracle; a free
grid search over 16 rates fell into octave errors, e.g. 1.24 Hz for a 0.6 Hz target), the phase is the
best of 8 on the untrained model's training loss (forward passes only, td_regrouped; the MLP initialised as a monotone tanh path of gain 1, plus 0.1 x
its random init, i.e. a plain cosine sweep of the default 100-2000 Hz break range): the LFO fit is non-convex, and the paper instead picks the best of
several seeds over 10k steps, which we cannot afford here. Training: Adam (lr 0.02, cosine decay to 0),
ESR loss, gradient-norm clipping at 0.5 (the authors' code), full batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from _results_common import CpuTimer, esr, esr_loss
from zoo.data.generate import chirp_then_pluck
from zoo.effects.phasers import Phaser

SAMPLE_RATE = 16000


def material(train_s: float, test_extra_s: float, seed: int = 0) -> torch.Tensor:
    """Chirp train (the training segment) followed by plucks, (1, 1, T) float64."""
    x = chirp_then_pluck(SAMPLE_RATE, train_s + test_extra_s, seed=seed, chirp_s=train_s)
    return torch.from_numpy(x).double().reshape(1, 1, -1)


def known_target(rate_hz: float, g2: float, *, phase_rad: float = 1.0, hop: int = 160, num_stages: int = 4,
                 break_hz_range=(150.0, 2500.0)) -> Phaser:
    """A frozen Phaser with known settings (see the module docstring)."""
    t = Phaser(SAMPLE_RATE, num_stages=num_stages, hop=hop, method="td_exact", lfo_rate_hz=rate_hz,
               lfo_phase_rad=phase_rad, break_hz_range=break_hz_range, g1=0.7, g2=0.5).double()
    with torch.no_grad():
        t.lfo.oscillator.sigma.zero_()
        set_mlp_path(t, 1.5, 0.0)
        t.g2_logit.fill_(-30.0 if g2 == 0 else math.log(g2 / (1 - g2)))
    t.requires_grad_(False)
    return t


def set_mlp_path(model: Phaser, gain: float, noise: float) -> None:
    """Make the LFO MLP a monotone single path of tanh units with weight ``gain`` (plus ``noise`` times
    its random init elsewhere): a plain cosine sweep of the break range."""
    with torch.no_grad():
        for layer in model.lfo.mlp.net:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.mul_(noise)
                layer.bias.mul_(noise)
                layer.weight[0, 0] = gain


def pedalboard_target(x: torch.Tensor, **params) -> torch.Tensor:
    """pedalboard.Phaser (JUCE dsp::Phaser) rendered from a reset state, float64 (1, 1, T)."""
    import pedalboard

    wet = pedalboard.Phaser(**params)(x[0].float().numpy(), SAMPLE_RATE, reset=True)
    return torch.from_numpy(np.asarray(wet, dtype=np.float64)).reshape(1, 1, -1)


def grid_init(x: torch.Tensor, y: torch.Tensor, hop: int, num_stages: int = 4, seed: int = 0,
              rates=None) -> tuple[float, float]:
    """Best (rate_hz, phase_rad) of the untrained model on (x, y) over a coarse grid (``rates``: the
    rates to try, default 16 log-spaced in 0.05-4 Hz)."""
    best = (float("inf"), 1.0, 0.0)
    torch.manual_seed(seed)
    model = Phaser(SAMPLE_RATE, num_stages=num_stages, hop=hop, method="td_regrouped").double()
    set_mlp_path(model, 1.0, 0.1)
    with torch.no_grad():
        for rate in (np.geomspace(0.05, 4.0, 16) if rates is None else rates):
            for phase in np.arange(8) * (2 * math.pi / 8):
                model.lfo.oscillator.log_rate.fill_(math.log(rate))
                model.lfo.oscillator.phase.fill_(phase)
                loss = esr(model(x), y)
                if loss < best[0]:
                    best = (loss, float(rate), float(phase))
    return best[1], best[2]


def train(method: str, x_train, y_train, *, hop: int, rate_hz: float, phase_rad: float, steps: int,
          num_stages: int = 4, dtype=torch.float64, seed: int = 0, lr: float = 0.02, clip: float | None = 0.5) -> dict:
    """Train a Phaser with ``method``; returns the model, losses and CPU time."""
    torch.manual_seed(seed)
    model = Phaser(SAMPLE_RATE, num_stages=num_stages, hop=hop, method=method, lfo_rate_hz=rate_hz,
                   lfo_phase_rad=phase_rad)
    set_mlp_path(model, 1.0, 0.1)
    model = model.to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    x, y = x_train.to(dtype), y_train.to(dtype)
    cpu, losses, diverged = 0.0, [], False
    for _ in range(steps):
        with CpuTimer() as t:
            opt.zero_grad(set_to_none=True)
            loss = esr_loss(model(x), y)
            if not torch.isfinite(loss):
                diverged = True
            else:
                loss.backward()
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                opt.step()
                sched.step()
        cpu += t.seconds
        losses.append(float(loss.detach()))
        if diverged or not all(torch.isfinite(p).all() for p in model.parameters()):
            diverged = True
            break
    return {"model": model, "losses": losses, "cpu_s": cpu, "diverged": diverged,
            "cpu_ms_per_step": 1e3 * cpu / max(1, len(losses))}


@torch.no_grad()
def evaluate(model: Phaser, x, y, n_train: int) -> dict:
    """Test ESR (%) with each inference method, on train + following audio (the paper's test set) and
    on the following audio only; the model is run in float64 from the start, so the LFO phase stays aligned."""
    out = {}
    saved = model.method
    model64 = model.double()
    for inf in ("fs", "td_regrouped", "td_exact"):
        model64.method = inf
        pred = model64(x)
        out[inf] = 100 * esr(pred, y)
        out[inf + "_heldout"] = 100 * esr(pred[..., n_train:], y[..., n_train:])
    model64.method = saved
    return out

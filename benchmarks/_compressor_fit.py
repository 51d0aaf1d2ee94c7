"""Shared code of results_compressor_digital.py and results_compressor_real.py (paper Sec. 4.3, Table 5).

Fit `zoo.effects.Compressor` (TD = Algorithm 1, FS = attack = release, frequency-sampled) to targets,
both from the paper's initial values, with the paper's optimiser (SGD, lr 100, momentum 0.9, full batch,
MAE after the pre-filter (1 - z^-1)/(1 - 0.995 z^-1)) plus a cosine decay of the learning rate to 0
(without it SGD at lr 100 keeps oscillating around the optimum: test ESR ~1 % after 1000 steps on FF-A
instead of ~1e-7 %).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from _results_common import CpuTimer, esr, fmt, pyplot, save_figure, single_thread
from zoo.data.generate import music_mix
from zoo.effects.compressors import Compressor
from zoo.filters import lfilter

PAPER_INIT = dict(threshold_db=-10.0, ratio=2.0, attack_ms=50.0, release_ms=50.0, rms_coef=0.3, makeup_gain_db=0.0)
#: loud/quiet sections of 0.5-2 s, so that even short clips contain both
SECTION_S = (0.5, 2.0)
PARAM_KEYS = ("threshold_db", "ratio", "attack_ms", "release_ms", "rms_coef", "makeup_gain_db")


def data(sample_rate: int, train_s: float, test_s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Dry programme material: train on music_mix seed 0, test on a different mix (seed 1)."""
    x_train = torch.from_numpy(music_mix(sample_rate, train_s, seed=0, section_s=SECTION_S)).reshape(1, 1, -1)
    x_test = torch.from_numpy(music_mix(sample_rate, test_s, seed=1, section_s=SECTION_S)).reshape(1, 1, -1)
    return x_train, x_test


def prefilter(y: torch.Tensor) -> torch.Tensor:
    """(1 - z^-1) / (1 - 0.995 z^-1), the paper's loss pre-filter."""
    b = torch.tensor([1.0, -1.0], dtype=y.dtype)
    a = torch.tensor([-0.995], dtype=y.dtype)
    return lfilter(b, a, y)


def fit(method: str, sample_rate: int, x_train, y_train, x_test, y_test, steps: int, eval_every: int = 25) -> dict:
    """Train one compressor; returns learned parameters, test ESR, and a (cpu_s, test_esr) curve."""
    torch.manual_seed(0)
    model = Compressor(sample_rate, method, **PAPER_INIT)
    opt = torch.optim.SGD(model.parameters(), lr=100.0, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    target = prefilter(y_train)
    curve, cpu = [], 0.0
    diverged = False
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            with torch.no_grad():
                curve.append((cpu, step, esr(model(x_test), y_test)))
        if step == steps:
            break
        with CpuTimer() as t:
            opt.zero_grad(set_to_none=True)
            loss = (prefilter(model(x_train)) - target).abs().mean()
            loss.backward()
            opt.step()
            sched.step()
        cpu += t.seconds
        if not torch.isfinite(loss):
            diverged = True
            break
    with torch.no_grad():
        test = esr(model(x_test), y_test)
        train = esr(model(x_train), y_train)
    return {
        "method": method,
        "params": model.learned_parameters(),
        "test_esr_pct": 100 * test,
        "train_esr_pct": 100 * train,
        "cpu_s": cpu,
        "cpu_ms_per_step": 1e3 * cpu / max(1, steps),
        "curve": curve,
        "diverged": diverged,
        "static_curve": [v.tolist() for v in model.static_curve()],
    }


def time_to_reach(curve, threshold_pct: float) -> float | None:
    """CPU seconds of training until the test ESR first falls below ``threshold_pct`` (%)."""
    for cpu, _step, value in curve:
        if 100 * value < threshold_pct:
            return cpu
    return None


def param_cell(params: dict) -> str:
    return (
        f"CT {params['threshold_db']:.2f} dB, R {params['ratio']:.2f}, at {fmt(params['attack_ms'])} ms, "
        f"rt {fmt(params['release_ms'])} ms, α_rms {fmt(params['rms_coef'])}, γ {params['makeup_gain_db']:.2f} dB"
    )


def plot_static_curves(panels, name: str, quick: bool) -> None:
    """panels: [(title, (in_db, out_db) of the truth or None, {label: (in_db, out_db)})]."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.0), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (title, truth, learned) in zip(axes, panels):
        if truth is not None:
            ax.plot(truth[0], truth[1], "k-", lw=3, alpha=0.35, label="true")
        for (label, (i_db, o_db)), style in zip(learned.items(), ("C0--", "C3:", "C2-.")):
            ax.plot(i_db, o_db, style, lw=1.5, label=label)
        ax.plot([-80, 0], [-80, 0], color="0.8", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("input level (dB)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("output level (dB)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, name, quick)


__all__ = ["PAPER_INIT", "data", "fit", "time_to_reach", "param_cell", "plot_static_curves", "single_thread", "time"]

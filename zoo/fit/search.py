"""Grid searches, multi-starts and structure selection (plain torch; no Lightning here).

Every score is an error-to-signal ratio (ESR). Searches score on the training part; structures are
chosen by the ESR on the validation part (the end of the first 75 %, run from t = 0 so that the LFO
phase carries on). Nothing here looks at the held-out tail.

Compressor: for each structure (detector peak/RMS, ballistics on the level or on the gain,
feed-forward or feedback; then a 6 dB soft knee on the two best), a coordinate grid from the static-curve estimate:
attack x release, then threshold offsets and ratio factors, then attack x release again; the
make-up is the least-squares gain. The best few structures get a short Adam refinement and the
validation ESR decides.

Phaser (`SweepLFO` model): the rate candidates of `estimate_lfo_rate`, a grid over phase, centre
and sweep width (the dry/wet mix is solved by least squares for every point; feedback is left to
the refinement), a short
multi-start refinement of the best points, then the structures (K in 4, 6, 8, 12; feedback
delay-free or through one sample; DF1 or TPT stages; optional per-stage maps) from the winner.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Callable

import numpy as np
import torch

from ..effects.compressors import Compressor
from ..effects.phasers import Phaser

__all__ = ["esr", "run_from_zero", "refine", "search_compressor", "search_phaser", "build"]

Log = Callable[[str], None]


def esr(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float(((pred - target) ** 2).sum() / ((target**2).sum() + 1e-12))


def build(effect: str, sample_rate: float, kwargs: dict) -> torch.nn.Module:
    cls = Phaser if effect == "phaser" else Compressor
    return cls(sample_rate, **kwargs)


@torch.no_grad()
def run_from_zero(model: torch.nn.Module, dry: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(dry, dtype=np.float32))[None, None]
    return model(x)[0, 0].numpy()


def val_esr(model, dry: np.ndarray, wet: np.ndarray, val_start: int) -> float:
    """ESR on [val_start:] of a run from t = 0 over ``dry``."""
    y = run_from_zero(model, dry)
    return esr(torch.from_numpy(y[val_start:]), torch.from_numpy(wet[val_start:]))


def refine(model, dry: np.ndarray, wet: np.ndarray, start: int, stop: int, steps: int, lr: float,
           deadline: float | None = None) -> float:
    """A short Adam refinement on dry[start:stop] (the LFO at its absolute time); returns the last ESR."""
    x = torch.from_numpy(np.ascontiguousarray(dry[start:stop], dtype=np.float32))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(wet[start:stop], dtype=np.float32))[None, None]
    batch = {"input": x, "target": y, "offset": torch.tensor([start])}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    last = math.inf
    for _ in range(steps):
        opt.zero_grad()
        pred = model.forward_batch(batch)
        loss = ((pred - y) ** 2).sum() / ((y**2).sum() + 1e-12)
        if not torch.isfinite(loss):
            break
        loss.backward()
        opt.step()
        last = float(loss.detach())
        if deadline is not None and time.monotonic() > deadline:
            break
    return last


# ---------------------------------------------------------------------------------------------- compressor
COMPRESSOR_STRUCTURES = [
    dict(detector=d, smoothing=s, topology=t, knee_db=0.0)
    for d, s, t in itertools.product(("peak", "rms"), ("level", "gain"), ("feedforward", "feedback"))
]
#: soft knees tried on the best hard-knee structures
KNEES_DB = (6.0,)


def _compressor_score(sample_rate, structure, settings, x, y) -> tuple[float, float]:
    """(ESR with the least-squares make-up, make-up dB)."""
    model = Compressor(sample_rate, **structure, makeup_gain_db=0.0, **settings)
    with torch.no_grad():
        pred = model(x)
    scale = float((pred * y).sum() / ((pred**2).sum() + 1e-12))
    scale = max(scale, 1e-6)
    return esr(pred * scale, y), 20.0 * math.log10(scale)


def search_compressor(dry, wet, sample_rate, fit_stop, val_start, estimate, log: Log, deadline: float,
                      top: int = 3, refine_steps: int = 40) -> dict:
    """The best structure and settings (see the module docstring). Returns {"kwargs", "val_esr", "table"}."""
    n = min(val_start, int(5 * sample_rate))
    x = torch.from_numpy(np.ascontiguousarray(dry[:n], dtype=np.float32))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(wet[:n], dtype=np.float32))[None, None]
    attacks, releases = (0.5, 3.0, 15.0, 60.0), (20.0, 80.0, 300.0, 1000.0)
    results = []

    def structures():
        yield from COMPRESSOR_STRUCTURES
        ranked = sorted(results, key=lambda r: r[0])[:2]  # then soft knees on the two best
        for _, structure, _ in ranked:
            for knee in KNEES_DB:
                yield {**structure, "knee_db": knee}

    for structure in structures():
        best = {"threshold_db": estimate["threshold_db"], "ratio": max(1.05, estimate["ratio"]),
                "attack_ms": 6.0, "release_ms": 150.0}
        score = math.inf

        def sweep(grid):
            nonlocal best, score
            for change in grid:
                trial = {**best, **change}
                s, _ = _compressor_score(sample_rate, structure, trial, x, y)
                if s < score:
                    score, best = s, trial
        sweep([{"attack_ms": a, "release_ms": r} for a in attacks for r in releases])
        t0 = best["threshold_db"]
        sweep([{"threshold_db": t0 + d} for d in (-9, -6, -3, -1.5, 1.5, 3, 6)])
        r0 = best["ratio"]
        sweep([{"ratio": max(1.05, r0 * f)} for f in (0.4, 0.6, 0.8, 1.25, 1.6, 2.5, 4.0)])
        sweep([{"attack_ms": best["attack_ms"] * f, "release_ms": best["release_ms"] * g}
               for f in (0.5, 1.0, 2.0) for g in (0.6, 1.0, 1.6)])
        _, makeup = _compressor_score(sample_rate, structure, best, x, y)
        results.append((score, structure, {**best, "makeup_gain_db": makeup}))
        log(f"search: compressor {structure['detector']}/{structure['smoothing']}/{structure['topology']}/"
            f"knee {structure['knee_db']:g} dB: train ESR {100 * score:.3f} %")
        if time.monotonic() > deadline:
            log("search: time budget for the search reached; keeping the structures tried so far")
            break
    results.sort(key=lambda r: r[0])
    table = []
    best_val, best_kwargs = math.inf, None
    for score, structure, settings in results[:top]:
        model = Compressor(sample_rate, **structure, **settings)
        refine(model, dry, wet, 0, val_start, refine_steps, 0.02, deadline)
        v = val_esr(model, dry[:fit_stop], wet[:fit_stop], val_start)
        kwargs = {**structure, **model.learned_parameters()}
        table.append({"structure": structure, "train_esr": score, "val_esr": v})
        log(f"search: refined {structure}: val ESR {100 * v:.3f} %")
        if v < best_val:
            best_val, best_kwargs = v, {**structure, **{k: kwargs[k] for k in
                                                        ("threshold_db", "ratio", "attack_ms", "release_ms",
                                                         "makeup_gain_db")}}
    return {"kwargs": best_kwargs, "val_esr": best_val, "table": table}


# ---------------------------------------------------------------------------------------------- phaser
def _ls_mix(x: torch.Tensor, yk: torch.Tensor, y: torch.Tensor) -> tuple[float, float, float]:
    """Least-squares a x + b y_K ~ y: (ESR, a, b)."""
    a11, a12, a22 = float((x * x).sum()), float((x * yk).sum()), float((yk * yk).sum())
    b1, b2 = float((x * y).sum()), float((yk * y).sum())
    det = a11 * a22 - a12 * a12
    if abs(det) < 1e-12 * (a11 * a22 + 1e-30):
        return math.inf, 0.0, 1.0
    a, b = (a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det
    return esr(a * x + b * yk, y), a, b


def _phaser_model(sample_rate, structure, p) -> Phaser:
    return Phaser(sample_rate, **structure, lfo="sweep", signed_feedback=True, lfo_rate_hz=p["rate"],
                  lfo_phase_rad=p["phase"], centre_hz=p["centre"], sweep_octaves=p["octaves"], g2=p["g2"],
                  lfo_shape=p.get("shape", 0.0), g1=0.0)


def _phaser_score(sample_rate, structure, p, x, y, offset) -> tuple[float, float, float]:
    model = _phaser_model(sample_rate, structure, p)
    with torch.no_grad():
        # y_K alone: g1 = 0 and an identity biquad; the mix is solved by least squares
        yk = model.forward_batch({"input": x, "offset": torch.tensor([offset])})
    return _ls_mix(x, yk, y)


def _set_mix(model: Phaser, a: float, b: float) -> None:
    with torch.no_grad():
        b = b if abs(b) > 1e-3 else 1e-3
        model.biquad_b.copy_(torch.tensor([b, 0.0, 0.0]))
        model.g1.fill_(a / b)


PHASER_STRUCTURES = [
    dict(num_stages=k, feedback_delay=d, stage_form=f)
    for k, d, f in itertools.product((4, 6, 8, 12), (1, 0), ("tpt", "df1"))
]


def search_phaser(dry, wet, sample_rate, fit_stop, val_start, rates, log: Log, deadline: float,
                  sweep: dict | None = None, excerpt_s: float = 2.0, refine_steps: int = 60, top: int = 4) -> dict:
    """The best structure and initial LFO (see the module docstring). ``sweep``: `estimate_sweep`'s
    result, whose LFO seeds the multi-start. Returns {"kwargs", "state", "val_esr", "table"}."""
    n_ex = min(int(excerpt_s * sample_rate), val_start)
    # the excerpt with the most dry energy in the training part
    hop = max(1, n_ex // 4)
    starts = list(range(0, max(1, val_start - n_ex + 1), hop))
    energy = [float(np.sum(dry[s: s + n_ex].astype(np.float64) ** 2)) for s in starts]
    offset = starts[int(np.argmax(energy))]
    x = torch.from_numpy(np.ascontiguousarray(dry[offset: offset + n_ex], dtype=np.float32))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(wet[offset: offset + n_ex], dtype=np.float32))[None, None]
    base = dict(num_stages=6, feedback_delay=1, stage_form="tpt")
    n_grid = min(n_ex, int(1.5 * sample_rate))
    x_grid, y_grid = x[..., :n_grid], y[..., :n_grid]
    seeds = []
    if sweep is not None:
        p = {k: sweep[k] for k in ("rate", "phase", "centre", "octaves", "shape", "g2")}
        seeds = [p, {**p, "phase": p["phase"] + 0.4}, {**p, "phase": p["phase"] - 0.4},
                 {**p, "octaves": p["octaves"] * 1.4}, {**p, "g2": 0.0}]
        for rate, phase, centre, amp, shape in sweep.get("alternatives", [])[:2]:
            seeds.append(dict(rate=rate, phase=phase, centre=math.exp(centre), octaves=amp / math.log(2.0),
                              shape=shape, g2=p["g2"]))
    scored = []
    for p in seeds:
        s, a, b = _phaser_score(sample_rate, base, p, x_grid, y_grid, offset)
        scored.append((s, p, a, b))
    grid = []
    grid_deadline = time.monotonic() + 0.3 * max(0.0, deadline - time.monotonic())
    for rate, _score in rates[:2]:
        for phase, centre, octaves in itertools.product(np.arange(8) * (np.pi / 4), (250.0, 500.0, 1000.0, 2000.0, 4000.0),
                                                        (1.0, 2.5, 4.0)):
            p = dict(rate=rate, phase=float(phase), centre=centre, octaves=octaves, g2=0.0)
            s, a, b = _phaser_score(sample_rate, base, p, x_grid, y_grid, offset)
            grid.append((s, p, a, b))
        if time.monotonic() > grid_deadline:
            break
    grid.sort(key=lambda t: t[0])
    scored.sort(key=lambda t: t[0])
    log(f"search: phaser grid of {len(grid)} points, best excerpt ESR {100 * grid[0][0]:.2f} %; "
        f"sweep estimate {100 * scored[0][0]:.2f} %" if scored else
        f"search: phaser grid of {len(grid)} points, best excerpt ESR {100 * grid[0][0]:.2f} %")
    # multi-start: the best estimate-based starts and the best distinct grid points, refined briefly
    kept = scored[:3]
    for item in grid:
        if len(kept) >= 6:
            break
        kept.append(item)
    best = (math.inf, None)
    for s, p, a, b in kept:
        model = _phaser_model(sample_rate, base, p)
        _set_mix(model, a, b)
        loss = refine(model, dry, wet, offset, offset + n_ex, refine_steps, 0.01, deadline)
        log(f"search: start rate {p['rate']:.3f} Hz phase {p['phase']:.2f} centre {p['centre']:.0f} Hz "
            f"width {p['octaves']:.2f} oct: ESR {100 * s:.2f} % -> {100 * loss:.2f} %")
        if loss < best[0]:
            best = (loss, model)
        if time.monotonic() > deadline:
            break
    learned = best[1].learned_parameters()
    sw = best[1].sweep
    p0 = dict(rate=learned["lfo_rate_hz"], phase=learned["lfo_phase_rad"], centre=learned["centre_hz"],
              octaves=float(sw.span.detach().abs()) / math.log(2.0), g2=max(-0.95, min(0.95, learned["g2"])),
              shape=learned["lfo_shape_triangle"])
    # structures: a cheap score for all (mix by least squares, a small grid on centre and feedback),
    # then a short refinement of the best few, judged by the validation ESR
    cheap = []
    for structure in PHASER_STRUCTURES:
        cands = []
        for cf in (0.7, 1.0, 1.4):
            for g2 in sorted({round(p0["g2"], 4), round(-p0["g2"], 4), 0.0}):
                p = {**p0, "centre": p0["centre"] * cf, "g2": g2}
                sc, a, b = _phaser_score(sample_rate, structure, p, x, y, offset)
                cands.append((sc, p, a, b))
        cheap.append((min(cands, key=lambda t: t[0]), structure))
    cheap.sort(key=lambda t: t[0][0])
    table = []
    best_val, best_kwargs, best_state, best_p = math.inf, None, None, None
    for (sc, p, a, b), structure in cheap[:top]:
        model = _phaser_model(sample_rate, structure, p)
        _set_mix(model, a, b)
        refine(model, dry, wet, offset, offset + n_ex, refine_steps // 2, 0.005)
        v = val_esr(model, dry[:fit_stop], wet[:fit_stop], val_start)
        table.append({"structure": structure, "excerpt_esr": sc, "val_esr": v})
        log(f"search: phaser K={structure['num_stages']} delay={structure['feedback_delay']} "
            f"{structure['stage_form']}: excerpt ESR {100 * sc:.2f} %, val ESR {100 * v:.2f} %")
        if v < best_val:
            best_val, best_kwargs, best_p = v, structure, p
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        if time.monotonic() > deadline + 10.0:
            log("search: time budget for the search reached; keeping the structures tried so far")
            break
    for (sc, _p, _a, _b), structure in cheap[top:]:
        table.append({"structure": structure, "excerpt_esr": sc})
    kwargs = dict(best_kwargs, lfo="sweep", signed_feedback=True, lfo_rate_hz=best_p["rate"],
                  lfo_phase_rad=best_p["phase"], centre_hz=best_p["centre"], sweep_octaves=best_p["octaves"],
                  g2=best_p["g2"], lfo_shape=best_p.get("shape", 0.0))
    # per-stage maps: kept only if they help on validation
    if time.monotonic() < deadline + 10.0:
        model = Phaser(sample_rate, **kwargs, stage_maps=True)
        model.load_state_dict(best_state, strict=False)
        refine(model, dry, wet, offset, offset + n_ex, refine_steps // 2, 0.005)
        v = val_esr(model, dry[:fit_stop], wet[:fit_stop], val_start)
        log(f"search: per-stage maps: val ESR {100 * v:.2f} % (without: {100 * best_val:.2f} %)")
        table.append({"structure": dict(best_kwargs, stage_maps=True), "val_esr": v})
        if v < 0.95 * best_val:
            kwargs["stage_maps"] = True
            best_val, best_state = v, {k: t.clone() for k, t in model.state_dict().items()}
    return {"kwargs": kwargs, "state": best_state, "val_esr": best_val, "table": table}

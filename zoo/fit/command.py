"""`zoo fit EFFECT DRY WET --out DIR`: checks, estimation and search, the gradient phase, the folder.

Phases, recorded in ``DIR/fit_state.json`` (with the time spent so far) so that ``--resume`` after
a kill carries on where it stopped: ``"search"`` (estimators, grid and structure search; its result
is saved to ``DIR/.fit/search.safetensors`` + the state file), ``"train"`` (Lightning; resumes from
``DIR/.fit/lightning/last.ckpt`` at its step), ``"done"``. The final files (config.json,
model.safetensors, README.md, fit.png, audio/) are each written through a temporary file and
renamed into place.

Split: training [0, 0.8 F), validation [0.8 F, F) with F = (1 - holdout) T; the held-out tail
[F, T) is only used for the card's metrics, from one run over the whole recording from t = 0.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import hub
from .._io import atomic_path, check_output
from . import card, search
from .capture import detect_capture
from .checks import load_pair
from .estimators import estimate_lfo_rate, estimate_static_curve, estimate_sweep

__all__ = ["fit_command", "EFFECTS"]

EFFECTS = ("phaser", "compressor")
STATE_NAME = "fit_state.json"
#: the constructor arguments that make a structure (the card's "structure")
STRUCTURE_KEYS = {
    "phaser": ("num_stages", "feedback_delay", "stage_form", "stage_maps", "lfo"),
    "compressor": ("detector", "smoothing", "topology", "knee_db"),
}


def _default_log(line: str) -> None:
    print(f"zoo fit: {line}", file=sys.stderr, flush=True)


class _State:
    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_NAME
        self.data: dict = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def save(self, **updates) -> None:
        self.data.update(updates)
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=2))


def _mrstft(pred: np.ndarray, target: np.ndarray) -> float:
    from ..lightning.losses import MRSTFTLoss

    p = torch.from_numpy(np.ascontiguousarray(pred, dtype=np.float32))[None, None]
    t = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))[None, None]
    with torch.no_grad():
        return float(MRSTFTLoss()(p, t))


def _listening_page(out: Path, log) -> None:
    """``listen/index.html``: the listening page (`zoo.report`) of the fitted folder, linked from the card.

    The page plays the held-out excerpts (``audio/dry.wav``, ``audio/target.wav``) beside our model's
    output. The checkpoint is complete before this runs; a failure here is reported, not fatal.
    """
    from ..report import report_checkpoint

    try:
        page = report_checkpoint(str(out), out / "listen", force=True)
    except Exception as err:  # the page is a bonus; the checkpoint is already complete
        log(f"report: listen/index.html not written ({type(err).__name__}: {err})")
        return
    card_file = out / hub.CARD_NAME
    text = card_file.read_text()
    if "listen/index.html" not in text:
        text += (
            "\n**Listen.** `listen/index.html` in this folder: dry, the real effect and this model side by side "
            "on the held-out excerpt (open it locally; the Hugging Face Hub does not render uploaded HTML).\n"
        )
        with atomic_path(card_file) as tmp:
            tmp.write_text(text)
    log(f"report: wrote {page}")


def _save_tensors(state: dict, path: Path) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous() for k, v in state.items()}, str(tmp))


def _load_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def fit_command(effect: str, dry, wet, out, **options) -> dict:
    """Fit ``effect`` ("phaser" or "compressor") to the pair and write the checkpoint folder ``out``.

    Options: ``minutes`` (5), ``init`` (None), ``seed`` (0), ``force``, ``resume``, ``resample``,
    ``holdout`` (0.25), ``max_steps`` (None: the budget decides), ``command`` (for the card), ``log``.
    Returns the summary written into the card. Raises ValueError (one line) for user mistakes.
    Runs torch on one thread (the kernels are sequential scans; extra threads only contend).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(effect, dry, wet, out, **options)
    finally:
        torch.set_num_threads(threads)


def _fit(effect: str, dry, wet, out, *, minutes: float = 5.0, init: str | None = None, seed: int = 0,
         force: bool = False, resume: bool = False, resample: bool = False, holdout: float = 0.25,
         max_steps: int | None = None, command: list[str] | None = None, nan: str = "error",
         log: Callable[[str], None] = _default_log) -> dict:
    if effect not in EFFECTS:
        raise ValueError(f"unknown effect {effect!r}; expected one of {', '.join(EFFECTS)}")
    if not minutes > 0:
        raise ValueError(f"--minutes must be > 0, found {minutes}")
    if not 0.05 <= holdout <= 0.5:
        raise ValueError(f"--holdout must be in [0.05, 0.5], found {holdout}")
    out = Path(out)
    state = _State(out)
    if resume:
        if not state.data:
            raise ValueError(f"{out}: nothing to resume (no {STATE_NAME}); run without --resume")
        if state.data.get("phase") == "done":
            raise ValueError(f"{out}: this fit has finished; use --force to fit again")
        if state.data.get("effect") != effect:
            raise ValueError(f"{out}: holds a {state.data.get('effect')} fit, not {effect}")
    else:
        check_output(out, force=force, inputs=[dry, wet], kind="folder")
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    data = load_pair(dry, wet, resample=resample, nan=nan)
    for note in data.notes:
        log(note)
    old = None
    if not resume and out.exists():  # --force: set the old folder aside; it comes back if this fit fails
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        return _fit_in(effect, dry, wet, out, data, state, resume, minutes, init, seed, holdout, max_steps, command,
                       log)
    except BaseException:
        if old is not None:
            shutil.rmtree(out, ignore_errors=True)
            os.replace(old, out)
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _fit_in(effect, dry, wet, out: Path, data, state: "_State", resume: bool, minutes: float, init, seed: int,
            holdout: float, max_steps, command, log) -> dict:
    (out / ".fit").mkdir(parents=True, exist_ok=True)
    if not resume:
        state = _State(out)
        state.save(effect=effect, phase="search", elapsed_s=0.0, seed=seed, minutes=minutes)
    budget = 60.0 * minutes
    spent_before = float(state.data.get("elapsed_s", 0.0))
    t_start = time.monotonic() - spent_before

    def elapsed() -> float:
        return time.monotonic() - t_start

    sr = data.sample_rate
    n = data.num_samples
    fit_stop = int(round(n * (1.0 - holdout)))
    val_start = int(round(0.8 * fit_stop))
    capture = detect_capture(data.dry, sr)
    if capture:
        log(f"capture signal recognised at {capture['start'] / sr:.3f} s; its sections guide the estimators")
    dry_a, wet_a = data.dry, data.wet
    search_file = out / ".fit" / "search.safetensors"

    # ------------------------------------------------------------------ phase 1: estimation and search
    if state.data["phase"] == "search":
        log(f"search: {effect}, {n / sr:.1f} s at {sr} Hz, budget {minutes:g} min")
        deadline = time.monotonic() + max(3.0, 0.4 * budget - elapsed())
        if init is not None:
            model = hub.from_pretrained(init)
            if hub.effect_name(model) != effect:
                raise ValueError(f"--init {init} holds a {hub.effect_name(model)}, not a {effect}")
            kwargs = dict(model.init_args)
            kwargs.pop("sample_rate", None)
            result = {"kwargs": kwargs, "state": model.state_dict(), "val_esr": math.nan, "table": []}
            log(f"search: skipped, starting from --init {init}")
        elif effect == "compressor":
            lo, hi, how = 0, val_start, "best"
            if capture and capture["sections"]["level_steps"][1] <= val_start:
                (lo, hi), how = capture["sections"]["level_steps"], "midpoint"
            est = estimate_static_curve(dry_a[lo:hi], wet_a[lo:hi], sr, level=how)
            log(f"estimate: static curve ({est['level']} frames): threshold {est['threshold_db']:.1f} dB, "
                f"ratio {est['ratio']:.2f}, make-up {est['makeup_gain_db']:.2f} dB")
            result = search.search_compressor(dry_a, wet_a, sr, fit_stop, val_start, est, log, deadline)
            result["state"] = search.build(effect, sr, result["kwargs"]).state_dict()
        else:
            rates = estimate_lfo_rate(dry_a[:val_start], wet_a[:val_start], sr)
            log("estimate: LFO rate candidates " + ", ".join(f"{r:.3f} Hz ({s:.2f})" for r, s in rates))
            lo, hi = 0, val_start
            sweep = estimate_sweep(dry_a[lo:hi], wet_a[lo:hi], sr, rates)
            log(f"estimate: sweep: rate {sweep['rate']:.3f} Hz, phase {sweep['phase']:.2f} rad, centre "
                f"{sweep['centre']:.0f} Hz, +-{sweep['octaves']:.2f} octaves, {'triangle' if sweep['shape'] else 'sine'}, "
                f"feedback {sweep['g2']:+.1f}")
            result = search.search_phaser(dry_a, wet_a, sr, fit_stop, val_start, rates, log, deadline, sweep=sweep)
        _save_tensors(result["state"], search_file)
        state.save(phase="train", kwargs=result["kwargs"], search_val_esr=result["val_esr"],
                   search_table=result["table"], search_s=elapsed(), elapsed_s=elapsed())

    # ------------------------------------------------------------------ phase 2: gradient phase
    kwargs = state.data["kwargs"]
    model = search.build(effect, sr, kwargs)
    model.load_state_dict(_load_tensors(search_file))
    search_state = {k: v.clone() for k, v in model.state_dict().items()}
    if state.data["phase"] == "train":
        from .train import train

        last = out / ".fit" / "lightning" / "last.ckpt"
        resume_ckpt = str(last) if resume and last.is_file() else None
        if resume_ckpt:
            log(f"train: resuming from {last}")
        # what the finish needs (about six passes over the recording: validation of both weights, the
        # fitted and untrained held-out runs, the listening page; plus the figure), measured on this
        # machine now, so that a loaded machine still keeps the budget
        t0 = time.monotonic()
        with torch.no_grad():
            search.run_from_zero(model, dry_a)
        reserve = min(0.3 * budget, max(0.1 * budget, 6.0 * (time.monotonic() - t0) + 8.0))
        seconds = budget - reserve - elapsed()
        lr = 2e-3 if effect == "phaser" else 3e-3
        if seconds < 3.0:
            log("train: no time left in the budget for the gradient phase; keeping the search's weights")
            info = {"steps": 0}
        else:
            log(f"train: gradient phase, {seconds:.0f} s")
            info = train(model, dry_a, wet_a, sr, val_start, fit_stop, out / ".fit", seconds, seed, log, lr=lr,
                         max_steps=max_steps, resume_ckpt=resume_ckpt)
        v_train = search.val_esr(model, dry_a[:fit_stop], wet_a[:fit_stop], val_start)
        probe = search.build(effect, sr, kwargs)
        probe.load_state_dict(search_state)
        v_search = search.val_esr(probe, dry_a[:fit_stop], wet_a[:fit_stop], val_start)
        if not v_train <= v_search:
            log(f"train: validation ESR {100 * v_train:.3f} % is not better than the search's {100 * v_search:.3f} %; "
                "keeping the search's weights")
            model.load_state_dict(search_state)
        state.save(phase="finish", train_steps=info["steps"], elapsed_s=elapsed())
        _save_tensors(model.state_dict(), search_file.with_name("trained.safetensors"))
    else:
        trained = search_file.with_name("trained.safetensors")
        if trained.is_file():
            model.load_state_dict(_load_tensors(trained))

    # ------------------------------------------------------------------ phase 3: held-out metrics and folder
    model.eval()
    pred = search.run_from_zero(model, dry_a)
    untrained = search.build(effect, sr, {}).eval()
    pred0 = search.run_from_zero(untrained, dry_a)
    tail = slice(fit_stop, n)
    heldout = search.esr(torch.from_numpy(pred[tail]), torch.from_numpy(wet_a[tail]))
    summary = {
        "effect": effect, "dry": str(dry), "wet": str(wet), "sample_rate": sr, "duration_s": n / sr,
        "holdout": holdout, "val_start_s": val_start / sr, "fit_stop_s": fit_stop / sr,
        "latency_samples": data.latency_samples, "polarity_flipped": data.polarity_flipped,
        "dc_removed": data.dc_removed, "capture": bool(capture), "notes": data.notes,
        "heldout_esr": heldout, "heldout_mrstft": _mrstft(pred[tail], wet_a[tail]),
        "untrained_esr": search.esr(torch.from_numpy(pred0[tail]), torch.from_numpy(wet_a[tail])),
        "untrained_mrstft": _mrstft(pred0[tail], wet_a[tail]),
        "structure": {k: kwargs[k] for k in STRUCTURE_KEYS[effect] if k in kwargs},
        "search_val_esr": state.data.get("search_val_esr"), "search_s": float(state.data.get("search_s", 0.0)),
        "train_steps": int(state.data.get("train_steps", 0)), "learned": model.learned_parameters(),
        "seed": seed, "minutes": minutes,
    }
    summary["elapsed_s"] = elapsed()
    cmd = command or ["zoo", "fit", effect, str(dry), str(wet), "--out", str(out), "--minutes", f"{minutes:g}",
                      "--seed", str(seed)]
    tmp = out / ".fit" / "folder"
    if tmp.exists():
        shutil.rmtree(tmp)
    hub.save_pretrained(model, tmp, card="", fit=summary)
    card.write_card(tmp / "README.md", effect, cmd, summary)
    try:
        card.write_figure(tmp / "fit.png", model, wet_a[tail], pred0[tail], pred[tail], sr)
    except Exception as err:  # a figure must not cost the fit
        log(f"figure: fit.png not written ({type(err).__name__}: {err})")
    card.write_excerpts(tmp, dry_a[tail], wet_a[tail], sr)
    for item in sorted(tmp.rglob("*")):
        if item.is_file():
            target = out / item.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as t:
                shutil.copyfile(item, t)
    shutil.rmtree(tmp)
    _listening_page(out, log)
    state.save(phase="done", elapsed_s=elapsed(), heldout_esr=heldout)
    log(f"done: held-out ESR {100 * heldout:.3f} % (untrained {100 * summary['untrained_esr']:.1f} %), "
        f"MR-STFT {summary['heldout_mrstft']:.3f}, {elapsed():.0f} s; wrote {out}")
    return summary

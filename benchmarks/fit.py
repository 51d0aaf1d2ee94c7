"""Benchmark `zoo fit` on pedalboard's Phaser and Compressor with random (seeded) settings.

For each setting: 20 s of varied material (`music_mix`: drums, bass, plucks, noise bursts, loud and
quiet sections, plus a near-silent stretch), rendered by pedalboard; `zoo fit` sees the first 15 s
(``--holdout 0.25``) and the table reports the held-out ESR of the last 5 s, recomputed here from
the written checkpoint folder (run over the whole file from t = 0, as `zoo apply`), the fit's
wall time and the structure it chose.

    python benchmarks/fit.py [--effects phaser compressor] [--settings 5] [--minutes 5] [--seed 0] [--nam 2]
    python benchmarks/fit.py --source other      # targets from other implementations (_other_effects.py)

``--nam N`` also trains Neural Amp Modeler's classic feather WaveNet (3,637 parameters;
`benchmarks/_nam_baseline.py`, needs the ``bench`` extra) on the first N pairs of each effect with
the same time budget and reports its held-out ESR and parameter count beside ours.
``--nam-only`` skips our fits (the NAM column alone, for the same seeded pairs).

Ranges (the issue's): phaser rate 0.1-5 Hz (log), depth 0.2-1, centre 200-2000 Hz (log),
feedback -0.7-0.7, mix 0.3-1; compressor threshold -40..-5 dB, ratio 1.5-20 (log), attack
0.5-50 ms (log), release 20-500 ms (log).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def material(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    from zoo.data.generate import generate_material

    x = generate_material("music_mix", SR, seconds, seed=seed).astype(np.float32)
    a, b = int(6.5 * SR), int(7.3 * SR)  # a near-silent stretch
    x[a:b] *= 10 ** (-50 / 20)
    return x


def draw(effect: str, rng: np.random.Generator) -> dict:
    logu = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))  # noqa: E731
    if effect == "phaser":
        return dict(rate_hz=logu(0.1, 5.0), depth=float(rng.uniform(0.2, 1.0)), centre_frequency_hz=logu(200, 2000),
                    feedback=float(rng.uniform(-0.7, 0.7)), mix=float(rng.uniform(0.3, 1.0)))
    return dict(threshold_db=float(rng.uniform(-40, -5)), ratio=logu(1.5, 20), attack_ms=logu(0.5, 50),
                release_ms=logu(20, 500))


def render(effect: str, settings: dict, x: np.ndarray) -> np.ndarray:
    import pedalboard

    board = pedalboard.Phaser(**settings) if effect == "phaser" else pedalboard.Compressor(**settings)
    return board(x[None], SR)[0].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--effects", nargs="+", default=["compressor", "phaser"])
    parser.add_argument("--settings", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--nam", type=int, default=0, help="train NAM on the first N pairs of each effect too")
    parser.add_argument("--nam-only", action="store_true", help="only the NAM baseline (same pairs)")
    parser.add_argument("--source", choices=["pedalboard", "other"], default="pedalboard",
                        help="targets: pedalboard (JUCE) or other implementations (benchmarks/_other_effects.py)")
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _nam_baseline import train_nam
    from _other_effects import draw_other, render_other

    from zoo.fit.command import fit_command
    from zoo.fit.search import run_from_zero
    from zoo.hub import from_pretrained

    rows = []
    x = material(seed=args.seed)
    for effect in args.effects:
        rng = np.random.default_rng(args.seed + (0 if effect == "compressor" else 1000))
        for i in range(args.settings):
            if args.source == "other":
                settings = draw_other(effect, rng)
                y = render_other(effect, settings, x, SR)
            else:
                settings = draw(effect, rng)
                y = render(effect, settings, x)
            nam = None
            if i < args.nam or args.nam_only:
                nam = train_nam(x, y, SR, train_frames=int(0.75 * len(x)), score_from=int(0.75 * len(x)),
                                budget_s=60 * args.minutes, seed=args.seed)
            if args.nam_only:
                row = {"effect": effect, "setting": {k: round(v, 3) for k, v in settings.items()}, "nam": nam}
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                sf.write(str(tmp / "dry.wav"), x, SR, subtype="FLOAT")
                sf.write(str(tmp / "wet.wav"), y, SR, subtype="FLOAT")
                start = time.monotonic()
                summary = fit_command(effect, tmp / "dry.wav", tmp / "wet.wav", tmp / "out", minutes=args.minutes,
                                      seed=args.seed, log=lambda line: None)
                took = time.monotonic() - start
                model = from_pretrained(tmp / "out").eval()
                pred = run_from_zero(model, x)
                tail = slice(int(0.75 * len(x)), len(x))
                esr = float(np.sum((pred[tail] - y[tail]) ** 2) / np.sum(y[tail] ** 2))
                params = sum(p.numel() for p in model.parameters())
            row = {"effect": effect, "setting": {k: round(v, 3) for k, v in settings.items()}, "heldout_esr": esr,
                   "card_esr": summary["heldout_esr"], "seconds": took, "structure": summary["structure"],
                   "params": params, "nam": nam}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.nam_only:
        print("\n| effect | setting | NAM held-out ESR | NAM params | NAM steps |\n|---|---|---|---|---|")
        for r in rows:
            setting = ", ".join(f"{k}={v:g}" for k, v in r["setting"].items())
            print(f"| {r['effect']} | {setting} | {100 * r['nam']['esr']:.3f} % | {r['nam']['params']:.0f} | {r['nam']['steps']:.0f} |")
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return
    print()
    print("| effect | setting | held-out ESR | params | NAM ESR (params) | fit time (s) | structure |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        setting = ", ".join(f"{k}={v:g}" for k, v in r["setting"].items())
        struct = ", ".join(f"{k}={v}" for k, v in r["structure"].items() if k not in ("lfo", "signed_feedback"))
        nam = f"{100 * r['nam']['esr']:.3f} % ({r['nam']['params']:.0f})" if r["nam"] else "-"
        print(f"| {r['effect']} | {setting} | {100 * r['heldout_esr']:.3f} % | {r['params']} | {nam} | {r['seconds']:.0f} | {struct} |")
    print()
    for effect in args.effects:
        e = [r["heldout_esr"] for r in rows if r["effect"] == effect]
        if e:
            print(f"{effect}: median held-out ESR {100 * float(np.median(e)):.3f} %, worst {100 * max(e):.3f} %, "
                  f"slowest fit {max(r['seconds'] for r in rows if r['effect'] == effect):.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

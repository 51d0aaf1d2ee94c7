"""argparse wiring for `zoo fit` and `zoo capture-signal` (the lead adds them to zoo.cli's registrars).

User mistakes print one line, ``zoo fit: <what was wrong and what to do>``, and exit 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register_fit", "register_capture_signal"]


def _run_fit(args: argparse.Namespace) -> int:
    from .command import fit_command

    try:
        fit_command(args.effect, args.dry, args.wet, args.out, minutes=args.minutes, init=args.init, seed=args.seed,
                    force=args.force, resume=args.resume, resample=args.resample, holdout=args.holdout,
                    max_steps=args.max_steps, nan=args.nan, command=["zoo", *sys.argv[1:]] if sys.argv[1:2] == ["fit"] else None)
    except ValueError as err:
        print(f"zoo fit: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


def _run_capture(args: argparse.Namespace) -> int:
    from .capture import write_capture_signal

    try:
        path = write_capture_signal(args.out, args.sample_rate, force=args.force)
    except ValueError as err:
        print(f"zoo capture-signal: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"wrote {path}: play it through your effect, record the output, then `zoo fit EFFECT {path} wet.wav --out DIR`")
    return 0


def register_fit(subparsers) -> argparse.ArgumentParser:
    """Add ``zoo fit`` to an argparse subparsers object; the handler is ``func`` (returns the exit code)."""
    p = subparsers.add_parser("fit", help="fit an effect to your own dry/wet recording",
                              description="Fit the phaser or the compressor to a dry/wet recording and write a "
                                          "checkpoint folder (config.json, model.safetensors, README.md card, fit.png, audio/). "
                                          "See docs/fit.md.")
    p.add_argument("effect", choices=["phaser", "compressor"])
    p.add_argument("dry", help="the dry recording (what went into the effect)")
    p.add_argument("wet", help="the wet recording (what came out)")
    p.add_argument("--out", required=True, help="the checkpoint folder to write")
    p.add_argument("--minutes", type=float, default=5.0, help="time budget in minutes (default 5)")
    p.add_argument("--init", default=None, help="start from this checkpoint (folder, shipped name or Hub id); skips the search")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--resume", action="store_true", help="carry on a killed fit in --out at its phase and step")
    p.add_argument("--resample", action="store_true", help="resample the wet file when the sample rates differ")
    p.add_argument("--holdout", type=float, default=0.25, help="held-out fraction at the end (default 0.25)")
    p.add_argument("--nan", choices=("error", "zero"), default="error",
                   help="non-finite samples: error (default) or replace with zeros and warn")
    p.add_argument("--max-steps", type=int, default=None, help="cap the gradient steps (default: the time budget decides)")
    p.set_defaults(func=_run_fit)
    return p


def register_capture_signal(subparsers) -> argparse.ArgumentParser:
    """Add ``zoo capture-signal`` to an argparse subparsers object."""
    p = subparsers.add_parser("capture-signal", help="write the standard capture signal to play through your gear",
                              description="Write the documented capture signal (sync marker, chirp train, level "
                                          "steps, noise bursts, music); see zoo.fit.capture and docs/fit.md.")
    p.add_argument("--out", required=True, help="wav file to write")
    p.add_argument("--sample-rate", type=int, default=48000, help="sample rate in Hz (default 48000)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=_run_capture)
    return p


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m zoo.fit.cli fit ...``) until zoo.cli wires the commands."""
    parser = argparse.ArgumentParser(prog="zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    register_fit(sub)
    register_capture_signal(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

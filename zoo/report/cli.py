"""``zoo report CHECKPOINT_OR_RUN [--input FILE] --out DIR [--force]``: the argparse side.

Wire it into the ``zoo`` command with ``register_report(subparsers)``. User mistakes (a missing
checkpoint or file, an existing ``--out``) print one line ``zoo report: ...`` to stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register_report", "report"]


def register_report(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand (its handler is `report`)."""
    parser = subparsers.add_parser(
        "report",
        help="write an offline HTML listening page for a checkpoint or a training run",
        description=(
            "zoo report phaser-pedalboard --out out/phaser: an index.html with dry / real effect / our model "
            "players, spectrograms, learned controls, metrics, learned parameters and the model card."
        ),
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT_OR_RUN",
                        help="shipped checkpoint name (zoo list), checkpoint folder, or `zoo train` run folder / .ckpt")
    parser.add_argument("--input", default=None, metavar="FILE", help="dry audio to play through the model (its first 10 s)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write index.html, wavs and PNGs into")
    parser.add_argument("--force", action="store_true", help="replace --out when it exists and is not empty")
    parser.add_argument("--duration", type=float, default=4.0, help="length of generated material (s, default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of generated material (default 0)")
    parser.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    """Handler of ``zoo report``: write the page, print its path; 2 on a user mistake."""
    from .build import report_checkpoint

    if not 0 < args.duration <= 10:
        print(f"zoo report: --duration must be in (0, 10] seconds, found {args.duration:g}", file=sys.stderr)
        return 2
    try:
        index = report_checkpoint(args.checkpoint, args.out, input_path=args.input, force=args.force,
                                  duration_s=args.duration, seed=args.seed)
    except (ValueError, ImportError, OSError) as error:  # OSError: FileNotFoundError, FileExistsError
        print(f"zoo report: {error}".replace("\n", " "), file=sys.stderr)
        return 2
    print(f"wrote {index}: open it in a browser (it works offline)")
    return 0

"""The ``zoo`` command.

Subcommands (one function each; add a new one with a ``_register_<name>`` function listed in
`_REGISTRARS`)::

    zoo train -c recipes/phaser/pedalboard.yaml [LightningCLI options...]
    zoo train -c recipes/phaser/pedalboard.yaml --print_config
    zoo list                                  # effects and shipped checkpoints
    zoo apply phaser-pedalboard in.wav out.wav # any length, block by block
    zoo push checkpoints/phaser-pedalboard user/repo
    zoo demo                                  # every pretrained effect on a generated clip

``zoo train`` forwards every argument after ``train`` verbatim to `zoo.lightning.cli.ZooCLI`
(LightningCLI's ``fit``), so ``zoo train --help`` shows the full training options. The same runs
as ``python -m zoo.cli train ...``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

__all__ = ["main", "build_parser"]


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an effect from a recipe (LightningCLI fit; `zoo train --help` for all options)",
        add_help=False,
        prefix_chars="\0",  # every token after `train` is forwarded untouched
    )
    parser.add_argument("args", nargs=argparse.REMAINDER)
    parser.set_defaults(func=_train, forward=True)


def _train(args: argparse.Namespace) -> int:
    try:
        from zoo.lightning.cli import train
    except ImportError as error:
        raise ImportError(f"`zoo train` needs the training extras: pip install 'zoo[train]' ({error})") from error
    train(args.args)
    return 0


# --------------------------------------------------------------------------------------------------
# list / apply / push / demo (implemented in zoo.commands and zoo.demo)
# --------------------------------------------------------------------------------------------------


def _register_list(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list the effects and the shipped checkpoints")
    parser.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from zoo.commands import list_command

    print(list_command())
    return 0


def _register_apply(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="run an effect over an audio file of any length (block by block, state carried)",
        description="zoo apply phaser-pedalboard in.wav out.wav",
    )
    parser.add_argument("effect", help="checkpoint name (zoo list), checkpoint folder, Hub repo id, or effect name")
    parser.add_argument("input", help="input audio file (wav, flac, ...)")
    parser.add_argument("output", help="output audio file")
    parser.add_argument("--block-size", type=int, default=65536, help="frames per block (default 65536)")
    parser.add_argument("--method", default=None, help="implementation override (e.g. td_regrouped)")
    parser.add_argument("--resample", action="store_true", help="resample when the file's rate differs from the effect's")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_apply)


def _apply(args: argparse.Namespace) -> int:
    from zoo.commands import apply_command

    try:
        info = apply_command(
            args.effect, args.input, args.output, block_size=args.block_size, method=args.method,
            resample=args.resample, progress=not args.no_progress,
        )
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"zoo apply: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {info['frames']} frames, {info['channels']} ch, {info['sample_rate']} Hz "
          f"in {info['seconds']:.2f} s")
    return 0


def _register_push(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("push", help="upload a checkpoint folder (with its card) to the Hugging Face Hub")
    parser.add_argument("checkpoint", help="checkpoint name or folder (config.json + model.safetensors + README.md)")
    parser.add_argument("repo_id", help="Hub repo id, e.g. user/phaser-pedalboard")
    parser.add_argument("--token", default=None, help="Hub token (default: the logged-in token / HF_TOKEN)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--revision", default=None, help="branch to push to")
    parser.set_defaults(func=_push)


def _push(args: argparse.Namespace) -> int:
    from zoo.commands import push_command

    url = push_command(args.checkpoint, args.repo_id, token=args.token, private=args.private or None,
                       revision=args.revision)
    print(url)
    return 0


def _register_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run every pretrained effect on a generated clip (wavs + PNG + table)")
    parser.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    parser.add_argument("--duration", type=float, default=4.0, help="clip length in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from zoo.demo import format_table, run_demo

    rows = run_demo(args.out, duration_s=args.duration, seed=args.seed)
    print(format_table(rows))
    print(f"\nwrote {args.out}/demo.png and the wavs")
    return 0


_REGISTRARS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _register_train,
    _register_list,
    _register_apply,
    _register_push,
    _register_demo,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``zoo`` argument parser, one subparser per subcommand."""
    parser = argparse.ArgumentParser(prog="zoo", description="Differentiable all-pole filters and an audio-effect zoo.")
    from zoo import __version__

    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _REGISTRARS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zoo`` console script (and ``python -m zoo.cli``).

    Args:
        argv: the arguments after ``zoo``. Default ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if argv and argv[0] in subparsers.choices:
        sub = subparsers.choices[argv[0]]
        if sub.get_default("forward"):
            # Forwarding commands own all their flags (including -h), so argparse must not parse them.
            return sub.get_default("func")(argparse.Namespace(args=argv[1:]))
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``zoo`` command.

Subcommands (one function each; add a new one with a ``_register_<name>`` function listed in
`_REGISTRARS`)::

    zoo train -c recipes/phaser/pedalboard.yaml [LightningCLI options...]
    zoo train -c recipes/phaser/pedalboard.yaml --print_config
    zoo list                      # TODO(lead): list checkpoints/recipes
    zoo apply ...                 # TODO(lead): run a checkpoint on an audio file
    zoo push ...                  # TODO(lead): upload a checkpoint to the Hugging Face Hub
    zoo demo ...                  # TODO(lead): launch the demo

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
# list / apply / push / demo: placeholders for the lead (keep one function pair per subcommand)
# --------------------------------------------------------------------------------------------------


def _register_list(subparsers: argparse._SubParsersAction) -> None:
    # TODO(lead): `zoo list` - list checkpoints/ (and recipes/).
    parser = subparsers.add_parser("list", help="list available checkpoints (not implemented yet)")
    parser.set_defaults(func=_not_implemented("list"))


def _register_apply(subparsers: argparse._SubParsersAction) -> None:
    # TODO(lead): `zoo apply <checkpoint> <input.wav> <output.wav>` - run an effect on a file.
    parser = subparsers.add_parser("apply", help="apply a checkpoint to an audio file (not implemented yet)")
    parser.set_defaults(func=_not_implemented("apply"))


def _register_push(subparsers: argparse._SubParsersAction) -> None:
    # TODO(lead): `zoo push <checkpoint dir> <repo id>` - upload to the Hugging Face Hub (zoo.hub).
    parser = subparsers.add_parser("push", help="push a checkpoint to the Hugging Face Hub (not implemented yet)")
    parser.set_defaults(func=_not_implemented("push"))


def _register_demo(subparsers: argparse._SubParsersAction) -> None:
    # TODO(lead): `zoo demo` - interactive demo.
    parser = subparsers.add_parser("demo", help="run the demo (not implemented yet)")
    parser.set_defaults(func=_not_implemented("demo"))


def _not_implemented(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"zoo {name}: not implemented yet", file=sys.stderr)
        return 2

    return run


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

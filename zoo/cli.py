"""The ``zoo`` command.

Subcommands (one function each; add a new one with a ``_register_<name>`` function listed in
`_REGISTRARS`)::

    zoo train -c recipes/phaser/pedalboard.yaml [LightningCLI options...]
    zoo train -c recipes/phaser/pedalboard.yaml --print_config
    zoo list                                  # effects and shipped checkpoints
    zoo capture-signal --out capture.wav       # a standard signal to play through your gear
    zoo fit compressor dry.wav wet.wav --out my-comp   # fit your own recording -> checkpoint folder
    zoo apply phaser-pedalboard in.wav out.wav # any length, block by block
    zoo report phaser-pedalboard --out page    # offline listening page
    zoo export-checkpoint runs/my_run --out my-effect   # a training run -> checkpoint folder
    zoo export phaser-pedalboard --format torchscript --out phaser.pt   # real-time streaming model
    zoo push phaser-pedalboard user/repo       # Hugging Face Hub
    zoo recipes --copy my_recipes             # the shipped YAML recipes, to edit
    zoo demo                                  # every pretrained effect on a generated clip

Conventions every command follows (the README states them): a user's mistake prints one line,
``zoo <command>: <what was wrong and what to do>``, on stderr and exits with status 2 (tracebacks
only with ``--debug`` or ``ZOO_DEBUG=1``); warnings print ``zoo <command>: warning: ...``; a command
never overwrites an existing output unless ``--force`` is given, never writes onto its own input,
and writes through a temporary file renamed into place on success (an interrupted run leaves
nothing half-written). Ctrl-C exits with status 130.

``zoo train`` forwards every argument after ``train`` verbatim to `zoo.lightning.cli.ZooCLI`
(LightningCLI's ``fit``), so ``zoo train --help`` shows the full training options. The same runs
as ``python -m zoo.cli train ...``.
"""

from __future__ import annotations

import argparse
import sys
import os
import warnings
from typing import Callable, Sequence

from .fit.cli import register_capture_signal, register_fit
from .report.cli import register_report
from .resources import install_hint

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
        raise ImportError(f"`zoo train` needs the training extras: {install_hint('train')} ({error})") from error
    train(args.args)
    return 0


# --------------------------------------------------------------------------------------------------
# list / apply / push / demo (implemented in zoo.commands and zoo.demo)
# --------------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {value}")
    return value


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
    parser.add_argument("effect", help="checkpoint name (zoo list), checkpoint folder, `zoo train` run folder or .ckpt, "
                        "Hub repo id, or effect name")
    parser.add_argument("input", help="input audio file (wav, flac, ...)")
    parser.add_argument("output", help="output audio file (.wav is written as 32-bit float)")
    parser.add_argument("--block-size", type=_positive_int, default=65536, help="frames per block (default 65536)")
    parser.add_argument("--method", default=None, help="implementation override (e.g. td_regrouped)")
    parser.add_argument("--resample", action="store_true", help="resample when the file's rate differs from the effect's")
    parser.add_argument("--nan", choices=("error", "zero"), default="error",
                        help="non-finite input samples: error (default) or replace with zeros and warn")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_apply)


def _apply(args: argparse.Namespace) -> int:
    from zoo.commands import apply_command

    info = apply_command(
        args.effect, args.input, args.output, block_size=args.block_size, method=args.method,
        resample=args.resample, progress=not args.no_progress, force=args.force, nan=args.nan,
        warn=lambda message: _print_warning("apply", message),
    )
    print(f"wrote {args.output}: {info['frames']} frames, {info['channels']} ch, {info['sample_rate']} Hz "
          f"in {info['seconds']:.2f} s")
    return 0


def _register_export_checkpoint(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-checkpoint",
        help="turn a `zoo train` run (folder or .ckpt) into a checkpoint folder with its card",
        description="zoo export-checkpoint runs/my_run --out my-effect",
    )
    parser.add_argument("run", help="run folder (trainer.default_root_dir) or one of its .ckpt files")
    parser.add_argument("--out", required=True, help="checkpoint folder to write")
    parser.add_argument("--force", action="store_true", help="replace an existing folder")
    parser.set_defaults(func=_export_checkpoint)


def _export_checkpoint(args: argparse.Namespace) -> int:
    from zoo.run_export import export_run

    out = export_run(args.run, args.out, force=args.force)
    print(f"wrote {out} (config.json, model.safetensors, README.md); use it with: zoo apply {out} in.wav out.wav")
    return 0


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a fitted effect as a real-time streaming model (TorchScript, ONNX or Neutone .nm)",
        description="zoo export phaser-pedalboard --format torchscript --out phaser.pt",
    )
    parser.add_argument("checkpoint", help="checkpoint name (zoo list), checkpoint folder, `zoo train` run or Hub repo id")
    parser.add_argument("--format", dest="fmt", required=True, metavar="FORMAT",
                        help="torchscript (any block length), onnx (one block length, stateless) or neutone (.nm)")
    parser.add_argument("--out", required=True, help="file to write (ONNX also writes FILE.json, its state layout)")
    parser.add_argument("--block-size", type=_positive_int, default=512, help="ONNX only: samples per block (default 512)")
    parser.add_argument("--channels", type=_positive_int, default=2, help="ONNX only: channels (default 2)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from zoo.export import export_command

    meta = export_command(args.checkpoint, args.fmt, args.out, force=args.force, block_size=args.block_size,
                          channels=args.channels)
    rate = meta.get("sample_rate", meta.get("native_sample_rates", ["?"]))
    print(f"wrote {args.out} ({args.fmt}, {meta.get('effect', meta.get('model_name', ''))}, {rate} Hz); "
          "docs/realtime.md shows how to load it")
    return 0


def _register_push(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("push", help="upload a checkpoint folder (with its card) to the Hugging Face Hub")
    parser.add_argument("checkpoint", nargs="?", help="checkpoint name or folder (config.json + model.safetensors + README.md)")
    parser.add_argument("repo_id", nargs="?", help="Hub repo id, e.g. user/phaser-pedalboard")
    parser.add_argument("--all", metavar="OWNER", default=None, help="push every shipped checkpoint to OWNER/<name> instead")
    parser.add_argument("--token", default=None, help="Hub token (default: the logged-in token / HF_TOKEN)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--revision", default=None, help="branch to push to")
    parser.set_defaults(func=_push)


def _push(args: argparse.Namespace) -> int:
    from zoo.commands import push_all_command, push_command

    if args.all:
        if args.checkpoint:
            raise ValueError("zoo push takes either CHECKPOINT REPO_ID or --all OWNER, not both")
        for name, url in push_all_command(args.all, token=args.token, private=args.private or None,
                                          revision=args.revision).items():
            print(f"{name}: {url}")
        return 0
    if not (args.checkpoint and args.repo_id):
        raise ValueError("zoo push needs CHECKPOINT REPO_ID (e.g. zoo push phaser-pedalboard me/phaser), or --all OWNER")
    url = push_command(args.checkpoint, args.repo_id, token=args.token, private=args.private or None,
                       revision=args.revision)
    print(url)
    return 0


def _register_recipes(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("recipes", help="list the shipped training recipes, or copy them to edit")
    parser.add_argument("--copy", metavar="DIR", default=None, help="copy every recipe into DIR")
    parser.add_argument("--force", action="store_true", help="replace an existing DIR")
    parser.set_defaults(func=_recipes)


def _recipes(args: argparse.Namespace) -> int:
    from zoo.resources import copy_recipes, recipes_dir

    if args.copy:
        out = copy_recipes(args.copy, force=args.force)
        print(f"copied the recipes to {out}; train with: zoo train -c {out}/phaser/pedalboard.yaml")
        return 0
    root = recipes_dir()
    if root is None:
        print("(this installation carries no recipes)")
        return 0
    print(f"Recipes in {root} (zoo train -c <file>; zoo recipes --copy DIR to edit them):")
    for path in sorted(root.rglob("*.yaml")):
        print(f"  {path.relative_to(root)}")
    return 0


def _register_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run every pretrained effect on a generated clip (listening page, wavs, PNG, table)")
    parser.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    parser.add_argument("--duration", type=float, default=4.0, help="clip length in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    import inspect

    try:
        import pedalboard  # noqa: F401  (the real effects the demo compares against)
    except ImportError:
        raise ImportError(f"`zoo demo` renders the real effects with pedalboard, from the train extra: {install_hint('train')}") from None
    from zoo.demo import format_table, run_demo

    from ._io import check_output

    check_output(args.out, force=args.force, kind="folder")
    kwargs = {"force": args.force} if "force" in inspect.signature(run_demo).parameters else {}
    rows = run_demo(args.out, duration_s=args.duration, seed=args.seed, **kwargs)
    print(format_table(rows))
    page = os.path.join(args.out, "index.html")
    if os.path.isfile(page):
        print(f"\nopen {page} in a browser to listen (dry / real effect / our model)")
    else:
        print(f"\nwrote {args.out}/demo.png and the wavs")
    return 0


_REGISTRARS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _register_train,
    _register_list,
    _register_apply,
    _register_export_checkpoint,
    _register_export,
    register_fit,
    register_capture_signal,
    _register_push,
    register_report,
    _register_recipes,
    _register_demo,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``zoo`` argument parser, one subparser per subcommand."""
    parser = argparse.ArgumentParser(prog="zoo", description="Differentiable all-pole filters and an audio-effect zoo.")
    from zoo import __version__

    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also ZOO_DEBUG=1)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _REGISTRARS:
        register(subparsers)
    return parser


def _print_warning(command: str, message: str) -> None:
    print(f"zoo {command}: warning: {message}", file=sys.stderr)


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, KeyError):
        text = f"missing key {text}"
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if len(lines) == 1 else "; ".join(line.strip() for line in lines[:3])


#: exceptions that mean "the user gave us something wrong", not "the zoo has a bug"
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, FileNotFoundError, OSError, ImportError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zoo`` console script (and ``python -m zoo.cli``).

    Args:
        argv: the arguments after ``zoo``. Default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 for a user's mistake (one line on stderr), 130 on Ctrl-C.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("ZOO_DEBUG", "").strip() not in ("", "0", "false", "no")
    if "--debug" in argv[:1]:
        debug, argv = True, argv[1:]
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = argv[0] if argv else ""
    if argv and argv[0] in subparsers.choices:
        sub = subparsers.choices[argv[0]]
        if sub.get_default("forward"):
            # Forwarding commands own all their flags (including -h), so argparse must not parse them.
            return _run(sub.get_default("func"), argparse.Namespace(args=argv[1:]), command, debug)
    args = parser.parse_args(argv)
    debug = debug or args.debug
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    return _run(args.func, args, command, debug)


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace, command: str, debug: bool) -> int:
    if debug:
        return func(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", UserWarning)
            warnings.showwarning = lambda message, *rest, **kw: _print_warning(command, str(message))  # type: ignore[assignment]
            return func(args)
    except KeyboardInterrupt:
        print(f"zoo {command}: interrupted; nothing was overwritten", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        print(f"zoo {command}: {_one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``lapenna`` command: argument parsing, dispatch, and errors as one line on stderr."""

import argparse
import sys
import traceback

from lapenna import __version__
from lapenna.cli import bench, catalog, explain, model_commands, predict, rl_run, train, tune
from lapenna.cli.errors import EXIT_FAILURE, EXIT_USAGE, CommandError

EXAMPLES = """\
examples:
  lapenna train --model lenet5 --dataset mnist_sample --epochs 10
  lapenna train --out runs/demo --resume
  lapenna evaluate runs/demo/best.lpn --dataset mnist_sample
  lapenna predict runs/demo/best.lpn digit.png --top-k 3
  lapenna summary resnet18 --input-shape 32,32,3 --classes 10 --batch-size 128
  lapenna export runs/demo/best.lpn --onnx lenet5.onnx
  lapenna datasets
  lapenna bench --seconds 2 --only mlp lenet5
  lapenna tune examples/tuning/mnist_hyperband.toml --workers 2
  lapenna explain lenet5 --input-shape 28,28,1 --classes 10 --batch-size 128 --measure
  lapenna rl --agent dqn --env CartPole-v1 --timesteps 50000

Exit codes: 0 success, 1 failure while running (missing or unreadable files), 2 usage error.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors in the same one-line form as the command's own."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"lapenna: error: {message}\n")


def build_parser():
    """The argument parser of ``lapenna`` with every subcommand."""
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    parser = _Parser(
        prog="lapenna",
        description=(
            "lapenna: deep learning in which every computation is visible linear algebra. "
            "Train, evaluate, inspect and export models from the command line."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[debug],
    )
    parser.add_argument("--version", action="version", version=f"lapenna {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, required=True
    )
    train.add_parser(subparsers, [debug])
    model_commands.add_evaluate_parser(subparsers, [debug])
    predict.add_parser(subparsers, [debug])
    model_commands.add_summary_parser(subparsers, [debug])
    model_commands.add_export_parser(subparsers, [debug])
    catalog.add_parser(subparsers, [debug])
    bench.add_parser(subparsers, [debug])
    tune.add_parser(subparsers, [debug])
    explain.add_parser(subparsers, [debug])
    rl_run.add_parser(subparsers, [debug])
    return parser


def main(argv=None):
    """Run ``lapenna`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to run itself again
    debug = getattr(args, "debug", False)
    try:
        return args.run(args)
    except CommandError as err:
        if debug:
            traceback.print_exc()
        _report(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        _report("interrupted")
        return 130
    except Exception as err:  # noqa: BLE001 - the command's last line of defence
        if debug:
            traceback.print_exc()
        _report(f"{type(err).__name__}: {err} (run with --debug for the traceback)")
        return EXIT_FAILURE


def _report(message):
    lines = message.splitlines() or [""]
    print(f"lapenna: error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line.strip()}", file=sys.stderr)

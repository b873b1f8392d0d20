"""``lapenna explain``: a model's training step as the GEMMs and passes it runs.

Prints ``Model.explain``'s table for a zoo model or a ``.lpn`` file. With ``--measure``
each op is timed and the folder ``--out`` (default ``explain-<model>``) receives
``roofline.png``, ``time.png`` and ``explain.json``; without it, ``--out`` receives the
JSON only.
"""

from pathlib import Path

import lapenna as lp
from lapenna.cli import common, zoo
from lapenna.cli.errors import CommandError, UsageError

_OPTIMIZERS = ("sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad", "adadelta")


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "explain",
        parents=parents,
        help="a training step as the GEMMs and passes it runs, with a roofline",
        description=(
            "Run one training step (or, with --inference, one forward pass) of a zoo model "
            "or a .lpn file on a random batch and print, layer by layer, the operations the "
            "kernels ran: each GEMM with its shapes and the role of each operand, each "
            "memory-bound pass with the bytes it moves, FLOPs and arithmetic intensity. "
            "With --measure, each operation is timed against this machine's sgemm and copy "
            "ceilings and a roofline, a time chart and the data as JSON are written."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help=f"a .lpn file or {', '.join(zoo.ZOO)}")
    parser.add_argument(
        "--input-shape", metavar="H,W,C", help="H,W,C for a zoo model (default its own)"
    )
    parser.add_argument(
        "--classes", metavar="N", type=common.positive_int, help="classes of a zoo model"
    )
    parser.add_argument(
        "--batch-size", metavar="N", type=common.positive_int, default=32, help="default 32"
    )
    parser.add_argument(
        "--inference", action="store_true", help="explain a forward pass, not a training step"
    )
    parser.add_argument(
        "--optimizer", choices=_OPTIMIZERS, default="adam", help="of the step (default adam)"
    )
    parser.add_argument("--measure", action="store_true", help="time each operation")
    parser.add_argument(
        "--repeats", metavar="N", type=common.positive_int, default=5, help="timed steps"
    )
    parser.add_argument(
        "--out", metavar="FOLDER", help="where the figures and JSON go (default explain-MODEL)"
    )
    parser.add_argument(
        "--threads", metavar="N", type=common.positive_int, help="threads (default: all cores)"
    )
    parser.set_defaults(run=run)


def _model(args):
    if zoo.is_zoo_name(args.model):
        shape = common.parse_shape(args.input_shape) if args.input_shape else None
        return zoo.build(args.model, shape, args.classes)
    if args.input_shape or args.classes:
        raise UsageError("--input-shape and --classes apply to zoo models, not model files")
    if args.model.endswith(".lpn") or Path(args.model).exists():
        return common.load_model_file(args.model)
    return zoo.build(args.model)  # raises the "unknown model" usage error


def _loss(model):
    """Cross-entropy for a classifier (on logits or probabilities as it ends), else MSE."""
    shape = model.output_shape
    if isinstance(shape, tuple) and len(shape) == 2 and (shape[-1] or 0) > 1:
        return common.classification_loss(model)
    return "mean_squared_error"


def run(args):
    if args.threads:
        lp.set_num_threads(args.threads)
    model = _model(args)
    out = None
    if args.out or args.measure:
        out = Path(args.out or f"explain-{Path(args.model).stem}")
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a folder")
    shape = common.sample_shape(model)
    try:
        report = lp.models.explain(
            model,
            shape,
            batch_size=args.batch_size,
            training=not args.inference,
            loss=None if args.inference else _loss(model),
            optimizer=args.optimizer,
            measure=args.measure,
            repeats=args.repeats,
        )
    except ValueError as err:
        raise CommandError(f"cannot explain {args.model}: {err}") from err
    print(report.format())
    if out is None:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "explain.json"]
    report.to_json(written[0])
    if args.measure:
        try:
            report.roofline(out / "roofline.png")
            report.time_chart(out / "time.png")
        except ImportError as err:
            raise CommandError(f"the figures need matplotlib: {err}") from err
        written += [out / "roofline.png", out / "time.png"]
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0

"""``lapenna evaluate``, ``lapenna summary`` and ``lapenna export``: look at a model."""

from pathlib import Path

from lapenna import io
from lapenna.cli import common, detection, sources, zoo
from lapenna.cli.errors import CommandError, UsageError
from lapenna.io.onnx_export import MAX_OPSET, MIN_OPSET


def add_evaluate_parser(subparsers, parents):
    evaluate = subparsers.add_parser(
        "evaluate",
        parents=parents,
        help="loss and accuracy of a model file on a dataset's test split",
        description="Print the loss and accuracy of a .lpn model on a dataset's test split.",
    )
    evaluate.add_argument("model", metavar="MODEL", help="a .lpn model file")
    evaluate.add_argument(
        "--dataset", required=True, metavar="NAME|FOLDER", help="a dataset name or image folder"
    )
    evaluate.add_argument(
        "--batch-size", metavar="N", type=common.positive_int, default=256, help="default 256"
    )
    evaluate.add_argument("--download", action="store_true", help="fetch missing files")
    evaluate.add_argument(
        "--limit", metavar="N", type=common.positive_int, help="quick trials: only N test images"
    )
    evaluate.set_defaults(run=run_evaluate)


def add_summary_parser(subparsers, parents):
    summary = subparsers.add_parser(
        "summary",
        parents=parents,
        help="layers, parameters, MACs and memory of a model",
        description=(
            "Print the table of layers with output shapes, parameters, multiply-accumulates "
            "(MACs) per sample and memory, of a .lpn file or a zoo model."
        ),
    )
    summary.add_argument("model", metavar="MODEL", help=f"a .lpn file or {', '.join(zoo.ZOO)}")
    summary.add_argument(
        "--input-shape", metavar="H,W,C", help="H,W,C for a zoo model (default its own)"
    )
    summary.add_argument(
        "--classes",
        metavar="N",
        type=common.positive_int,
        help="classes of a zoo model (default its own)",
    )
    summary.add_argument(
        "--batch-size", metavar="N", type=common.positive_int, help="also estimate training memory"
    )
    summary.set_defaults(run=run_summary)


def add_export_parser(subparsers, parents):
    export = subparsers.add_parser(
        "export",
        parents=parents,
        help="write a model file as ONNX",
        description=(
            "Convert a .lpn model to an ONNX file for onnxruntime and other runtimes. The "
            "file takes and returns channels-last (NHWC) tensors, as lapenna does; "
            "BatchNormalization uses its moving statistics and dropout is left out."
        ),
    )
    export.add_argument("model", metavar="MODEL", help="a .lpn model file")
    export.add_argument("--onnx", required=True, metavar="OUT", help="the .onnx file to write")
    export.add_argument(
        "--opset",
        type=common.positive_int,
        default=17,
        help=f"ONNX opset, {MIN_OPSET} to {MAX_OPSET} (default 17)",
    )
    export.add_argument(
        "--static-batch", action="store_true", help="fix the batch size to 1 instead of dynamic"
    )
    export.set_defaults(run=run_export)


def run_evaluate(args):
    if detection.wants_evaluation(args):
        return detection.run_evaluate(args)
    model = common.load_model_file(args.model)
    images = sources.load(args.dataset, common.sample_shape(model), args.download)
    if args.limit:
        images.limit(args.limit, seed=0)
    common.check_fits(model, images)
    model.compile(loss=common.classification_loss(model), metrics=["accuracy"])
    loss, accuracy = model.evaluate(
        images.x_test, images.y_test, batch_size=args.batch_size, verbose=0
    )
    print(f"{images.name}: {len(images.x_test):,} test images")
    print(f"test accuracy: {accuracy:.4f}   test loss: {loss:.4f}")
    return 0


def run_summary(args):
    if zoo.is_zoo_name(args.model):
        shape = common.parse_shape(args.input_shape) if args.input_shape else None
        model = zoo.build(args.model, shape, args.classes)
    elif args.input_shape or args.classes:
        raise UsageError("--input-shape and --classes apply to zoo models, not model files")
    elif args.model.endswith(".lpn") or Path(args.model).exists():
        model = common.load_model_file(args.model)
    else:
        zoo.build(args.model)  # raises the "unknown model" usage error
    model.summary(batch_size=args.batch_size)
    return 0


def run_export(args):
    model = common.load_model_file(args.model)
    out = Path(args.onnx)
    if out.parent and not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: folder {out.parent} does not exist")
    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        raise UsageError(f"--opset must be from {MIN_OPSET} to {MAX_OPSET}, got {args.opset}")
    try:
        io.export_onnx(model, out, opset=args.opset, dynamic_batch=not args.static_batch)
    except (ValueError, TypeError) as err:
        raise CommandError(f"cannot export {args.model}: {err}") from err
    except ImportError as err:
        raise CommandError(
            f"ONNX export needs the onnx package: pip install 'lapenna[onnx]' ({err})"
        ) from err
    print(f"wrote {out} (opset {args.opset})")
    return 0

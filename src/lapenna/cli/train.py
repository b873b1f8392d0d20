"""``lapenna train``: train a zoo model or a model file, and write a run folder."""

import importlib.util
import math
import sys
from pathlib import Path

import lapenna as lp
from lapenna import callbacks, data, distributed, optimizers
from lapenna.cli import common, detection, run_folder, sources, zoo
from lapenna.cli.errors import UsageError
from lapenna.data import augment as augmentation
from lapenna.distributed import supervise

# optimizer name -> (class, extra arguments, default learning rate)
OPTIMIZERS = {
    "adam": (optimizers.Adam, {}, 2e-3),
    "adamw": (optimizers.AdamW, {}, 2e-3),
    "nadam": (optimizers.Nadam, {}, 2e-3),
    "rmsprop": (optimizers.RMSprop, {}, 1e-3),
    "sgd": (optimizers.SGD, {"momentum": 0.9}, 0.05),
    "adagrad": (optimizers.Adagrad, {}, 0.05),
    "adadelta": (optimizers.Adadelta, {}, 1.0),
}
SCHEDULES = ("cosine", "constant")
_DATASET_HELP = (
    f"{', '.join(sources.BUILTIN)} (see 'lapenna datasets'), or a folder with one sub-folder "
    "of images per class (or train/ and test/ folders holding such sub-folders)"
)
# light augmentation: shifts of up to 10% of the side, turns of up to 10 degrees
_SHIFT, _TURN = 0.1, 10.0 / 360.0


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "train",
        parents=parents,
        help="train a model on a dataset and write a run folder",
        description=(
            "Train a zoo model or a .lpn model file on a dataset. Writes into the run folder "
            "the best model by validation accuracy (best.lpn), history.csv, "
            "learning_curves.png, confusion_matrix.png (on the test split), TensorBoard logs "
            "(logs/) and class_names.json, and ends with the test accuracy and loss. Images "
            "are scaled to [0, 1] (digits: 0..16 divided by 16, everything else 0..255 "
            "divided by 255)."
        ),
    )
    arg = parser.add_argument
    arg("--model", metavar="NAME|FILE", help=f"{', '.join(zoo.ZOO)}, or a .lpn model file")
    arg("--dataset", metavar="NAME|FOLDER", help=_DATASET_HELP)
    arg("--epochs", metavar="N", type=common.positive_int, help="default 10")
    arg("--batch-size", metavar="N", type=common.positive_int, help="default 32")
    arg("--optimizer", choices=sorted(OPTIMIZERS), help="default adam (sgd: momentum 0.9)")
    arg("--lr", type=common.positive_float, help="peak learning rate (adam 0.002, sgd 0.05)")
    arg("--schedule", choices=SCHEDULES, help="cosine decay to 0 over the run (default)")
    arg("--augment", action="store_true", default=None, help="random small shifts and turns")
    arg(
        "--validation-split",
        metavar="F",
        type=common.fraction,
        help="fraction of the training images held out to pick the best epoch (default 0.1)",
    )
    arg("--seed", type=int, metavar="N", help="seeds weights, shuffling, splits (default 0)")
    arg("--out", metavar="FOLDER", help="the run folder (default runs/<date>-<time>)")
    arg("--resume", action="store_true", help="continue the interrupted run in --out")
    arg("--download", action="store_true", help="fetch missing dataset files")
    arg(
        "--distributed",
        action="store_true",
        help="data parallel over the ranks of mpiexec (--batch-size is per rank; rank 0 "
        "prints and writes the run folder). Start it as 'mpiexec -disable-auto-cleanup -n N "
        "lapenna train ... --distributed': when a rank dies, the others then stop after "
        "the collective timeout (LAPENNA_MPI_TIMEOUT, default 60 s) naming the dead rank, "
        "and --resume continues from the last backup",
    )
    arg("--input-shape", metavar="H,W,C", help="size images of a folder get (default 32,32,3)")
    arg(
        "--backup-every",
        metavar="N",
        type=common.positive_int,
        help="batches between backups of the training state (default 100)",
    )
    arg(
        "--limit",
        metavar="N",
        type=common.positive_int,
        help="for quick trials: only N training and N test images",
    )
    parser.set_defaults(run=run)


def run(args):
    if args.distributed and supervise.under_launcher() and not supervise.supervised():
        # each rank trains in a child process: a rank killed by a signal then ends with an
        # exit code, which MPICH's launcher under -disable-auto-cleanup lets the others see
        argv = getattr(args, "argv", None) or sys.argv[1:]
        return supervise.run(["-m", "lapenna", *argv])
    if detection.wants_detection(args):
        return detection.run_train(args)
    given = {key: getattr(args, key, None) for key in run_folder.DEFAULTS}
    if given["input_shape"] is not None:
        given["input_shape"] = list(common.parse_shape(given["input_shape"]))
    if args.resume and not args.out:
        raise UsageError("--resume needs --out FOLDER: the run folder to continue")
    out = Path(args.out) if args.out else run_folder.default_out()
    options = run_folder.resolve_options(given, out, args.resume)
    folder = run_folder.RunFolder(out)
    dp = _data_parallel(args)
    root = dp is None or dp.is_root
    # 1. data and model (a model file fixes the image shape of a folder dataset)
    lp.set_seed(options["seed"])
    model = _model_file(options["model"])
    shape = options["input_shape"] or (common.sample_shape(model) if model else None)
    images = sources.load(options["dataset"], shape, args.download, options["seed"])
    if options["limit"]:
        images.limit(options["limit"], options["seed"])
    train, validation = _split(images, options["validation_split"], options["seed"])
    model = model or zoo.build(options["model"], images.image_shape, len(images.class_names))
    common.check_fits(model, images)
    global_batch = options["batch_size"] * (dp.size if dp else 1)
    _compile(model, options, steps=math.ceil(len(train[0]) / global_batch), dp=dp)
    if root:
        folder.save_options(options)
        common.write_class_names(folder.path, images.class_names)
        _announce(model, options, images, train, validation)
        if dp is not None:
            _announce_distributed(dp, options)
    # 2. training, unless an interrupted run was stopped after its last epoch
    if not args.resume or folder.backup.exists() or not _all_epochs_done(folder, options):
        _fit(model, options, folder, train, validation, folder.backup.exists(), dp)
    # 3. the best model on the test split, and the figures
    return _finish(model, options, folder, images) if root else 0


def _data_parallel(args):
    if not getattr(args, "distributed", False):
        return None
    if args.augment:
        raise UsageError("--augment is not available with --distributed")
    return distributed.DataParallel()


def _all_epochs_done(folder, options):
    history = run_folder.read_history(folder.history, rewrite=False)
    return len(history.get("epoch", [])) >= options["epochs"]


def _model_file(name):
    if name.endswith(".lpn") or Path(name).is_file():
        return common.load_model_file(name)
    return None


def _split(images, fraction, seed):
    x, y = images.x_train, images.y_train
    if not fraction:
        return (x, y), None
    train, validation = data.split((x, y), (1.0 - fraction, fraction), seed=seed)
    if len(validation[0]) == 0 or len(train[0]) == 0:
        raise UsageError(
            f"--validation-split {fraction} of {len(x)} training images leaves an empty part"
        )
    return train, validation


def _compile(model, options, steps, dp=None):
    cls, extra, default_lr = OPTIMIZERS[options["optimizer"]]
    lr = options["lr"] or default_lr
    if options["schedule"] == "cosine":
        lr = optimizers.schedules.CosineDecay(lr, decay_steps=steps * options["epochs"])
    optimizer = cls(learning_rate=lr, **extra)
    model.compile(
        optimizer=dp.optimizer(optimizer) if dp else optimizer,
        loss=common.classification_loss(model),
        metrics=["accuracy"],
    )


def _announce(model, options, images, train, validation):
    lr = options["lr"] or OPTIMIZERS[options["optimizer"]][2]
    held_out = f", {len(validation[0]):,} validation" if validation else ""
    epochs = f"{options['epochs']} epoch" + ("s" if options["epochs"] != 1 else "")
    print(
        f"{model.name}: {model.count_params():,} parameters | {images.name}: "
        f"{len(train[0]):,} train{held_out}, {len(images.x_test):,} test images of "
        f"{'x'.join(map(str, images.image_shape))} | {epochs} of batch "
        f"{options['batch_size']}, {options['optimizer']} lr {lr:g} ({options['schedule']})"
        + (", augmented" if options["augment"] else "")
    )


def _announce_distributed(dp, options):
    print(
        f"data parallel: {dp.size} ranks x batch {options['batch_size']} = global batch "
        f"{dp.size * options['batch_size']}; a collective waits {dp.comm.timeout:g} s for a "
        "missing rank (LAPENNA_MPI_TIMEOUT). Start mpiexec with -disable-auto-cleanup so "
        "that a rank which dies is named by the others, then continue with --resume"
    )


def _resume_advice(dp, folder):
    return (
        f"continue from the last backup with: mpiexec "
        f"-disable-auto-cleanup -n {dp.size} lapenna train --out {folder.path} --resume "
        "--distributed"
    )


def _augment(x, y):
    x = augmentation.random_translation(x, _SHIFT, _SHIFT, fill_mode="nearest")
    x = augmentation.random_rotation(x, _TURN, fill_mode="nearest")
    return x, y


def _fit(model, options, folder, train, validation, resumed, dp=None):
    monitor = "val_accuracy" if validation else "accuracy"
    root = dp is None or dp.is_root  # rank 0 alone writes the run folder
    history = run_folder.read_history(folder.history, rewrite=root) if resumed else {}
    threshold = run_folder.best_value(history, monitor) if folder.best.exists() else None
    if resumed and (dp is None or dp.is_root):
        print(f"resuming the interrupted run from its last backup ({folder.backup})")
    pipeline = data.Dataset.from_tensor_slices(train).shuffle(len(train[0]))
    pipeline = pipeline.batch(options["batch_size"])
    if options["augment"]:
        pipeline = pipeline.map(_augment)
    settings = {
        "epochs": options["epochs"],
        "validation_data": validation,
        "validation_batch_size": max(options["batch_size"], 256),
        "callbacks": [
            callbacks.BackupAndRestore(folder.backup_dir, save_freq=options["backup_every"]),
            callbacks.ModelCheckpoint(
                folder.best,
                monitor=monitor,
                save_best_only=True,
                mode="max",
                initial_value_threshold=threshold,
            ),
            callbacks.CSVLogger(folder.history, append=resumed),
            *_tensorboard(folder),
        ],
    }
    if dp is None:
        model.fit(pipeline, **settings)
    else:  # each rank its shard of every global batch; writers act on rank 0
        try:
            dp.fit(
                model, *train, batch_size=options["batch_size"], seed=options["seed"], **settings
            )
        except distributed.CollectiveTimeoutError as err:
            # every survivor prints its error; the job ends with MPI_Abort
            dp.comm.abort(err, note=_resume_advice(dp, folder) if dp.is_root else None)
    if resumed and root:  # the epoch interrupted after its row was written is written again
        run_folder.read_history(folder.history)
    if root and folder.backup_dir.is_dir() and not any(folder.backup_dir.iterdir()):
        folder.backup_dir.rmdir()


def _tensorboard(folder):
    """The TensorBoard callback, or none (with a note) when tensorboard is not installed."""
    if importlib.util.find_spec("tensorboard") is None:
        print("no TensorBoard logs: pip install 'lapenna[tensorboard]' to get them")
        return []
    return [callbacks.TensorBoard(folder.logs)]


def _finish(model, options, folder, images):
    best = common.load_model_file(folder.best) if folder.best.exists() else model
    best.compile(loss=common.classification_loss(best), metrics=["accuracy"])
    batch = max(options["batch_size"], 256)
    loss, accuracy = best.evaluate(images.x_test, images.y_test, batch_size=batch, verbose=0)
    scores = best.predict(images.x_test, batch_size=batch, verbose=0)
    _figures(folder, f"{model.name} on {images.name}", images, scores, accuracy)
    folder.save_results({"test_accuracy": accuracy, "test_loss": loss, "test_images": len(scores)})
    print(f"test accuracy: {accuracy:.4f}   test loss: {loss:.4f}   ({len(scores):,} test images)")
    print(f"run folder: {folder.path}")
    return 0


def _figures(folder, title, images, scores, accuracy):
    if importlib.util.find_spec("matplotlib") is None:
        print("no figures: pip install 'lapenna[plot]' to get them")
        return
    history = run_folder.read_history(folder.history)
    metrics = [m for m in ("loss", "accuracy") if m in history]
    if metrics:
        figure = lp.plot.learning_curves(history, metrics=metrics)
        figure.suptitle(f"Learning curves: {title}")
        figure.savefig(folder.curves, format="png", dpi=100)
    figure = lp.plot.confusion_matrix(
        images.y_test, scores.argmax(axis=-1), class_names=images.class_names
    )
    figure.axes[0].set_title(f"{title}: test split, accuracy {accuracy:.4f}")
    figure.savefig(folder.confusion, format="png", dpi=100)

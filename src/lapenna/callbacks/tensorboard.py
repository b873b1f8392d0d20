"""``TensorBoard``: write training curves and weight histograms in TensorBoard's event format.

An event file is a sequence of records, each an ``Event`` protocol buffer framed as
TFRecord (length, masked CRC32C of the length, data, masked CRC32C of the data). The
protocol buffers and the record framing come from the ``tensorboard`` package (no
TensorFlow needed), which is imported only when a writer is opened.
"""

import itertools
import os
import socket
import time

from lapenna.backend import xp
from lapenna.callbacks.base import Callback

_FILE_NUMBER = itertools.count()


def _tensorboard_modules():
    try:
        from tensorboard.compat.proto import event_pb2, graph_pb2, summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter
    except ImportError as err:
        raise ImportError(
            "the TensorBoard callback needs the tensorboard package: "
            "pip install 'lapenna[tensorboard]'"
        ) from err
    return event_pb2, graph_pb2, summary_pb2, RecordWriter


class EventFileWriter:
    """Append ``Event`` records to a new event file in ``folder``, synchronously.

    Args:
        folder: the run's directory (created when missing), e.g. ``logs/train``.

    Example:
        >>> import tempfile
        >>> writer = EventFileWriter(tempfile.mkdtemp())
        >>> writer.scalars(0, {"epoch_loss": 0.5})
        >>> writer.close()
    """

    def __init__(self, folder):
        self._event_pb2, self._graph_pb2, self._summary_pb2, record_writer = _tensorboard_modules()
        os.makedirs(folder, exist_ok=True)
        stamp = f"{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}"
        name = f"events.out.tfevents.{stamp}.{next(_FILE_NUMBER)}"
        self.path = os.path.join(folder, name)
        self._file = open(self.path, "wb")  # noqa: SIM115 (kept open for the whole run)
        self._records = record_writer(self._file)
        self._write(self._event_pb2.Event(file_version="brain.Event:2"))
        self.flush()

    def _write(self, event):
        event.wall_time = time.time()
        self._records.write(event.SerializeToString())

    def scalars(self, step, values):
        """Write one scalar per ``tag: value`` at ``step``."""
        summary = self._summary_pb2.Summary()
        for tag, value in values.items():
            summary.value.add(tag=tag, simple_value=float(value))
        self._write(self._event_pb2.Event(step=int(step), summary=summary))

    def histograms(self, step, arrays, bins=30):
        """Write a histogram of each ``tag: array`` at ``step`` (non-finite values left out)."""
        summary = self._summary_pb2.Summary()
        for tag, array in arrays.items():
            histogram = _histogram(self._summary_pb2, array, bins)
            if histogram is not None:
                summary.value.add(tag=tag, histo=histogram)
        self._write(self._event_pb2.Event(step=int(step), summary=summary))

    def image(self, step, tag, png, shape):
        """Write one PNG-encoded image of ``shape`` (height, width, channels) at ``step``."""
        summary = self._summary_pb2.Summary()
        image = self._summary_pb2.Summary.Image(
            height=int(shape[0]),
            width=int(shape[1]),
            colorspace=int(shape[2]),
            encoded_image_string=png,
        )
        summary.value.add(tag=tag, image=image)
        self._write(self._event_pb2.Event(step=int(step), summary=summary))

    def graph(self, nodes):
        """Write a graph given as ``(name, op, inputs)`` triples."""
        graph = self._graph_pb2.GraphDef()
        for name, op, inputs in nodes:
            graph.node.add(name=name, op=op, input=list(inputs))
        self._write(self._event_pb2.Event(graph_def=graph.SerializeToString()))

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()


def _histogram(summary_pb2, array, bins):
    # the proto's fields are doubles, so the statistics are taken in float64
    values = xp.asarray(array, dtype=xp.float64).ravel()
    values = values[xp.isfinite(values)]
    if values.size == 0:
        return None
    counts, edges = xp.histogram(values, bins=bins)
    return summary_pb2.HistogramProto(
        min=float(values.min()),
        max=float(values.max()),
        num=float(values.size),
        sum=float(values.sum()),
        sum_squares=float(xp.dot(values, values)),
        bucket_limit=edges[1:].tolist(),
        bucket=counts.astype(xp.float64).tolist(),
    )


class TensorBoard(Callback):
    """Log training for TensorBoard: ``tensorboard --logdir logs``.

    Runs ``log_dir/train`` and ``log_dir/validation`` get, at the end of every epoch
    (step = epoch from 0), the scalars ``epoch_loss``, ``epoch_<metric>`` and (train)
    ``epoch_learning_rate``, as Keras names them. With an integer ``update_freq`` the
    training run also gets ``batch_loss``, ``batch_<metric>`` every ``update_freq``
    batches (step = batches since the start of training). Each evaluation writes
    ``evaluation_<name>_vs_iterations`` to the validation run (step = optimizer
    iterations).

    Args:
        log_dir: the directory holding the runs.
        histogram_freq: every this many epochs, write a histogram of each weight, tagged
            with its path (``dense/kernel``); 0 writes none.
        write_graph: write the model's layers as a graph (a chain in layer order, each
            layer with its weights as inputs) for the Graphs tab.
        update_freq: ``"epoch"``, ``"batch"`` (every batch) or a number of batches.

    Raises:
        ValueError: for a negative ``histogram_freq`` or an unknown ``update_freq``.

    Example:
        >>> board = TensorBoard(log_dir="logs/run1", histogram_freq=1)
        >>> # model.fit(x, y, validation_split=0.1, epochs=5, callbacks=[board])
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=False, update_freq="epoch"):
        super().__init__()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                "TensorBoard expects update_freq 'epoch', 'batch' or a number of batches >= 1, "
                f"got {update_freq!r}"
            )
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int):
            raise ValueError(
                f"TensorBoard expects an integer histogram_freq, got {histogram_freq!r}"
            )
        if histogram_freq < 0:
            raise ValueError(f"TensorBoard expects histogram_freq >= 0, got {histogram_freq}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.update_freq = update_freq
        self._writers = {}
        self._global_batch = 0
        self._in_fit = False

    def writer(self, run):
        """The event writer of ``run`` (``"train"`` or ``"validation"``), opened on first use."""
        if run not in self._writers:
            self._writers[run] = EventFileWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._global_batch = 0
        if self.write_graph:
            self.writer("train").graph(_layer_graph(self.model))
            self.writer("train").flush()

    def on_train_batch_end(self, batch, logs=None):
        self._global_batch += 1
        if self.update_freq == "epoch" or self._global_batch % self.update_freq or not logs:
            return
        values = {f"batch_{name}": value for name, value in logs.items()}
        self.writer("train").scalars(self._global_batch, values)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        rate = _learning_rate(self.model)
        if "learning_rate" not in logs and rate is not None:
            logs["learning_rate"] = rate
        train = {f"epoch_{k}": v for k, v in logs.items() if not k.startswith("val_")}
        validation = {f"epoch_{k[4:]}": v for k, v in logs.items() if k.startswith("val_")}
        if train:
            self.writer("train").scalars(epoch, train)
        if validation:
            self.writer("validation").scalars(epoch, validation)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self.writer("train").histograms(epoch, _weight_arrays(self.model))
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if logs and iterations is not None:
            values = {f"evaluation_{k}_vs_iterations": v for k, v in logs.items()}
            self.writer("validation").scalars(int(iterations), values)
            self.writer("validation").flush()
        if not self._in_fit:
            self._close()

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close()


def _learning_rate(model):
    rate = getattr(getattr(model, "optimizer", None), "learning_rate", None)
    try:
        return None if rate is None else float(rate)
    except (TypeError, ValueError):  # a schedule object rather than a number
        return None


def _weight_arrays(model):
    weights = getattr(model, "weights", None) or model.trainable_weights
    return {getattr(w, "path", None) or w.name: w.numpy() for w in weights if hasattr(w, "numpy")}


def _layer_graph(model):
    """``(name, op, inputs)`` nodes: the layers in order, each fed by its weights."""
    nodes = [("input", "Placeholder", ())]
    previous = "input"
    for layer in getattr(model, "layers", None) or []:
        op = type(layer).__name__
        weights = []
        for weight in getattr(layer, "weights", None) or []:
            name = getattr(weight, "path", None) or f"{layer.name}/{weight.name}"
            nodes.append((name, "Variable", ()))
            weights.append(name)
        node = f"{layer.name}/{op}"
        nodes.append((node, op, (previous, *weights)))
        previous = node
    return nodes

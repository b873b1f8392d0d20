"""``CSVLogger``: one CSV row per epoch."""

import csv
import os
import warnings

from lapenna.callbacks.base import Callback


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file.

    The first column is ``epoch`` (from 0, as in Keras's files), then the log names in
    sorted order. Each row is flushed when written, so the file is readable during
    training. A value missing from an epoch (for instance validation that did not run)
    is written as ``NA``.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: add rows to an existing file instead of overwriting it; its header is
            kept and its columns are reused.

    Example:
        >>> logger = CSVLogger("training.csv")
        >>> # model.fit(x, y, epochs=10, callbacks=[logger]); then
        >>> # list(csv.DictReader(open("training.csv")))[-1]["loss"]
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger expects a one-character separator, got {separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None
        self._warned = False

    def on_train_begin(self, logs=None):
        self.keys = self._existing_header() if self.append else None
        self._warned = False
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None
        if self.keys is not None:
            self._writer = csv.writer(self._file, delimiter=self.separator)

    def _existing_header(self):
        if not os.path.exists(self.filename):
            return None
        with open(self.filename, newline="") as file:
            header = next(csv.reader(file, delimiter=self.separator), None)
        return header[1:] if header and header[0] == "epoch" else None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            self.on_train_begin()
        if self._writer is None:
            self.keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            self._writer.writerow(["epoch", *self.keys])
        dropped = sorted(set(logs) - set(self.keys))
        if dropped and not self._warned:
            self._warned = True
            warnings.warn(
                f"CSVLogger: {dropped} are not columns of {self.filename} and are not written",
                stacklevel=2,
            )
        self._writer.writerow([epoch, *(_cell(logs.get(key, "NA")) for key in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(float(value))

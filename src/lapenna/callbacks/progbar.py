"""Progress output: the ``Progbar`` text renderer and the ``ProgbarLogger`` callback.

On a terminal the bar of the running epoch is redrawn in place with a carriage return.
Anywhere else (a file, a pipe, a notebook log) no carriage return is ever written: each
epoch prints its final state once, so logs stay readable.
"""

import numbers
import shutil
import sys
import time

from lapenna.callbacks.base import Callback

_VERBOSE = (0, 1, 2, "auto")


def resolve_verbose(verbose, file=None):
    """Turn ``fit``'s ``verbose`` argument into 0, 1 or 2.

    ``"auto"`` becomes 1 (a live bar) when ``file`` (default ``sys.stdout``) is a terminal
    and 2 (one line per epoch) otherwise.

    Args:
        verbose: 0, 1, 2 or ``"auto"`` (``True``/``False`` count as 1/0).
        file: the stream the progress goes to.

    Returns:
        0, 1 or 2.

    Raises:
        ValueError: for any other value.

    Example:
        >>> import io
        >>> resolve_verbose("auto", file=io.StringIO())
        2
    """
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if not (isinstance(verbose, numbers.Integral) or verbose == "auto") or verbose not in _VERBOSE:
        raise ValueError(f"verbose expects one of {_VERBOSE}, got {verbose!r}")
    if verbose == "auto":
        return 1 if _is_terminal(file if file is not None else sys.stdout) else 2
    return int(verbose)


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


def format_duration(seconds):
    """``3s``, ``1:05`` or ``2:00:07``: a duration the way progress bars show it."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def format_per_step(seconds, unit="step"):
    """``2s/step``, ``25ms/step`` or ``310us/step``."""
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_value(value):
    """Four decimals, or scientific notation for tiny values (as Keras prints them)."""
    if isinstance(value, str):
        return value
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


class Progbar:
    """A text progress bar for a known (or unknown) number of steps.

    Args:
        target: the number of steps, or ``None`` when unknown.
        width: characters inside the brackets.
        verbose: 1 draws the bar; 2 prints only one summary line when finished.
        file: the stream (default ``sys.stdout`` at the time of each write).
        dynamic: redraw in place with ``\\r``; default: when ``file`` is a terminal.
        interval: minimum seconds between two redraws on a terminal.
        prefix: text put before the summary line of ``verbose=2`` (e.g. ``"Epoch 1/3"``).
        unit: the unit of the time per step.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = Progbar(4, width=8, file=out)
        >>> for step in range(1, 5):
        ...     bar.update(step, {"loss": 0.5})
        >>> out.getvalue().startswith("4/4 [========] - ")
        True
    """

    def __init__(
        self,
        target,
        width=30,
        verbose=1,
        file=None,
        dynamic=None,
        interval=0.05,
        prefix="",
        unit="step",
    ):
        if target is not None and (not isinstance(target, int) or target < 0):
            raise ValueError(f"Progbar expects a step count >= 0 or None, got {target!r}")
        self.target, self.width, self.verbose = target, width, verbose
        self.file, self.interval, self.prefix, self.unit = file, interval, prefix, unit
        self.dynamic = _is_terminal(self._stream()) if dynamic is None else dynamic
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn_width = 0
        self.finished = False

    def _stream(self):
        return self.file if self.file is not None else sys.stdout

    def update(self, current, values=None, finalize=None):
        """Show progress ``current`` (steps done) with the given named values.

        Args:
            current: steps done so far.
            values: dict name -> float shown after the bar (already averaged).
            finalize: whether this is the last update; default: ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.finished:
            return
        now = time.perf_counter()
        if self.verbose == 1 and self.dynamic and not finalize:
            if now - self._last_draw < self.interval:
                return
            line = self._bar_line(current, values, now, finished=False)
            # a redrawn line must not wrap, or each redraw would leave a stale row behind
            columns = shutil.get_terminal_size((100, 20)).columns
            self._draw("\r" + line[: max(columns - 1, 20)], now)
        elif finalize:
            self._finish(current, values, now)

    def _finish(self, current, values, now):
        self.finished = True
        if self.verbose == 1:
            line = self._bar_line(current, values, now, finished=True)
            self._draw(("\r" if self.dynamic else "") + line, now)
        elif self.verbose == 2:
            parts = [self.prefix] if self.prefix else []
            parts.append(f"{current}/{self.target if self.target is not None else current}")
            line = " - ".join(parts + self._timing(current, now, True) + _values(values))
            self._draw(line, now)
        self._stream().write("\n")
        self._stream().flush()

    def _draw(self, line, now):
        visible = len(line.lstrip("\r"))
        if line.startswith("\r") and visible < self._drawn_width:
            line += " " * (self._drawn_width - visible)  # erase the tail of a longer line
        self._drawn_width = max(visible, self._drawn_width)
        self._last_draw = now
        stream = self._stream()
        stream.write(line)
        stream.flush()

    def _bar_line(self, current, values, now, finished):
        if self.target is None:
            head = f"{current}/Unknown"
        else:
            digits = len(str(self.target))
            done = int(self.width * min(current, self.target) / max(self.target, 1))
            arrow = ">" if current < self.target and done > 0 else ""
            filled = "=" * (done - len(arrow)) + arrow
            head = f"{current:>{digits}}/{self.target} [{filled}{'.' * (self.width - done)}]"
        return " - ".join([head, *self._timing(current, now, finished), *_values(values)])

    def _timing(self, current, now, finished):
        elapsed = now - self.start
        per_step = elapsed / current if current else 0.0
        if finished or self.target is None:
            return [f"{format_duration(elapsed)} {format_per_step(per_step, self.unit)}"]
        return [f"ETA: {format_duration(per_step * (self.target - current))}"]


def _values(values):
    return [f"{name}: {format_value(value)}" for name, value in (values or {}).items()]


class ProgbarLogger(Callback):
    """Print training progress: the default for ``fit(verbose=1)`` and ``verbose=2``.

    ``verbose=1`` prints ``Epoch 1/3`` and a live bar per epoch (steps, ETA, then the time
    per step once done, and the running loss and metrics); off a terminal only the
    finished bar is printed. ``verbose=2`` prints one line per epoch with its time and
    results. ``verbose=0`` prints nothing. ``evaluate`` and ``predict`` get a bar too; the
    validation pass inside ``fit`` does not (its results end the epoch's line).

    Args:
        file: the stream to write to (default ``sys.stdout`` at the time of writing).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> logger = ProgbarLogger(file=out)
        >>> logger.set_params({"epochs": 1, "steps": 2, "verbose": 2})
        >>> logger.on_train_begin()
        >>> logger.on_epoch_begin(0)
        >>> logger.on_train_batch_end(1, {"loss": 0.5})
        >>> logger.on_epoch_end(0, {"loss": 0.5})
        >>> out.getvalue().split(" - ")[:2]
        ['Epoch 1/1', '2/2']
    """

    def __init__(self, file=None):
        super().__init__()
        self.file = file
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self._bar = None
        self._seen = 0
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = resolve_verbose(self.params.get("verbose", 1), self.file)
        self.epochs = self.params.get("epochs", 1)
        self.target = self.params.get("steps")

    def _start(self, prefix=""):
        self._seen = 0
        self._bar = Progbar(self.target, verbose=self.verbose, file=self.file, prefix=prefix)

    def _step(self, batch, logs):
        self._seen = batch + 1
        if self._bar is not None:
            self._bar.update(self._seen, logs, finalize=False)

    def _end(self, logs):
        if self._bar is not None:
            self._bar.update(self._seen, logs, finalize=True)
            self._bar = None

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose == 0:
            return
        header = f"Epoch {epoch + 1}/{self.epochs}"
        if self.verbose == 1:
            stream = self.file if self.file is not None else sys.stdout
            stream.write(header + "\n")
            stream.flush()
        self._start(prefix=header if self.verbose == 2 else "")

    def on_train_batch_end(self, batch, logs=None):
        self._step(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._end(logs)
        if self.target is None:
            self.target = self._seen  # an unknown epoch length is known after one epoch

    def on_test_begin(self, logs=None):
        if not self._in_fit and self.verbose:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._end(logs)

    def on_predict_begin(self, logs=None):
        if self.verbose:
            self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch, None)

    def on_predict_end(self, logs=None):
        self._end(None)

"""A real time series for forecasting, offline: a neuron's membrane potential.

The trace matplotlib draws in its logo and front-page example (``membrane.dat`` in
matplotlib's sample data): 12,000 float32 samples of a recorded membrane potential, one every
0.5 ms (6 s), in units of 100 mV (``x * 100`` is millivolts, as matplotlib's example converts
it). It ships with matplotlib (the ``plot`` extra), so nothing is downloaded; the file is
checked by size, SHA-256 and finiteness before use.

Example:
    >>> from lapenna.datasets import membrane
    >>> (x_train, y_train), (x_test, y_test) = membrane.load_data(window=32, horizon=5)
    >>> x_train.shape[1:], y_train.shape[1:]  # doctest: +SKIP
    ((32, 1), (1,))
"""

import importlib.util
from pathlib import Path

from lapenna.backend import host_np as np
from lapenna.datasets._embedded import missing_extra
from lapenna.datasets.download import sha256_of
from lapenna.datasets.errors import DatasetFormatError

FILE_NAME = "membrane.dat"
SHA256 = "ab795b429201a5bb575c6370d5e17090dfcfc317431aa9382f8e881366f43357"
SAMPLES = 12000
SAMPLE_INTERVAL = 0.0005  # seconds


def data_file():
    """The path of ``membrane.dat`` inside the installed matplotlib (not imported)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise missing_extra("membrane", "matplotlib", "no module named 'matplotlib'")
    return Path(spec.submodule_search_locations[0]) / "mpl-data" / "sample_data" / FILE_NAME


def load_series(path=None):
    """The whole trace: ``(times, values)``, float32 arrays of 12,000 samples (seconds and
    units of 100 mV).

    Raises:
        DatasetFormatError: the file has the wrong size or checksum, or non-finite values.
    """
    path = Path(path) if path is not None else data_file()
    if not path.is_file():
        raise FileNotFoundError(f"membrane: {path} does not exist (it ships with matplotlib)")
    size = path.stat().st_size
    if size != SAMPLES * 4:
        raise DatasetFormatError(f"{path}: {size} bytes, expected {SAMPLES * 4} (float32)")
    if sha256_of(path) != SHA256:
        raise DatasetFormatError(f"{path}: sha256 differs from matplotlib's {SHA256}")
    values = np.fromfile(path, dtype="<f4")
    if not np.all(np.isfinite(values)):
        raise DatasetFormatError(f"{path}: holds non-finite values")
    times = (np.arange(SAMPLES) * SAMPLE_INTERVAL).astype("float32")
    return times, values.astype("float32")


def windows(series, window, horizon, stride=1):
    """``(x, y)``: inputs ``series[i : i + window]`` of shape (n, window, 1) and targets
    ``series[i + window + horizon - 1]`` of shape (n, 1), for i = 0, stride, 2 stride..."""
    series = np.asarray(series, dtype="float32")
    starts = np.arange(0, len(series) - window - horizon + 1, stride)
    if len(starts) == 0:
        raise ValueError(
            f"membrane.windows: a series of {len(series)} samples has no window of {window} "
            f"steps with a target {horizon} steps ahead"
        )
    x = series[starts[:, None] + np.arange(window)][..., None]
    y = series[starts + window + horizon - 1][:, None]
    return x, y


def load_data(window=32, horizon=5, test_split=0.25, stride=1, path=None):
    """Forecasting windows of the trace, split in time (the test part is the later one).

    Args:
        window: input steps per sample.
        horizon: the target is ``horizon`` steps after a window's last step.
        test_split: the fraction of the trace (at its end) whose targets form the test set.
        stride: steps between the starts of consecutive training windows (test windows use
            every start).
        path: another copy of ``membrane.dat``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 ``(n, window, 1)`` and ``(n, 1)``.
        The naive forecast of a target is ``x[:, -1]``, the last value seen.
    """
    for name, value, low in (("window", window, 1), ("horizon", horizon, 1), ("stride", stride, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"membrane.load_data expects {name} an int >= {low}, got {value!r}")
    if not isinstance(test_split, int | float) or not 0 < test_split < 1:
        raise ValueError(f"membrane.load_data expects 0 < test_split < 1, got {test_split!r}")
    _, series = load_series(path)
    cut = int(round(len(series) * (1 - test_split)))
    train = windows(series[:cut], window, horizon, stride)
    # test windows may look back into the training part, never their targets
    test = windows(series[cut - window - horizon + 1 :], window, horizon)
    return train, test

"""The membrane-potential series shipped with matplotlib, and its forecasting windows."""

import numpy as np
import pytest

from extras import requires
from lapenna.datasets import DatasetFormatError, membrane

pytestmark = requires("matplotlib")


def test_series_and_windows_line_up():
    times, values = membrane.load_series()
    assert values.shape == times.shape == (12000,) and values.dtype == np.float32
    assert times[1] == pytest.approx(0.0005)
    (x_train, y_train), (x_test, y_test) = membrane.load_data(window=10, horizon=3, stride=5)
    # train window k starts at 5k; its target is 3 steps after its last sample
    np.testing.assert_array_equal(x_train[2, :, 0], values[10:20])
    assert y_train[2, 0] == values[10 + 10 + 3 - 1]
    # the test targets are exactly the last quarter of the trace, in order
    np.testing.assert_array_equal(y_test[:, 0], values[9000:])
    np.testing.assert_array_equal(x_test[0, :, 0], values[9000 - 3 - 10 + 1 : 9000 - 3 + 1])
    assert y_train.shape[0] == len(range(0, 9000 - 10 - 3 + 1, 5))


def test_a_wrong_file_is_refused(tmp_path):
    bad = tmp_path / "membrane.dat"
    bad.write_bytes(np.zeros(12000, "<f4").tobytes())
    with pytest.raises(DatasetFormatError, match="sha256"):
        membrane.load_series(bad)
    bad.write_bytes(b"\0" * 12)
    with pytest.raises(DatasetFormatError, match="12 bytes, expected 48000"):
        membrane.load_series(bad)
    with pytest.raises(FileNotFoundError, match="ships with matplotlib"):
        membrane.load_series(tmp_path / "absent.dat")


def test_bad_arguments():
    with pytest.raises(ValueError, match="horizon an int >= 1"):
        membrane.load_data(horizon=0)
    with pytest.raises(ValueError, match="test_split"):
        membrane.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="no window of 50 steps"):
        membrane.windows(np.zeros(20), 50, 1)

"""lapenna.plot: learning curves, image grids and confusion matrices as PNG files."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp
from callback_driver import FakeModel, drive_fit

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, size):
    assert Path(path).read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG" and image.size == size
        # not a blank canvas: the drawing put dark pixels on the white background
        assert min(image.convert("L").getextrema()) < 100


def texts(axes):
    return [t.get_text() for t in axes.texts]


def test_importing_plot_does_not_import_matplotlib():
    src = str(Path(lp.__file__).parents[1])
    code = (
        f"import sys; sys.path.insert(0, {src!r}); import lapenna, lapenna.plot; "
        "print('matplotlib' in sys.modules, 'tensorboard' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_learning_curves_from_a_history(tmp_path):
    history = drive_fit(FakeModel(), epochs=6, steps=2)
    path = tmp_path / "plots" / "curves.png"
    figure = lp.plot.learning_curves(history, metrics=("loss", "accuracy"), path=path)
    assert_png(path, (960, 380))
    loss_axes, accuracy_axes = figure.axes
    assert figure.get_suptitle() == "Learning curves"
    assert loss_axes.get_title() == "loss: training vs validation"
    assert (loss_axes.get_xlabel(), loss_axes.get_ylabel()) == ("epoch", "loss")
    assert accuracy_axes.get_ylabel() == "accuracy"
    assert [t.get_text() for t in loss_axes.get_legend().get_texts()] == ["training", "validation"]
    train, validation = loss_axes.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert list(validation.get_ydata()) == pytest.approx(history.history["val_loss"])


def test_learning_curves_from_a_dict_and_errors():
    figure = lp.plot.learning_curves({"loss": [3.0, 2.0, 1.5]}, metrics="loss")
    (axes,) = figure.axes
    assert axes.get_title() == "loss" and len(axes.get_lines()) == 1
    with pytest.raises(ValueError, match=r"cannot plot \['accuracy'\].*holds \['loss'\]"):
        lp.plot.learning_curves({"loss": [1.0]}, metrics=("loss", "accuracy"))
    with pytest.raises(TypeError, match="a History or a dict"):
        lp.plot.learning_curves([1.0, 2.0])


def test_images_grid_marks_wrong_predictions(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((10, 12, 12, 1), dtype=np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    scores = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 2, 2, 0, 1, 1, 0]]
    path = tmp_path / "grid.png"
    figure = lp.plot.images(
        x, labels, scores, class_names=["cat", "dog", "fox"], path=path, ncols=4
    )
    assert_png(path, (640, 580))
    assert len(figure.axes) == 10
    titles = [axes.get_title() for axes in figure.axes]
    assert titles[:5] == ["cat", "dog", "fox", "cat", "fox (true dog)"]
    assert titles[8] == "dog (true fox)"
    assert figure.get_suptitle() == "8 of 10 right, 2 wrong (in red)"
    wrong = figure.axes[4]
    assert wrong.title.get_color() == "tab:red"
    assert all(spine.get_visible() for spine in wrong.spines.values())
    assert not any(spine.get_visible() for spine in figure.axes[0].spines.values())


def test_images_of_colour_tensors_and_labels_only():
    x = lp.tensor(np.linspace(-2.0, 3.0, 3 * 5 * 5 * 3, dtype=np.float32).reshape(3, 5, 5, 3))
    figure = lp.plot.images(x, labels=[2, 0, 1])
    assert [axes.get_title() for axes in figure.axes] == ["2", "0", "1"]
    shown = figure.axes[0].get_images()[0].get_array()
    assert shown.shape == (5, 5, 3) and float(shown.min()) == 0.0 and float(shown.max()) == 1.0
    with pytest.raises(ValueError, match=r"shape \(N, H, W\).*got shape \(5, 5\)"):
        lp.plot.images(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="got 3 images but 2 labels"):
        lp.plot.images(np.zeros((3, 4, 4)), labels=[0, 1])


def test_confusion_matrix_counts_match_sklearn(tmp_path):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    path = tmp_path / "confusion.png"
    figure = lp.plot.confusion_matrix(
        y_true, np.eye(4)[y_pred], class_names=["zero", "one", "two", "three"], path=path
    )
    assert_png(path, (570, 470))
    axes = figure.axes[0]
    expected = metrics.confusion_matrix(y_true, y_pred)
    assert texts(axes) == [str(v) for v in expected.ravel()]
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("predicted", "true")
    assert [t.get_text() for t in axes.get_xticklabels()] == ["zero", "one", "two", "three"]
    assert axes.get_title() == "Confusion matrix"


def test_confusion_matrix_normalized_and_errors():
    figure = lp.plot.confusion_matrix(
        [0, 0, 1, 1, 1], [0, 1, 1, 1, 0], class_names="abc", normalize=True
    )
    axes = figure.axes[0]
    # rows: class a (2 samples), class b (3 samples), class c (none: a row of zeros)
    assert texts(axes) == ["0.50", "0.50", "0.00", "0.33", "0.67", "0.00", "0.00", "0.00", "0.00"]
    assert axes.get_title() == "Confusion matrix (each row sums to 1)"
    with pytest.raises(ValueError, match="got 3 true labels but 2 predictions"):
        lp.plot.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="got class 2 but only 2 class names"):
        lp.plot.confusion_matrix([0, 1, 2], [0, 1, 1], class_names=["a", "b"])
    with pytest.raises(ValueError, match="normalize False, True, 'true', 'pred' or 'all'"):
        lp.plot.confusion_matrix([0], [0], normalize="rows")
    with pytest.raises(ValueError, match=">= 0, got -1"):
        lp.plot.confusion_matrix([0, -1], [0, 0])

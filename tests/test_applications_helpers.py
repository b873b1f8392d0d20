"""The zoo's helpers and files: ``weights=`` loading, native model files, preprocessing,
decoding predictions and feature extraction."""

import numpy as np
import pytest

import lapenna as lp
from extras import requires
from lapenna import applications

SPARSE = "sparse_categorical_crossentropy"


def test_pretrained_weight_names_are_refused_with_guidance(tmp_path):
    with pytest.raises(ValueError, match="never downloads pretrained weights") as info:
        applications.ResNet50(weights="imagenet")
    assert "save_weights" in str(info.value) and "ResNet50(weights=" in str(info.value)
    with pytest.raises(FileNotFoundError, match="no weights file"):
        applications.LeNet5(weights=tmp_path / "missing.weights.h5")


@pytest.mark.parametrize(
    "suffix",
    [".safetensors", ".npz", pytest.param(".weights.h5", marks=requires("h5py")), ".lpn"],
)
def test_weights_argument_loads_a_saved_file(tmp_path, suffix):
    arguments = {"input_shape": (32, 32, 3), "classes": 3, "stem": "cifar", "base_filters": 4}
    source = applications.ResNet18(**arguments)
    x = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    source.compile("sgd", SPARSE)  # one step moves the batch statistics off their start
    source.fit(x, np.array([0, 2]), epochs=1, verbose=0)
    path = tmp_path / f"resnet18_small{suffix}"
    if suffix == ".lpn":
        source.save(path)
    else:
        source.save_weights(path)
    loaded = applications.ResNet18(**arguments, weights=path)
    assert len(loaded.weights) == len(source.weights)
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(source.predict(x, verbose=0), loaded.predict(x, verbose=0))
    with pytest.raises(ValueError):
        applications.ResNet18(**{**arguments, "base_filters": 8}, weights=path)


def test_preprocess_input_modes():
    rgb = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    tf = applications.preprocess_input(rgb, mode="tf")
    assert tf.dtype == np.float32
    np.testing.assert_allclose(tf[0, 0, 0], [-1.0, 128 / 127.5 - 1, 1.0], atol=1e-6)
    torch_mode = applications.preprocess_input(rgb)
    expected = (np.array([0, 128, 255]) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(torch_mode[0, 0, 0], expected, rtol=1e-5)
    caffe = applications.preprocess_input(rgb.astype(np.float64), mode="caffe")
    assert caffe.dtype == np.float64
    np.testing.assert_allclose(caffe[0, 0, 0], [255 - 103.939, 128 - 116.779, 0 - 123.68])
    original = rgb.astype(np.float32)
    applications.preprocess_input(original)
    assert original[0, 0, 0].tolist() == [0.0, 128.0, 255.0]
    tensor = applications.preprocess_input(lp.tensor(original), mode="caffe")
    assert isinstance(tensor, lp.Tensor) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor.numpy(), caffe.astype(np.float32), rtol=1e-6)
    with pytest.raises(ValueError, match="3 channels"):
        applications.preprocess_input(np.zeros((1, 4, 4, 1)), mode="torch")
    with pytest.raises(ValueError, match="mode in"):
        applications.preprocess_input(rgb, mode="imagenet")


def test_decode_predictions():
    scores = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]], dtype=np.float32)
    decoded = applications.decode_predictions(scores, top=2)
    assert [[(i, n) for i, n, _ in row] for row in decoded] == [
        [(1, "1"), (2, "2")],
        [(2, "2"), (0, "0")],
    ]
    assert decoded[0][0][2] == pytest.approx(0.5)
    named = applications.decode_predictions(lp.tensor(scores), top=1, class_names="abc")
    assert named == [[(1, "b", pytest.approx(0.5))], [(2, "c", pytest.approx(0.4))]]
    assert len(applications.decode_predictions(scores)[0]) == 3  # top=5 > 3 classes: all
    with pytest.raises(ValueError, match="top to be a positive int"):
        applications.decode_predictions(scores, top=0)
    with pytest.raises(ValueError, match="2 class names"):
        applications.decode_predictions(scores, class_names=["a", "b"])
    with pytest.raises(ValueError, match="samples, classes"):
        applications.decode_predictions(scores[0])


def test_feature_extractor_shares_layers_and_matches_the_model():
    model = applications.ResNet18(
        input_shape=(32, 32, 3), classes=4, stem="cifar", base_filters=4, classifier_activation=None
    )
    names = ["conv1_relu", "layer2_block2_out", "avg_pool"]
    features = applications.feature_extractor(model, names)
    assert [t.shape for t in features.outputs] == [(None, 32, 32, 4), (None, 16, 16, 8), (None, 32)]
    assert features.name == f"{model.name}_features"
    x = np.random.default_rng(2).random((2, 32, 32, 3), dtype=np.float32)
    pooled = features.predict(x, verbose=0)[2]
    head = model.get_layer("predictions")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), pooled @ head.kernel.numpy() + head.bias.numpy(), atol=1e-5
    )
    single = applications.feature_extractor(model, "layer1_block1_out", name="stage1")
    assert single.output_shape == (None, 32, 32, 4) and single.name == "stage1"
    assert {id(w) for w in single.weights} <= {id(w) for w in model.weights}
    with pytest.raises(ValueError, match="no layer named 'layer9'"):
        applications.feature_extractor(model, ["layer9"])
    with pytest.raises(ValueError, match="layer name or a non-empty list"):
        applications.feature_extractor(model, [])


SMALL = [  # every builder at a small width, with the input it gets
    (applications.LeNet5, {}, (28, 28, 1)),
    (applications.AlexNet, {"base_filters": 4, "fc_units": 16}, (63, 63, 3)),
    (applications.VGG11, {"base_filters": 4, "fc_units": 16, "batch_norm": True}, (32, 32, 3)),
    (applications.ResNet18, {"base_filters": 4}, (32, 32, 3)),
    (applications.resnet.ResNet50, {"base_filters": 2, "stem": "cifar"}, (16, 16, 3)),
    (applications.GoogLeNet, {}, (33, 33, 3)),
    (applications.mobilenet.MobileNetV2, {"alpha": 0.1}, (32, 32, 3)),
    (applications.DenseNet121, {"growth_rate": 2, "base_filters": 4}, (29, 29, 3)),
    (applications.UNet, {"depth": 2, "base_filters": 4}, (16, 16, 1)),
    (applications.SRCNN, {}, (16, 16, 1)),
    (applications.FSRCNN, {"d": 8, "s": 4, "m": 1}, (8, 8, 1)),
    (applications.DCGANDiscriminator, {"base_filters": 4}, (28, 28, 1)),
]


@pytest.mark.parametrize("builder, kwargs, shape", SMALL, ids=[c[0].__name__ for c in SMALL])
def test_native_model_file_round_trip(tmp_path, builder, kwargs, shape):
    model = builder(input_shape=shape, **kwargs)
    path = tmp_path / "model.lpn"
    model.save(path)
    loaded = lp.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_generator_round_trip(tmp_path):
    generator = applications.DCGANGenerator(latent_dim=8, base_filters=4)
    generator.save(tmp_path / "generator.lpn")
    loaded = lp.models.load_model(tmp_path / "generator.lpn")
    noise = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.predict(noise, verbose=0), generator.predict(noise, verbose=0)
    )

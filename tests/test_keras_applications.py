"""Zoo models against ``keras.applications`` (``weights=None``): equal parameter counts,
and, with Keras's weights copied across, equal outputs and training steps.

The comparisons run on 32x32 and 64x64 images (the counts also at Keras's 224x224) to\nstay fast.
DenseNet121 follows torchvision's batch normalization momentum by default (0.9 where Keras
keeps 0.99 of the old statistics): its outputs equal Keras's; with ``batch_norm="keras"`` a
training step does too, moving statistics included.
"""

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
from lapenna.testing.keras_reference import compare_with_keras, keras_module  # noqa: E402

COUNTS = {  # include_top=True (the same at 64x64 as at 224x224: the tops pool globally)
    "ResNet50": 25_636_712,
    "ResNet50V2": 25_613_800,
    "DenseNet121": 8_062_504,
    "MobileNetV2": 3_538_984,
}


def test_parameter_counts_equal_keras_at_the_default_shapes():
    keras = keras_module()
    for include_top, expected in ((True, 3_538_984), (False, 2_257_984)):
        ours = lp.applications.MobileNetV2(include_top=include_top, weights=None)
        theirs = keras.applications.MobileNetV2(include_top=include_top, weights=None)
        assert ours.count_params() == theirs.count_params() == expected
        assert ours.input_shape == theirs.input_shape
        assert ours.output_shape == theirs.output_shape


def _images(n=4, size=64, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, size, size, 3)).astype("float32")
    return x, rng.standard_normal((n, classes)).astype("float32")


def _builder(name, size=32):
    def build(k):
        return getattr(k.applications, name)(
            weights=None, input_shape=(size, size, 3), classifier_activation=None
        )

    return build


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_outputs_equal_keras_with_copied_weights(name):
    x, _ = _images(n=2, size=32)
    report = compare_with_keras(_builder(name), x, check_shapes="weighted", train=False)
    assert report.params == COUNTS[name]


def test_xception_equals_keras():
    x, _ = _images(n=2, size=71)
    report = compare_with_keras(
        _builder("Xception", size=71), x, check_shapes="weighted", train=False
    )
    assert report.params == 22_910_480


def test_vgg16_features_equal_keras():
    x, _ = _images(n=2)
    report = compare_with_keras(
        lambda k: k.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3)),
        x,
        check_shapes="weighted",
        train=False,
    )
    assert report.params == 14_714_688


def test_one_training_step_through_resnet50_stages_equals_keras():
    """Keras's ResNet50 up to ``conv3_block4_out`` (22 convolutions, both kinds of block),
    pooled into a new head: one step."""

    def build(k):
        base = k.applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3))
        x = k.layers.GlobalAveragePooling2D()(base.get_layer("conv3_block4_out").output)
        return k.Model(base.input, k.layers.Dense(3)(x))

    # 64x64 images leave 8x8 maps at conv3 (32x32 would leave 4x4, where batch statistics
    # over so few values amplify float32 rounding past the tolerances whenever the two
    # frameworks' BLAS sum in another order, e.g. with another thread count)
    x, y = _images(n=4, size=64)
    # float32 through 22 convolutions and training-mode batch statistics of 4 images: the
    # input gradients of lapenna alone move by up to 2.4e-3 (values up to 0.4) between one
    # and two BLAS threads (in float64 by 8e-15), so they are compared at that scale
    report = compare_with_keras(build, x, y, check_shapes="weighted", atol=5e-3)
    assert "conv2_block1_0_conv/kernel" in report.gradient_errors


def test_resnet50_in_a_sequential_model_like_keras():
    keras = keras_module()
    shapes = []
    for k in (keras, lp):
        model = k.Sequential()
        model.add(k.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3)))
        model.add(k.layers.GlobalAveragePooling2D())
        model.add(k.layers.Dense(2, activation="softmax"))
        shapes.append((model.input_shape, model.output_shape, model.count_params()))
    # 23,587,712 in the headless ResNet50, 4,098 in the new head
    assert shapes[0] == shapes[1] == ((None, 32, 32, 3), (None, 2), 23_591_810)


def _fresh_names_builder(name, size, **kwargs):
    """Keras's InceptionV3 leaves most layers unnamed; in a fresh session their automatic
    names are the ones lapenna gives, so the layers pair by name."""

    def build(k):
        if k is not lp:
            k.backend.clear_session()
        return getattr(k.applications, name)(weights=None, input_shape=(size, size, 3), **kwargs)

    return build


def test_inception_v3_equals_keras():
    x, _ = _images(n=2, size=75)
    build = _fresh_names_builder("InceptionV3", 75, classifier_activation=None)
    report = compare_with_keras(build, x, check_shapes="weighted", train=False)
    assert report.params == 23_851_784
    names = [
        sorted(x.name for x in m.layers if type(x).__name__ != "InputLayer")
        for m in (report.keras_model, report.model)
    ]
    assert names[0] == names[1] and "conv2d_93" in names[1]
    headless = lp.applications.InceptionV3(include_top=False, pooling="avg")
    assert headless.count_params() == 21_802_784
    assert headless.output_shape == (None, 2048)
    assert headless.input_shape == (None, None, None, 3)


def test_inception_v3_module_like_keras():
    keras = keras_module()
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 5, 5, 3)).astype("float32")
    got = lp.applications.inception_v3.preprocess_input(pixels)
    want = keras.applications.inception_v3.preprocess_input(pixels.copy())
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6)
    with pytest.raises(ValueError, match="channels-last"):
        lp.applications.inception_v3.preprocess_input(pixels, data_format="channels_first")
    with pytest.raises(ValueError, match="at least 75x75"):
        lp.applications.inception_v3.InceptionV3(input_shape=(64, 64, 3))


def test_efficientnet_b0_equals_keras_with_its_input_normalization():
    """0..255 pixels in; the stem's Normalization adapted on them in Keras (mean and
    variance copied across with the other weights), so the comparison covers it."""
    x = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")

    def build(k):
        if k is not lp:
            k.backend.clear_session()
        model = k.applications.EfficientNetB0(
            weights=None, input_shape=(32, 32, 3), classifier_activation=None
        )
        if k is not lp:
            model.get_layer("normalization").adapt(x)
        return model

    report = compare_with_keras(build, x, check_shapes="weighted", train=False)
    assert report.params == 5_330_571
    statistics = report.model.get_layer("normalization").get_weights()
    np.testing.assert_allclose(statistics[0], x.mean(axis=(0, 1, 2)), rtol=1e-5)
    names = [
        sorted(x.name for x in m.layers if type(x).__name__ != "InputLayer")
        for m in (report.keras_model, report.model)
    ]
    assert names[0] == names[1] and "block6d_se_excite" in names[1]


def test_efficientnet_variants_and_module_like_keras():
    # Keras's counts for B1..B3 (with the top at the default sizes, and without the top):
    # the same code as B0, other width and depth coefficients
    expected = {
        "EfficientNetB1": (7_856_239, 6_575_239, 240, 1280),
        "EfficientNetB2": (9_177_569, 7_768_569, 260, 1408),
        "EfficientNetB3": (12_320_535, 10_783_535, 300, 1536),
    }
    for name, (top, headless, size, channels) in expected.items():
        builder = getattr(lp.applications.efficientnet, name)
        model = builder()
        assert (model.count_params(), model.input_shape) == (top, (None, size, size, 3))
        model = builder(include_top=False, pooling="max")
        assert (model.count_params(), model.output_shape) == (headless, (None, channels))
    keras = keras_module()
    pixels = np.random.default_rng(3).uniform(0, 255, (1, 4, 4, 3)).astype("float32")
    got = lp.applications.efficientnet.preprocess_input(pixels)
    np.testing.assert_array_equal(got, keras.applications.efficientnet.preprocess_input(pixels))
    with pytest.raises(ValueError, match="input_tensor is not supported"):
        lp.applications.EfficientNetB0(input_tensor=object())


def test_unadapted_normalization_passes_inputs_through_like_keras():
    """EfficientNet with weights=None relies on it: mean 0 and variance 1 before adapt."""
    keras = keras_module()
    x = np.random.default_rng(4).standard_normal((2, 3, 3, 3)).astype("float32")
    layer = lp.layers.Normalization()
    with pytest.warns(UserWarning, match="no statistics yet"):
        got = layer(x).numpy()
    np.testing.assert_array_equal(got, np.asarray(keras.layers.Normalization()(x)))
    np.testing.assert_array_equal(got, x)


def test_mobilenet_v1_equals_keras_with_alpha_and_depth_multiplier():
    """Every layer's output shape too (Keras's names throughout, its top included)."""
    x, _ = _images(n=2, size=32)
    build = _fresh_names_builder(
        "MobileNet", 32, alpha=0.5, depth_multiplier=2, classes=10, classifier_activation=None
    )
    report = compare_with_keras(build, x, check_shapes=True, train=False)
    assert report.params == 1_651_802
    assert report.model.name == report.keras_model.name == "mobilenet_0.50_32"
    # Keras's counts: 4,253,864 with the top at 224x224, 3,228,864 without
    assert lp.applications.MobileNet().count_params() == 4_253_864
    headless = lp.applications.mobilenet.MobileNet(include_top=False, pooling="avg")
    assert (headless.count_params(), headless.output_shape) == (3_228_864, (None, 1024))


def test_mobilenet_module_is_keras_and_keeps_the_torchvision_v2():
    keras = keras_module()
    pixels = np.random.default_rng(5).uniform(0, 255, (2, 3, 3, 3)).astype("float32")
    got = lp.applications.mobilenet.preprocess_input(pixels)
    want = keras.applications.mobilenet.preprocess_input(pixels.copy())
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6)
    # the torchvision MobileNetV2 (3,504,872 trainable parameters) is still there
    torchvision_v2 = lp.applications.mobilenet.MobileNetV2()
    assert sum(w.size for w in torchvision_v2.trainable_weights) == 3_504_872
    with pytest.raises(ValueError, match="depth_multiplier"):
        lp.applications.MobileNet(depth_multiplier=0)
    with pytest.raises(ValueError, match="dropout"):
        lp.applications.MobileNet(dropout=1.5)


def test_one_training_step_through_densenet121_with_keras_batch_norm_equals_keras():
    """DenseNet121 up to the end of its second dense block (two blocks, a transition; 4x4
    maps at 32x32), pooled into a new head: one step, moving statistics included."""

    def build(k):
        if k is lp:
            base = k.applications.DenseNet121(
                include_top=False, input_shape=(32, 32, 3), batch_norm="keras"
            )
            features = base.get_layer("block2_layer12_concat").output
        else:
            base = k.applications.DenseNet121(
                include_top=False, weights=None, input_shape=(32, 32, 3)
            )
            features = base.get_layer("conv3_block12_concat").output
        x = k.layers.GlobalAveragePooling2D()(features)
        return k.Model(base.input, k.layers.Dense(3)(x))

    x, y = _images(n=4, size=32)
    report = compare_with_keras(build, x, y, check_shapes="weighted")
    assert "inputs" in report.gradient_errors
    with pytest.raises(ValueError, match="batch_norm"):
        lp.applications.DenseNet121(batch_norm="tf")


def test_nasnet_mobile_equals_keras():
    """Keras refuses ``NASNetMobile`` on its torch backend (an open bug there); the test
    calls the ``NASNet`` function it wraps with NASNetMobile's arguments."""
    from keras.src.applications.nasnet import NASNet

    def build(k):
        if k is lp:
            return k.applications.NASNetMobile(input_shape=(32, 32, 3), classifier_activation=None)
        return NASNet(
            (32, 32, 3), penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
            skip_reduction=False, filter_multiplier=2, weights=None, default_size=224,
            classifier_activation=None, name="nasnet_mobile",
        )  # fmt: skip

    x, _ = _images(n=2, size=32)
    report = compare_with_keras(build, x, check_shapes="weighted", train=False)
    assert report.params == 5_326_716
    assert report.model.name == report.keras_model.name
    headless = lp.applications.nasnet.NASNetMobile(include_top=False)
    assert headless.output_shape == (None, 7, 7, 1056)  # 224x224 by default, as in Keras
    pixels = np.random.default_rng(6).uniform(0, 255, (1, 2, 2, 3)).astype("float32")
    want = keras_module().applications.nasnet.preprocess_input(pixels.copy())
    np.testing.assert_allclose(lp.applications.nasnet.preprocess_input(pixels), want, rtol=1e-6)

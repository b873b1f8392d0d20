"""The zoo's builders: torchvision's parameter counts, published MACs, output shapes, names,
argument checks, and the preprocessing, decoding and feature-extraction helpers.

Building a model does no math (symbolic shapes only), so the 224x224 ImageNet models are
built for real; their MACs are summed over the graph's nodes from the symbolic shapes.
"""

import doctest

import numpy as np
import pytest

import lapenna as lp
from lapenna import applications
from lapenna.layers import InputLayer
from lapenna.utils.tree import flatten

_BUILT = {}


def _imagenet(builder, **kwargs):
    """Each 224x224 ImageNet model is built once per session: building draws ~100M random
    weights for the VGGs, and these tests only read counts and shapes."""
    key = (builder.__name__, tuple(sorted(kwargs.items())))
    if key not in _BUILT:
        _BUILT[key] = builder(**kwargs)
    return _BUILT[key]


def _nodes(model):
    seen, stack, nodes = set(), list(flatten(model.outputs)), []
    while stack:
        node = stack.pop().node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.parent_tensors)
    return [n for n in nodes if not isinstance(n.layer, InputLayer)]


def symbolic_macs(model):
    """One sample's multiply-accumulates: ``layer.macs`` of every node, with the shapes of
    its symbolic inputs and outputs (batch set to 1)."""

    def shapes(structure):
        found = [(1, *t.shape[1:]) for t in flatten(structure)]
        return found[0] if len(found) == 1 else found

    return sum(n.layer.macs(shapes(n.inputs), shapes(n.outputs)) for n in _nodes(model))


def trainable_count(model):
    return sum(w.size for w in model.trainable_weights)


TORCHVISION_PARAMS = [
    (applications.AlexNet, {}, 61_100_840),
    (applications.VGG16, {}, 138_357_544),
    (applications.VGG16, {"batch_norm": True}, 138_365_992),
    (applications.VGG19, {}, 143_667_240),
    (applications.ResNet18, {}, 11_689_512),
    (applications.ResNet34, {}, 21_797_672),
    (applications.resnet.ResNet50, {}, 25_557_032),
    (applications.resnet.ResNet101, {}, 44_549_160),
    (applications.resnet.ResNet152, {}, 60_192_808),
    (applications.GoogLeNet, {}, 6_624_904),
    (applications.mobilenet.MobileNetV2, {}, 3_504_872),
    (applications.DenseNet121, {}, 7_978_856),
    (applications.DenseNet169, {}, 14_149_480),
]


@pytest.mark.parametrize(
    "builder, kwargs, expected",
    TORCHVISION_PARAMS,
    ids=[f"{b.__name__}{'_bn' if k else ''}" for b, k, _ in TORCHVISION_PARAMS],
)
def test_trainable_parameters_equal_torchvision(builder, kwargs, expected):
    model = _imagenet(builder, **kwargs)
    assert model.output_shape == (None, 1000)
    assert trainable_count(model) == expected
    # batch normalization's moving statistics are the only non-trainable weights
    moving = sum(
        w.size for w in model.weights if w.path.endswith(("moving_mean", "moving_variance"))
    )
    assert model.count_params() == expected + moving


def test_lenet5_has_61706_parameters_and_the_classic_maps():
    model = applications.LeNet5()
    assert model.count_params() == trainable_count(model) == 61_706
    assert model.get_layer("conv1").compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 6)
    assert applications.LeNet5(include_top=False).output_shape == (None, 5, 5, 16)


@pytest.mark.parametrize(
    "builder, published",
    [
        (applications.ResNet18, 1.81e9),
        (applications.resnet.ResNet50, 4.09e9),
        (applications.VGG16, 15.47e9),
        (applications.mobilenet.MobileNetV2, 0.30e9),
        (applications.GoogLeNet, 1.50e9),
        (applications.DenseNet121, 2.83e9),
        (applications.AlexNet, 0.71e9),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_macs_match_published_figures(builder, published):
    macs = symbolic_macs(_imagenet(builder))
    assert abs(macs - published) / published < 0.04, macs


def test_summarize_counts_the_same_macs_as_the_graph():
    """One real 224x224 forward (ResNet-18, 1.8 GMACs) through ``summarize``, and smaller
    models whose traced MACs must equal the symbolic sum exactly."""
    summary = lp.models.summarize(_imagenet(applications.ResNet18))
    assert abs(summary.macs - 1.81e9) / 1.81e9 < 0.04
    assert summary.trainable_params == 11_689_512
    for model in (
        applications.mobilenet.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35),
        applications.GoogLeNet(input_shape=(47, 47, 3)),
        applications.UNet((32, 32, 1), depth=2, base_filters=4),
    ):
        assert lp.models.summarize(model).macs == symbolic_macs(model) > 0


@pytest.mark.parametrize(
    "builder, kwargs, shape, pooled_channels",
    [
        (applications.ResNet18, {}, (None, 7, 7, 512), 512),
        (
            applications.resnet.ResNet50,
            {"input_shape": (97, 131, 3), "base_filters": 8},
            (None, 4, 5, 256),
            256,
        ),
        (
            applications.ResNet34,
            {"stem": "cifar", "input_shape": (33, 33, 3)},
            (None, 5, 5, 512),
            512,
        ),
        (applications.ResNet18, {"input_shape": (None, None, 3)}, (None, None, None, 512), 512),
        (applications.VGG16, {"input_shape": (75, 99, 3), "base_filters": 8}, (None, 2, 3, 64), 64),
        (applications.AlexNet, {"input_shape": (63, 63, 3)}, (None, 1, 1, 256), 256),
        (applications.GoogLeNet, {"input_shape": (99, 99, 3)}, (None, 3, 3, 1024), 1024),
        (
            applications.mobilenet.MobileNetV2,
            {"input_shape": (101, 101, 3)},
            (None, 4, 4, 1280),
            1280,
        ),
        (applications.mobilenet.MobileNetV2, {"alpha": 1.4}, (None, None, None, 1792), 1792),
        (applications.DenseNet121, {"input_shape": (63, 65, 3)}, (None, 2, 2, 1024), 1024),
        (applications.LeNet5, {"input_shape": (32, 32, 1)}, (None, 6, 6, 16), 16),
    ],
)
def test_headless_output_shapes(builder, kwargs, shape, pooled_channels):
    assert builder(include_top=False, **kwargs).output_shape == shape
    for pooling in ("avg", "max"):
        model = builder(include_top=False, pooling=pooling, **kwargs)
        assert model.output_shape == (None, pooled_channels)
        assert model.layers[-1].name == f"{pooling}_pool"


def test_include_top_pools_any_size_and_scales_with_width():
    small = applications.ResNet18(input_shape=(45, 51, 3), classes=7, base_filters=8)
    assert small.output_shape == (None, 7)
    assert small.get_layer("predictions").kernel.shape == (64, 7)
    cifar = applications.resnet.ResNet50(input_shape=(32, 32, 3), stem="cifar", base_filters=4)
    assert cifar.get_layer("layer4_block3_out").compute_output_shape((None, 4, 4, 128))[-1] == 128
    assert cifar.output_shape == (None, 1000)


@pytest.mark.parametrize(
    "size, adapter",
    [(224, None), (448, "adaptive_pool"), (32, "adaptive_upsample"), (63, "adaptive_upsample")],
)
def test_vgg_top_averages_to_7x7_like_torch(size, adapter):
    model = applications.VGG11(input_shape=(size, size, 3), base_filters=8, fc_units=16)
    assert model.get_layer("fc1").kernel.shape == (7 * 7 * 64, 16)
    names = {layer.name for layer in model.layers}
    assert ({"adaptive_pool", "adaptive_upsample"} & names) == ({adapter} - {None})


def test_top_refuses_sizes_it_cannot_average_exactly():
    with pytest.raises(ValueError, match=r"feature maps are 3x3.*7x7"):
        applications.VGG11(input_shape=(100, 100, 3), base_filters=8, fc_units=16)
    with pytest.raises(ValueError, match="fixed input height and width"):
        applications.AlexNet(input_shape=(None, None, 3), base_filters=8, fc_units=16)
    with pytest.raises(ValueError, match="fixed height and width"):
        applications.DCGANDiscriminator(input_shape=(None, 28, 1))


def test_layers_have_readable_unique_names():
    model = applications.resnet.ResNet50(input_shape=(64, 64, 3), base_filters=4)
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    for expected in (
        "conv1",
        "conv1_bn",
        "conv1_relu",
        "pool1_pad",
        "pool1",
        "layer1_block1_conv1",
        "layer2_block1_conv2_pad",
        "layer2_block1_conv2",
        "layer2_block1_downsample_conv",
        "layer2_block1_downsample_bn",
        "layer2_block2_add",
        "layer4_block3_out",
        "avg_pool",
        "predictions",
    ):
        assert expected in names
    # the bottleneck strides on its 3x3 convolution (v1.5), not on the 1x1
    assert model.get_layer("layer2_block1_conv1").strides == (1, 1)
    assert model.get_layer("layer2_block1_conv2").strides == (2, 2)
    assert all(not getattr(layer, "use_bias", False) for layer in model.layers[:-1])
    bn = model.get_layer("conv1_bn")
    assert (bn.epsilon, bn.momentum) == (1e-5, 0.9)
    for builder in (
        applications.GoogLeNet,
        applications.mobilenet.MobileNetV2,
        applications.DenseNet121,
    ):
        names = [layer.name for layer in builder(include_top=False).layers]
        assert len(names) == len(set(names))


def test_batch_norm_variants_and_classifier_activation():
    plain = applications.VGG13(input_shape=(32, 32, 3), base_filters=4, fc_units=8)
    normed = applications.VGG13(
        input_shape=(32, 32, 3), base_filters=4, fc_units=8, batch_norm=True
    )
    bns = [layer for layer in normed.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(bns) == 10 and not any("bn" in layer.name for layer in plain.layers)
    assert normed.name == "vgg13_bn"
    x = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
    probabilities = plain.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    logits = applications.VGG13(
        input_shape=(32, 32, 3), base_filters=4, fc_units=8, classifier_activation=None
    )
    assert (
        logits.get_layer("predictions").activation is not plain.get_layer("predictions").activation
    )


def test_minimum_input_sizes():
    cases = [
        (applications.LeNet5, 12, {}),
        (applications.AlexNet, 63, {"base_filters": 4, "include_top": False}),
        (applications.VGG19, 32, {"base_filters": 4, "include_top": False}),
        (applications.GoogLeNet, 15, {"include_top": False}),
        (applications.DenseNet121, 29, {"growth_rate": 2, "base_filters": 4}),
    ]
    for builder, size, kwargs in cases:
        channels = 1 if builder is applications.LeNet5 else 3
        model = builder(input_shape=(size, size, channels), **kwargs)
        assert all(d >= 1 for t in _nodes(model) for d in flatten(t.outputs)[0].shape[1:] if d)
        with pytest.raises(ValueError, match=f"at least {size}x{size}"):
            builder(input_shape=(size - 1, size, channels), **kwargs)
    assert applications.ResNet18(input_shape=(1, 1, 3), base_filters=2).output_shape == (None, 1000)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: applications.ResNet18(pooling="mean"), ValueError, "pooling None, 'avg' or 'max'"),
        (lambda: applications.ResNet18(classes=0), ValueError, "classes to be a positive int"),
        (lambda: applications.ResNet18(stem="tiny"), ValueError, "stem 'imagenet' or 'cifar'"),
        (lambda: applications.ResNet(20), ValueError, r"depth in \[18, 34, 50, 101, 152\]"),
        (lambda: applications.VGG(12), ValueError, "depth in"),
        (lambda: applications.ResNet18(input_shape=(32, 32)), ValueError, "input_shape"),
        (lambda: applications.ResNet18(input_shape=(32, 32, None)), ValueError, "channel"),
        (lambda: applications.ResNet18(include_top="yes"), ValueError, "include_top"),
        (lambda: applications.ResNet18(classifier_activation="nope"), ValueError, "nope"),
        (lambda: applications.mobilenet.MobileNetV2(alpha=0), ValueError, "alpha"),
        (lambda: applications.UNet((30, 32, 3)), ValueError, "divisible by 16"),
        (lambda: applications.LeNet5(subsampling="l2"), ValueError, "subsampling"),
        (lambda: applications.FSRCNN(m=-1), ValueError, "non-negative"),
        (lambda: applications.SRCNN(filters=(64,)), ValueError, "two filter counts"),
        (lambda: applications.ResNet18(weights=3), TypeError, "path of a local weights file"),
    ],
)
def test_bad_arguments_raise_before_building(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_generative_and_dense_prediction_shapes():
    assert applications.UNet((64, 48, 1), classes=3, depth=3, base_filters=4).output_shape == (
        None,
        64,
        48,
        3,
    )
    assert applications.UNet(depth=2, base_filters=4).output_shape == (None, None, None, 2)
    assert applications.SRCNN().count_params() == 8_129
    assert applications.SRCNN(padding="valid", input_shape=(33, 33, 1)).output_shape == (
        None,
        21,
        21,
        1,
    )
    assert applications.FSRCNN((10, 12, 3), scale=4).output_shape == (None, 40, 48, 3)
    generator = applications.DCGANGenerator()
    assert generator.output_shape == (None, 28, 28, 1)
    assert generator.get_layer("dense").kernel.shape == (100, 7 * 7 * 256)
    assert [generator.get_layer(f"deconv{i}").filters for i in (1, 2, 3)] == [128, 64, 1]
    discriminator = applications.DCGANDiscriminator()
    assert discriminator.output_shape == (None, 1)
    assert discriminator.get_layer("conv2").filters == 128
    images = generator.predict(np.zeros((2, 100), dtype=np.float32), verbose=0)
    assert np.all(np.abs(images) <= 1.0)


_DOCTESTED = [
    "alexnet",
    "dcgan",
    "densenet",
    "features",
    "googlenet",
    "imagenet_utils",
    "lenet",
    "mobilenet",
    "resnet",
    "keras_resnet",
    "keras_mobilenet",
    "keras_mobilenet_v1",
    "xception",
    "inception_v3",
    "efficientnet",
    "nasnet",
    "super_resolution",
    "unet",
    "vgg",
]


@pytest.mark.parametrize("module", _DOCTESTED)
def test_docstring_examples_run(module):
    found = doctest.testmod(getattr(applications, module), optionflags=doctest.ELLIPSIS)
    assert found.failed == 0 and found.attempted > 0


def test_exported_from_lapenna():
    assert lp.applications is applications
    for public in applications.__all__:
        assert callable(getattr(applications, public))

"""The gradient-check registry for the neural-network ops (convolution, pooling,
normalization, dropout, resampling). Inputs are tiny so every check is fast; the wider
grids of geometries are in tests/test_nn_ops.py."""

import numpy as np

from lapenna import ops
from op_cases_core import Case, distinct, r


def _bn_train(x, g, b):
    return ops.batch_norm(x, g, b, training=True)[0]


def _unpool(x):
    values, idx = ops.max_pool2d_with_argmax(x, 2, padding="same")
    return ops.max_unpool2d(values * values, idx, x.shape[1:3])


def _seeded_dropout(x):
    return ops.dropout(x, 0.4, generator=np.random.default_rng(3))


OP_CASES = {
    "conv": [
        Case(ops.conv, [r(2, 5, 3), r(3, 3, 2)]),
        Case(
            lambda x, w: ops.conv(x, w, strides=2, padding="same"), [r(1, 5, 4, 2), r(2, 2, 2, 3)]
        ),
        Case(lambda x, w: ops.conv(x, w, padding=1), [r(1, 3, 4, 3, 1), r(2, 2, 2, 1, 2)]),
    ],
    "conv1d": [
        Case(
            lambda x, w, b: ops.conv1d(x, w, b, strides=2, padding="same", dilation_rate=1),
            [r(2, 7, 2), r(3, 2, 3), r(3)],
        ),
        Case(lambda x, w: ops.conv1d(x, w, dilation_rate=2, groups=2), [r(1, 8, 4), r(3, 2, 4)]),
    ],
    "conv2d": [
        Case(ops.conv2d, [r(2, 5, 4, 2), r(3, 2, 2, 3)]),
        Case(
            lambda x, w, b: ops.conv2d(x, w, b, strides=(2, 1), padding="same"),
            [r(1, 5, 5, 2), r(2, 2, 2, 2), r(2)],
        ),
        Case(
            lambda x, w: ops.conv2d(x, w, padding=((1, 0), (2, 1)), dilation_rate=2),
            [r(1, 5, 4, 1), r(2, 3, 1, 2)],
        ),
        Case(lambda x, w: ops.conv2d(x, w, strides=2, groups=2), [r(1, 5, 5, 4), r(3, 3, 2, 4)]),
        Case(
            lambda x, w, b: ops.conv2d(x, w, b, padding="same", activation="relu"),
            [r(2, 5, 4, 2), r(3, 3, 2, 3), r(3)],
        ),
    ],
    "conv3d": [
        Case(
            lambda x, w: ops.conv3d(x, w, strides=(1, 2, 1), padding="same"),
            [r(1, 3, 4, 3, 2), r(2, 2, 2, 2, 2)],
        )
    ],
    "depthwise_conv2d": [
        Case(
            lambda x, w, b: ops.depthwise_conv2d(x, w, b, padding="same"),
            [r(1, 4, 4, 2), r(3, 3, 2, 2), r(4)],
        ),
        Case(lambda x, w: ops.depthwise_conv2d(x, w, strides=2), [r(2, 5, 5, 3), r(2, 2, 3, 1)]),
    ],
    "conv1d_transpose": [
        Case(lambda x, w: ops.conv1d_transpose(x, w, strides=2), [r(2, 3, 2), r(3, 3, 2)])
    ],
    "conv2d_transpose": [
        Case(
            lambda x, w, b: ops.conv2d_transpose(x, w, b, strides=2, padding="same"),
            [r(1, 3, 2, 2), r(3, 3, 2, 2), r(2)],
        ),
        Case(
            lambda x, w: ops.conv2d_transpose(x, w, strides=(2, 3), output_padding=(1, 2)),
            [r(1, 2, 2, 1), r(2, 3, 2, 1)],
        ),
        Case(
            lambda x, w: ops.conv2d_transpose(x, w, dilation_rate=2), [r(1, 3, 3, 2), r(2, 2, 1, 2)]
        ),
    ],
    "conv3d_transpose": [
        Case(
            lambda x, w: ops.conv3d_transpose(x, w, strides=2, padding="same"),
            [r(1, 2, 2, 2, 1), r(2, 2, 2, 2, 1)],
        )
    ],
    "max_pool1d": [Case(lambda x: ops.max_pool1d(x, 3, 2, padding="same"), [distinct(2, 7, 2)])],
    "max_pool2d": [
        Case(ops.max_pool2d, [distinct(2, 4, 5, 2)]),
        Case(lambda x: ops.max_pool2d(x, 3, 2, padding="same"), [distinct(1, 5, 6, 2)]),
        Case(lambda x: ops.max_pool2d(x, (2, 3), (1, 2)), [distinct(1, 4, 7, 1)]),
    ],
    "max_pool3d": [Case(lambda x: ops.max_pool3d(x, 2, padding="same"), [distinct(1, 3, 3, 2, 2)])],
    "avg_pool1d": [Case(lambda x: ops.avg_pool1d(x, 2, 1), [r(2, 5, 2)])],
    "avg_pool2d": [
        Case(ops.avg_pool2d, [r(2, 4, 4, 2)]),
        Case(lambda x: ops.avg_pool2d(x, 3, 2, padding="same"), [r(1, 5, 4, 2)]),
    ],
    "avg_pool3d": [
        Case(lambda x: ops.avg_pool3d(x, (1, 2, 2), padding="same"), [r(1, 2, 3, 3, 2)])
    ],
    "global_avg_pool1d": [Case(ops.global_avg_pool1d, [r(2, 5, 3)])],
    "global_avg_pool2d": [
        Case(ops.global_avg_pool2d, [r(2, 3, 4, 3)]),
        Case(lambda x: ops.global_avg_pool2d(x, keepdims=True), [r(1, 2, 2, 2)]),
    ],
    "global_avg_pool3d": [Case(ops.global_avg_pool3d, [r(1, 2, 3, 2, 2)])],
    "global_max_pool1d": [Case(ops.global_max_pool1d, [distinct(2, 5, 3)])],
    "global_max_pool2d": [
        Case(lambda x: ops.global_max_pool2d(x, keepdims=True), [distinct(2, 3, 3, 2)])
    ],
    "global_max_pool3d": [Case(ops.global_max_pool3d, [distinct(1, 2, 2, 3, 2)])],
    "max_pool2d_with_argmax": [
        Case(lambda x: ops.max_pool2d_with_argmax(x, 3, 2)[0], [distinct(1, 5, 5, 2)])
    ],
    "max_unpool2d": [Case(_unpool, [distinct(2, 3, 5, 2)])],
    "upsample1d": [Case(lambda x: ops.upsample1d(x, 3), [r(2, 3, 2)])],
    "upsample2d": [
        Case(ops.upsample2d, [r(1, 2, 3, 2)]),
        Case(lambda x: ops.upsample2d(x, (2, 3), "bilinear"), [r(1, 3, 2, 2)]),
    ],
    "upsample3d": [Case(lambda x: ops.upsample3d(x, (1, 2, 2)), [r(1, 2, 2, 2, 1)])],
    "resize2d": [
        Case(lambda x: ops.resize2d(x, (5, 2)), [r(2, 3, 4, 2)]),
        Case(lambda x: ops.resize2d(x, (2, 5), "nearest"), [r(1, 4, 3, 1)]),
    ],
    "zero_pad1d": [Case(lambda x: ops.zero_pad1d(x, (1, 2)), [r(2, 3, 2)])],
    "zero_pad2d": [Case(lambda x: ops.zero_pad2d(x, ((1, 0), (2, 1))), [r(1, 2, 3, 2)])],
    "zero_pad3d": [Case(lambda x: ops.zero_pad3d(x, 1), [r(1, 1, 2, 2, 1)])],
    "crop1d": [Case(lambda x: ops.crop1d(x, (1, 2)), [r(2, 5, 2)])],
    "crop2d": [Case(lambda x: ops.crop2d(x, ((1, 0), (0, 2))), [r(1, 3, 4, 2)])],
    "crop3d": [Case(lambda x: ops.crop3d(x, 1), [r(1, 3, 3, 4, 1)])],
    "batch_norm": [
        Case(_bn_train, [r(4, 3, 2, 3), r(3), r(3)]),
        Case(lambda x: ops.batch_norm(x, axis=1, training=True)[0], [r(3, 4, 2)]),
        Case(
            lambda x, g, b, m, v: ops.batch_norm(x, g, b, m, v),
            [r(3, 2, 3), r(3), r(3), r(3), r(3, low=0.5)],
        ),
    ],
    "layer_norm": [
        Case(lambda x, g, b: ops.layer_norm(x, g, b), [r(3, 5), r(5), r(5)]),
        Case(lambda x, g: ops.layer_norm(x, g, axis=(1, 2)), [r(2, 3, 2, 2), r(3, 2)]),
        Case(lambda x: ops.layer_norm(x, axis=0), [r(4, 2)]),
    ],
    "dropout": [Case(_seeded_dropout, [r(3, 5)])],
}

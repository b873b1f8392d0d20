"""The Layer lifecycle: lazy build, weights found by walking, freezing, config, errors."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.testing import run_layer_test


class Scale(layers.Layer):
    """The course's custom layer: weights made in build from the input shape."""

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], 2), initializer="ones")

    def call(self, inputs):
        return lp.ops.matmul(inputs, self.w)


class Block(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parts = [layers.Dense(4), layers.Dense(4)]
        self.heads = {"a": layers.Dense(1), "b": Scale()}

    def call(self, inputs):
        h = self.parts[1](self.parts[0](inputs))
        return lp.ops.concatenate([self.heads["a"](h), self.heads["b"](h)], axis=-1)


def test_custom_layer_builds_lazily_from_input_shape():
    layer = Scale()
    assert not layer.built and layer.weights == []
    out = layer(np.ones((3, 5), dtype=np.float32))
    assert layer.built and out.shape == (3, 2)
    assert layer.weights[0].shape == (5, 2) and layer.weights[0].path == "scale/w"
    assert out.numpy().tolist() == [[5.0, 5.0]] * 3


def test_weights_found_in_attributes_lists_and_dicts():
    block = Block()
    block(np.ones((2, 3), dtype=np.float32))
    names = [w.path for w in block.weights]
    assert names == [
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
        "dense_2/kernel",
        "dense_2/bias",
        "scale/w",
    ]
    assert block.count_params() == 3 * 4 + 4 + 4 * 4 + 4 + 4 + 1 + 8
    block.parts.append(layers.Dense(2))  # appended later: still found, no tracker needed
    assert block.parts[-1] in block._sublayers()


def test_freezing_freezes_everything_inside():
    block = Block()
    block(np.ones((2, 3), dtype=np.float32))
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 7
    assert not any(w.requires_grad for w in block.weights)
    block.parts[0].trainable = True
    assert block.trainable_weights == []  # the frozen parent still hides it
    block.trainable = True
    assert len(block.trainable_weights) == 7


def test_default_names_are_unique():
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.Dense(1, name="head").name == "head"
    with pytest.raises(ValueError, match="without '/'"):
        layers.Dense(1, name="a/b")


def test_get_and_set_weights_check_shapes_and_change_nothing_on_error():
    layer = layers.Dense(2)
    layer(np.ones((1, 3), dtype=np.float32))
    kernel, bias = layer.get_weights()
    with pytest.raises(
        ValueError, match=r"weight 'dense/bias' has shape \(2,\), got an array of shape \(3,\)"
    ):
        layer.set_weights([kernel + 1, np.zeros(3)])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    with pytest.raises(ValueError, match="expects 2 weight arrays, got 1"):
        layer.set_weights([kernel])
    layer.set_weights([kernel * 0, bias + 1])
    assert layer(np.ones((1, 3))).numpy().tolist() == [[1.0, 1.0]]


def test_input_validation_names_the_layer():
    layer = layers.Dense(10, name="dense_2")
    layer(np.ones((32, 784), dtype=np.float32))
    with pytest.raises(
        ValueError,
        match=r"Dense 'dense_2' expects inputs whose last axis is 784, got shape \(32, 28, 28\)",
    ):
        layer(np.ones((32, 28, 28), dtype=np.float32))


def test_calls_on_arrays_lists_and_tensors_give_floatx():
    layer = layers.Dense(1, kernel_initializer="ones")
    for data in ([[1, 2]], np.array([[1.0, 2.0]]), lp.tensor([[1.0, 2.0]])):
        out = layer(data)
        assert out.dtype == np.float32 and out.numpy().tolist() == [[3.0]]


def test_regularization_losses_are_collected_from_children():
    layer = layers.Dense(
        2,
        kernel_regularizer=lp.regularizers.L2(0.5),
        kernel_initializer="ones",
        activity_regularizer="l1",
    )
    layer(np.ones((1, 3), dtype=np.float32))
    values = [float(v.data) for v in layer.losses]
    assert values[0] == pytest.approx(0.5 * 6)
    assert values[1] == pytest.approx(0.01 * 6)


def test_dense_passes_the_layer_harness():
    run_layer_test(
        layers.Dense,
        {"units": 3, "activation": "tanh"},
        input_shape=(4, 5),
        expected_output_shape=(4, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
    )
    run_layer_test(
        layers.Dense,
        {"units": 2, "use_bias": False},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 2),
        expected_num_trainable_weights=1,
    )


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "out"),
    [
        (layers.Flatten, {}, (2, 3, 4), (2, 12)),
        (layers.Reshape, {"target_shape": (4, -1)}, (2, 3, 4), (2, 4, 3)),
        (layers.Activation, {"activation": "softmax"}, (2, 5), (2, 5)),
        (layers.Identity, {}, (2, 5), (2, 5)),
    ],
)
def test_shape_layers_pass_the_harness(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out)


def test_reshape_error():
    with pytest.raises(ValueError, match="Reshape 'reshape' expects 10 values per sample"):
        layers.Reshape((2, 5))(np.ones((1, 3, 4)))


def test_lambda_is_not_serializable_by_default():
    layer = layers.Lambda(lambda t: t * 2)
    assert layer(np.ones((1, 2))).numpy().tolist() == [[2.0, 2.0]]
    config = lp.utils.serialize(layer, "layers")
    with pytest.raises(ValueError, match="holds Python code"):
        lp.utils.deserialize(config, "layers")


def test_build_called_directly_is_not_repeated():
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert layer.built and len(layer.weights) == 2
    layer(np.ones((1, 3), dtype=np.float32))
    assert len(layer.weights) == 2

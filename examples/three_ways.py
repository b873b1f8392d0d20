"""One model written three ways, Sequential, functional and subclassed, with a custom layer.

The course builds the same network with each of Keras's three APIs:

- ``Sequential([...])``: a plain stack, one input, one output;
- the functional API: call layers on symbolic tensors from ``Input(shape)``, then
  ``Model(inputs, outputs)``; any graph (several inputs or outputs, skip connections);
- a subclass of ``Model`` that holds its layers as attributes and chains them in ``call``:
  plain Python, so loops and conditions are allowed.

Each uses ``Linear``, a layer written here the Keras way: ``__init__`` stores the
arguments, ``build(input_shape)`` creates the weights once the input size is known, and
``call`` multiplies. The script shows that the three models have the same parameters, give
the same predictions once they hold the same weights, and train to the same result.

Run: ``python examples/three_ways.py`` (a few seconds).
"""

import argparse

import numpy as np

import lapenna as lp
from lapenna import layers


class Linear(layers.Layer):
    """``activation(inputs @ kernel + bias)``: a Dense layer written from scratch.

    ``get_config`` returns the constructor's arguments; decorated with
    ``@lapenna.layers.register_layer``, the class could also be found again by name when a
    saved model is loaded.

    Args:
        units: the number of outputs.
        activation: an activation name or function (None for none).
    """

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = lp.activations.get(activation)

    def build(self, input_shape):
        # the input size is known only now: the kernel is (inputs, units)
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))
        self.bias = self.add_weight("bias", (self.units,), initializer="zeros")

    def call(self, inputs):
        return self.activation(inputs @ self.kernel + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        activation = lp.activations.serialize(self.activation)
        return {**super().get_config(), "units": self.units, "activation": activation}


class MLP(lp.Model):
    """The subclassed version: layers as attributes, chained in ``call``."""

    def __init__(self, hidden=64, classes=10, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Linear(hidden, activation="relu")
        self.classifier = Linear(classes, activation="softmax")

    def call(self, inputs, training=False):
        return self.classifier(self.hidden(inputs))


def sequential_model(hidden=64, classes=10, features=64):
    return lp.Sequential(
        [
            layers.Input((features,)),
            Linear(hidden, activation="relu"),
            Linear(classes, activation="softmax"),
        ],
        name="sequential_mlp",
    )


def functional_model(hidden=64, classes=10, features=64):
    inputs = layers.Input((features,))
    x = Linear(hidden, activation="relu")(inputs)
    outputs = Linear(classes, activation="softmax")(x)
    return lp.Model(inputs, outputs, name="functional_mlp")


def load_digits():
    (x_train, y_train), (x_test, y_test) = lp.datasets.digits.load_data()
    scale = np.asarray(1 / 16, dtype=lp.floatx())
    flat_train = x_train.reshape(len(x_train), -1) * scale
    return (flat_train, y_train), (x_test.reshape(len(x_test), -1) * scale, y_test)


def main(epochs=10, batch_size=32, hidden=64, seed=0, verbose=0):
    """Build, compare and train the three; returns their parameter counts, the largest
    difference between their predictions and their test accuracies."""
    lp.set_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    models = {
        "sequential": sequential_model(hidden),
        "functional": functional_model(hidden),
        "subclassed": MLP(hidden),
    }
    models["subclassed"].build((None, x_train.shape[1]))  # a subclass builds on its first call
    weights = models["sequential"].get_weights()
    for model in models.values():
        model.set_weights(weights)  # the same starting point for all three
    predictions = {name: model.predict(x_test, verbose=0) for name, model in models.items()}
    difference = max(
        float(np.abs(p - predictions["sequential"]).max()) for p in predictions.values()
    )
    results = {"params": {}, "test_accuracy": {}, "max_prediction_difference": difference}
    for name, model in models.items():
        lp.set_seed(seed + 1)  # the same shuffling for every model
        model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
        results["params"][name] = model.count_params()
        results["test_accuracy"][name] = model.evaluate(x_test, y_test, verbose=0)[1]
        print(
            f"{name:10s}  {results['params'][name]:,} parameters  "
            f"test accuracy {results['test_accuracy'][name]:.4f}"
        )
    print(f"largest difference between the untrained models' predictions: {difference:.2e}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, seed=args.seed)

"""``Sequential``: a plain stack of layers, sugar over the functional graph."""

from lapenna.layers import Input, InputLayer, Layer, register_layer
from lapenna.layers.symbolic import SymbolicTensor
from lapenna.models.graph import Graph
from lapenna.models.model import Model
from lapenna.utils import get_registry


@register_layer
class Sequential(Model):
    """Layers applied one after the other.

    Give the input shape with a leading ``Input(shape)`` (or ``input_shape=`` on the first
    layer) to build at once; otherwise the model builds on its first call.

    Args:
        layers: a list of layers (optionally starting with ``Input(...)``).
        name: the model's name.

    Example:
        >>> import lapenna as lp
        >>> model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(2)])
        >>> model.add(lp.layers.Activation("softmax"))
        >>> model.output_shape
        (None, 2)
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack = []
        self._names = set()  # the stack's layer names: add() stays linear in the layers
        self._input = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    def add(self, layer, rebuild=True):
        """Append a layer (or set the input with ``Input(shape)`` first)."""
        if isinstance(layer, SymbolicTensor):
            if self._stack or self._input is not None:
                raise ValueError("Sequential: Input(...) can only come first")
            self._input = layer
        elif isinstance(layer, InputLayer):
            self._input = layer.output
        elif isinstance(layer, Layer):
            if layer.name in self._names:
                raise ValueError(
                    f"Sequential {self.name!r} already has a layer named {layer.name!r}"
                )
            self._stack.append(layer)
            self._names.add(layer.name)
        else:
            raise TypeError(
                f"Sequential.add expects a Layer or Input(...), got {type(layer).__name__}"
            )
        if rebuild:
            self._rebuild()

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential {self.name!r} has no layers to pop")
        layer = self._stack.pop()
        self._names.discard(layer.name)
        self._rebuild()
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def _input_shape(self):
        if self._input is not None:
            return self._input.shape
        if self._stack and self._stack[0]._input_shape_arg is not None:
            return (None, *self._stack[0]._input_shape_arg)
        if self._stack and getattr(self._stack[0], "_graph", None) is not None:
            return self._stack[0].input_shape  # a nested model brings its input, as in Keras
        return self._build_shape if self.built else None

    def _rebuild(self):
        shape = self._input_shape()
        if shape is None or not self._stack:
            self._graph = None
            return
        inputs = self._input if self._input is not None else Input(batch_shape=shape)
        x = inputs
        for layer in self._stack:
            x = layer(x)
        self._graph = Graph(inputs, x)
        self.inputs, self.outputs = [inputs], [x]
        self._build_shape = inputs.shape
        self.built = True

    def _maybe_build(self, shapes):
        if not self.built:
            self._build_shape = (None, *tuple(shapes)[1:])
            self.built = True
            self._rebuild()

    def build(self, input_shape):
        self._build_shape = (None, *tuple(input_shape)[1:])
        self.built = True
        self._rebuild()

    def call(self, inputs, training=None):
        for layer in self._stack:
            inputs = layer(inputs, training=training)
        return inputs

    @property
    def output_names(self):
        return [self._stack[-1].name] if self._stack else ["output"]

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        registry = get_registry("layers")
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [registry.serialize(layer) for layer in self._stack],
        }
        shape = self._input_shape()
        if shape is not None:
            config["build_input_shape"] = list(shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        registry = get_registry("layers")
        layers = [registry.deserialize(c, custom_objects) for c in config.get("layers", [])]
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("build_input_shape")
        if shape is not None:
            model.add(Input(batch_shape=tuple(shape)), rebuild=False)
        for layer in layers:
            model.add(layer, rebuild=False)
        model._rebuild()
        return model

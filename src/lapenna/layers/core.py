"""Core layers: Input, Dense, Activation, Identity, Lambda, Flatten, Reshape."""

import math

from lapenna import activations, ops
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import regularizers as regularizers_module
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.input_spec import InputSpec
from lapenna.layers.symbolic import Node, SymbolicTensor
from lapenna.utils import unique_name


@register_layer
class InputLayer(Layer):
    """The entry of a functional model; made by ``Input``, it holds no weights.

    Args:
        batch_shape: the full input shape, batch axis first (usually ``None``).
        dtype: the input dtype (default floatx).
        name: the input's name.
    """

    def __init__(self, batch_shape, dtype=None, name=None, **kwargs):
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        node = Node(self, [], None, (), {})
        node.outputs = SymbolicTensor(self.batch_shape, self.dtype, name=self.name, node=node)
        self._inbound_nodes.append(node)

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):  # noqa: N802
    """Create the symbolic entry tensor of a functional model (Keras's ``Input``).

    Args:
        shape: one sample's shape, without the batch axis, e.g. ``(28, 28, 1)``.
        batch_size: fix the batch size (default ``None``: any).
        name: the input's name.
        dtype: default floatx.
        batch_shape: the full shape with the batch axis, instead of ``shape``.

    Example:
        >>> import lapenna as lp
        >>> x = lp.layers.Input((784,))
        >>> lp.layers.Dense(10)(x).shape
        (None, 10)
    """
    if batch_shape is None:
        if shape is None:
            raise ValueError("Input needs a shape: one sample's shape, without the batch axis")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if any(d is not None and (not isinstance(d, int) or d < 0) for d in shape):
            raise ValueError(f"Input shape must hold non-negative ints or None, got {shape}")
        batch_shape = (batch_size, *shape)
    return InputLayer(batch_shape, dtype=dtype, name=name).output


@register_layer
class Dense(Layer):
    """A fully connected layer: ``activation(inputs @ kernel + bias)``.

    The kernel has shape ``(input_dim, units)`` (Keras layout), initialised with
    ``kernel_initializer`` (Glorot uniform: U(-r, r), r = sqrt(6 / (in + out))); the bias
    starts at zero. For inputs of rank > 2 the product is over the last axis.

    Args:
        units: the output size.
        activation: a name or function (default none: linear).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: names or initializer objects.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to
            ``layer.losses``.
        kernel_constraint, bias_constraint: projections applied after each step.

    Input shape:
        ``(batch, ..., input_dim)``.

    Output shape:
        ``(batch, ..., units)``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.Dense(3, activation="relu")
        >>> layer(lp.tensor([[1.0, 2.0]])).shape
        (1, 3)
        >>> layer.count_params()
        9
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense expects a positive int for units, got {units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers_module.get(kernel_initializer)
        self.bias_initializer = initializers_module.get(bias_initializer)
        self.kernel_regularizer = regularizers_module.get(kernel_regularizer)
        self.bias_regularizer = regularizers_module.get(bias_regularizer)
        self.activity_regularizer = regularizers_module.get(activity_regularizer)
        self.kernel_constraint = constraints_module.get(kernel_constraint)
        self.bias_constraint = constraints_module.get(bias_constraint)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}' needs a known last axis, got {input_shape}")
        self.kernel = self.add_weight(
            "kernel",
            (input_dim, self.units),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.units,),
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        outputs = self.activation(outputs)
        if self.activity_regularizer is not None:
            self._add_activity_loss(self.activity_regularizer, outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def macs(self, input_shape, output_shape):
        return math.prod(d for d in input_shape[1:] if d) * self.units

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers_module.serialize(self.kernel_initializer),
            "bias_initializer": initializers_module.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers_module.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers_module.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers_module.serialize(self.activity_regularizer),
            "kernel_constraint": constraints_module.serialize(self.kernel_constraint),
            "bias_constraint": constraints_module.serialize(self.bias_constraint),
        }


@register_layer
class Activation(Layer):
    """Apply an activation function by name or as a callable.

    Args:
        activation: e.g. ``"relu"``, ``"softmax"`` or a function of a Tensor.

    Input shape:
        any. Output shape: the input's.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register_layer
class Identity(Layer):
    """Return the input unchanged (a placeholder in architectures)."""

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@register_layer
class Lambda(Layer):
    """Wrap a function of Tensors as a layer.

    A Lambda holds arbitrary code, so a saved model that contains one is refused on load
    unless ``safe_mode=False``; its config names the function only.

    Args:
        function: a callable of the input Tensor(s).
        output_shape: optional function or tuple giving the output shape.
        arguments: extra keyword arguments passed to ``function``.
    """

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable, got {type(function).__name__}")
        self.function = function
        self._output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        if self._output_shape is not None:
            return (input_shape[0], *self._output_shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        name = getattr(self.function, "__name__", type(self.function).__name__)
        return {**super().get_config(), "function": name, "unsafe": True}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A config names the function only; it must be given in ``custom_objects``."""
        name = config.pop("function", None)
        config.pop("unsafe", None)
        function = (custom_objects or {}).get(name)
        if function is None:
            raise ValueError(
                f"Lambda layer {config.get('name')!r} holds Python code ({name!r}) that a "
                f"config cannot carry; pass it as custom_objects={{{name!r}: function}}"
            )
        return cls(function, **config)


@register_layer
class Flatten(Layer):
    """Flatten every axis but the batch axis: ``(batch, ...)`` -> ``(batch, prod(...))``."""

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)


@register_layer
class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one ``-1`` allowed).

    Args:
        target_shape: the new shape of one sample, without the batch axis.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape allows one -1 in target_shape, got {self.target_shape}")

    def _resolve(self, input_shape):
        size = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise ValueError(
                    f"Reshape '{self.name}' cannot reshape {tuple(input_shape)} into "
                    f"(batch, {', '.join(map(str, self.target_shape))})"
                )
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(
                f"Reshape '{self.name}' expects {known} values per sample for target shape "
                f"{self.target_shape}, got shape {tuple(input_shape)}"
            )
        return self.target_shape

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], *self._resolve(inputs.shape)))

    def compute_output_shape(self, input_shape):
        if any(d is None for d in input_shape[1:]):
            return (input_shape[0], *self.target_shape)
        return (input_shape[0], *self._resolve(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}

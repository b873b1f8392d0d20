"""``Layer``: the building block, with the Keras lifecycle.

``__init__`` stores the constructor arguments, ``build(input_shape)`` creates weights with
``add_weight`` on the first call, ``call(inputs, training=None)`` computes with ``ops``,
``compute_output_shape`` gives the output shape without computing, ``get_config`` returns
the constructor arguments. Weights of sub-layers are found by walking the layer's
attributes, lists and dicts, so ``self.blocks = [Block(), Block()]`` just works.
"""

import functools
import inspect
import math

from lapenna import backend as B
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import regularizers as regularizers_module
from lapenna.autograd import Tensor, Variable
from lapenna.backend import trace as kernel_trace
from lapenna.layers import state as layer_state
from lapenna.layers import symbolic
from lapenna.utils import get_registry, to_snake_case, unique_name

_CALL_TAKES_TRAINING = {}
# attributes every layer has that never hold sub-layers (not searched by ``_sublayers``)
_BOOKKEEPING = frozenset(
    {"_weights", "_regularized", "_activity_losses", "_inbound_nodes", "_build_shape"}
)
_trace = None  # a dict while ``trace_calls`` records layer calls (for summaries)


class Layer:
    """Base class of every layer (and of ``Model``).

    Args:
        name: a unique readable name; default the snake-case class name made unique
            (``dense``, ``dense_1``...).
        trainable: whether the layer's weights are updated by training.
        dtype: the dtype of the weights and computation; default floatx.
        input_shape: optional shape of one sample (without the batch axis), Keras's way to
            give a Sequential model's first layer its input.

    Example:
        >>> import lapenna as lp
        >>> class Scale(lp.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        ...     def call(self, inputs):
        ...         return inputs * self.w
        >>> Scale()(lp.tensor([[1.0, 2.0]])).numpy().tolist()
        [[1.0, 2.0]]
    """

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, **kwargs):
        _check_data_format(type(self).__name__, kwargs.pop("data_format", None))
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(kwargs)}")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"layer names must be non-empty strings without '/', got {name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = B.to_dtype(dtype).name
        self.built = False
        self.input_spec = None
        self._weights = []
        self._regularized = []
        self._activity_losses = []
        self._inbound_nodes = []
        self._build_shape = None
        self._input_shape_arg = tuple(input_shape) if input_shape is not None else None

    def __init_subclass__(cls, **kwargs):
        """A subclass's ``build`` marks the layer built, so ``layer.build(shape)`` called
        directly (as Keras users do) is not repeated on the first call."""
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    # -- weights ------------------------------------------------------------------------
    def add_weight(
        self,
        name=None,
        shape=None,
        initializer="glorot_uniform",
        regularizer=None,
        constraint=None,
        trainable=True,
        dtype=None,
    ):
        """Create a weight Variable owned by this layer (call from ``build``).

        Args:
            name: the weight's name inside the layer (``"kernel"``); its path is
                ``"<layer>/<name>"``. Default ``variable``, ``variable_1``...
            shape: a tuple of ints. Keras 3's order ``add_weight(shape, initializer)``
                (a shape first, no name) is accepted too.
            initializer: a name, an initializer object or a callable ``(shape, dtype)``.
            regularizer: a name or object whose penalty joins ``layer.losses``.
            constraint: a name or object applied after each optimizer step.
            trainable: whether optimizers update it.
        """
        if name is not None and not isinstance(name, str):  # Keras 3: (shape, initializer)
            if shape is not None:
                initializer = shape
            name, shape = None, name
        if shape is None:
            raise TypeError(f"{type(self).__name__}.add_weight needs a shape, got none")
        if name is None:
            count = len(self._weights)
            name = "variable" if count == 0 else f"variable_{count}"
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ValueError(f"{type(self).__name__} '{self.name}': negative weight shape {shape}")
        dtype = B.to_dtype(dtype or self.dtype)
        init = initializers_module.get(initializer)
        what = f"{type(self).__name__} '{self.name}' weight {name!r} of shape {shape}"
        B.charge_weight(math.prod(shape) * dtype.itemsize, what)  # bounded while loading
        value = init(shape, dtype=dtype)
        variable = Variable(
            value,
            trainable=trainable,
            name=name,
            dtype=dtype,
            constraint=constraints_module.get(constraint),
        )
        variable.path = f"{self.name}/{name}"
        variable.requires_grad = variable.trainable and self.trainable
        self._weights.append(variable)
        regularizer = regularizers_module.get(regularizer)
        if regularizer is not None:
            self._regularized.append((regularizer, variable))
        return variable

    def add_variable(
        self,
        shape,
        initializer="glorot_uniform",
        dtype=None,
        trainable=True,
        regularizer=None,
        constraint=None,
        name=None,
    ):
        """Keras 3's spelling of ``add_weight`` (shape first)."""
        return self.add_weight(
            name, shape, initializer, regularizer, constraint, trainable=trainable, dtype=dtype
        )

    def _add_activity_loss(self, regularizer, outputs):
        """Record ``regularizer(outputs)`` divided by the batch size (Keras 3's rule, so the
        penalty's strength does not depend on the batch); it joins ``losses``."""
        penalty = regularizer(outputs)
        if outputs.ndim > 0 and outputs.shape[0]:
            penalty = penalty / outputs.shape[0]
        self._activity_losses.append(penalty)

    def _own_weights(self):
        """Weights made by ``add_weight``, then Variables held in attributes, lists and dicts
        (``self.w = lp.Variable(...)`` in ``__init__`` or ``build``, as Keras tracks them).
        A held Variable without a path gets ``<layer>/<its name or attribute>``."""
        found, known = list(self._weights), {id(w) for w in self._weights}
        paths = {getattr(w, "path", None) for w in found}
        stack = [(k, v) for k, v in vars(self).items() if k not in _BOOKKEEPING]
        stack.reverse()
        while stack:
            key, item = stack.pop()
            if isinstance(item, Variable):
                if id(item) not in known:
                    known.add(id(item))
                    found.append(item)
                    if getattr(item, "path", None) is None:
                        item.path = _free_path(f"{self.name}/{item.name or key}", paths)
                    paths.add(item.path)
            elif isinstance(item, list | tuple):
                stack.extend((f"{key}_{i}", v) for i, v in reversed(list(enumerate(item))))
            elif isinstance(item, dict):
                stack.extend((f"{key}_{k}", v) for k, v in reversed(list(item.items())))
        return found

    @property
    def input(self):
        """The symbolic input of this layer's first call in a functional graph."""
        return self._first_node("input").inputs

    @property
    def output(self):
        """The symbolic output of this layer's first call in a functional graph (Keras's
        ``base_model.get_layer("block5_pool").output``)."""
        return self._first_node("output").outputs

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"{type(self).__name__} '{self.name}' has no {what}: it was never called on "
                "a symbolic tensor (Input(...) or another layer's output)"
            )
        return self._inbound_nodes[0]

    def _sublayers(self):
        """Layers held in attributes, lists, tuples and dicts, in attribute order (the
        base class's own bookkeeping attributes hold none and are not searched)."""
        found, seen = [], {id(self)}
        stack = [
            v for k, v in vars(self).items() if isinstance(v, _HOLDERS) and k not in _BOOKKEEPING
        ]
        stack.reverse()
        while stack:
            item = stack.pop()
            if isinstance(item, Layer):
                if id(item) not in seen:
                    seen.add(id(item))
                    found.append(item)
            elif isinstance(item, list | tuple):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                stack.extend(reversed(list(item.values())))
        return found

    @property
    def layers(self):
        """Direct sub-layers."""
        return self._sublayers()

    def _walk(self):
        """This layer and every layer inside it, each once."""
        out, seen, stack = [], set(), [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._sublayers()))
        return out

    @property
    def weights(self):
        """All weights, own first, then those of sub-layers; each once."""
        out, seen = [], set()
        for layer in self._walk():
            for w in layer._own_weights():
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out, seen = [], set()
        for w in self._own_weights():
            if w.trainable and id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        for layer in self._sublayers():
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def variables(self):
        return self.weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        """Freezing a layer freezes everything inside it (and BatchNormalization then runs
        in inference mode, as in Keras)."""
        for layer in self._walk():
            layer._trainable = bool(flag)
            for w in layer._own_weights():
                w.requires_grad = bool(flag) and w.trainable

    def get_weights(self):
        """Copies of the weights as numpy arrays, in ``weights`` order."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Assign arrays to the weights (in ``weights`` order); every shape is checked first,
        so a mismatch changes nothing."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects {len(own)} weight arrays, "
                f"got {len(weights)}"
            )
        arrays = []
        for w, value in zip(own, weights):
            value = B.as_array(value.data if isinstance(value, Tensor) else value)
            if tuple(value.shape) != w.shape:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': weight '{w.path}' has shape "
                    f"{w.shape}, got an array of shape {tuple(value.shape)}"
                )
            arrays.append(value)
        for w, value in zip(own, arrays):
            w.assign(value)

    # -- the state protocol (files and backups use it; see layers/state.py) -------------
    def weight_paths(self, by_name=False):
        """``{path: Variable}``: each weight keyed by its place in the structure
        (``"dense_1/kernel"``), or by ``"<layer name>/<weight name>"`` with ``by_name``."""
        return layer_state.weight_paths(self, by_name)

    def get_state(self, by_name=False):
        """``{path: array copy}`` of every weight, keyed by its place in the structure
        (``"dense_1/kernel"``), or by layer name with ``by_name=True``."""
        return layer_state.get_state(self, by_name)

    def check_state(self, state, by_name=False, skip_mismatch=False):
        """``[(Variable, array)]`` that :meth:`set_state` would assign; raises ``ValueError``
        naming the missing, unexpected or misshapen entries (``skip_mismatch`` drops them)."""
        return layer_state.check_state(self, state, by_name, skip_mismatch)

    def set_state(self, state, by_name=False, skip_mismatch=False):
        """Assign :meth:`get_state`'s dict; every name, shape and dtype is checked first,
        so a mismatch raises ``ValueError`` and changes nothing."""
        for variable, array in self.check_state(state, by_name, skip_mismatch):
            variable.assign(array)

    def count_params(self):
        """The number of scalars in all weights."""
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}' is not built yet")
        return sum(w.size for w in self.weights)

    @property
    def losses(self):
        """Regularization penalties of this layer and its sub-layers (scalar Tensors),
        computed from the current weights, plus activity penalties of the last call."""
        out = []
        for layer in self._walk():
            for regularizer, variable in layer._regularized:
                if layer.trainable or not variable.trainable:
                    out.append(regularizer(variable))
            out.extend(layer._activity_losses)
        return out

    # -- lifecycle ----------------------------------------------------------------------
    def build(self, input_shape):
        """Create weights for ``input_shape`` (batch axis included, maybe None)."""
        self.built = True

    def call(self, inputs, training=None):
        return inputs

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``; by default found by running ``call`` on
        zeros with a batch of one."""
        return symbolic.output_shape_by_running(self, input_shape)

    def macs(self, input_shape, output_shape):
        """Multiply-accumulates of one sample's forward pass (0 unless a layer says)."""
        return 0

    def _maybe_build(self, shapes):
        if self.built:
            return
        self._build_shape = shapes
        self.build(shapes)
        self.built = True

    def __call__(self, inputs, *args, training=None, **kwargs):
        if symbolic.any_symbolic(inputs):
            if training is not None:  # ``base(x, training=False)`` fixes the mode in the graph
                kwargs["training"] = training
            return symbolic.record_call(self, inputs, args, kwargs)
        inputs = _to_tensors(inputs, self.dtype)
        shapes = _shapes(inputs)
        self._maybe_build(shapes)
        if self.input_spec is not None and isinstance(inputs, Tensor):
            self.input_spec.check(self, inputs.shape)
        if _takes_training(type(self)):
            kwargs["training"] = training
        mask = kwargs.get("mask", _mask_of(inputs))
        if mask is not None and "mask" not in kwargs and _takes_mask(type(self)):
            kwargs["mask"] = mask
        self._activity_losses = []
        if _trace is None:
            out = self.call(inputs, *args, **kwargs)
        else:
            out = _traced_call(self, inputs, shapes, args, kwargs)
        if out is not inputs and (
            mask is not None or type(self).compute_mask is not Layer.compute_mask
        ):
            _attach_mask(out, self.compute_mask(inputs, mask))
        return out

    # -- masks (Keras's ``_keras_mask``: a (batch, time) boolean array riding on a Tensor)
    supports_masking = False

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: the input's when the layer ``supports_masking``."""
        return mask if self.supports_masking else None

    # -- config -------------------------------------------------------------------------
    def get_config(self):
        """JSON-safe constructor arguments; ``from_config`` inverts it."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _free_path(path, taken):
    """``path``, or ``path_1``, ``path_2``... if it is taken."""
    candidate, n = path, 0
    while candidate in taken:
        n += 1
        candidate = f"{path}_{n}"
    return candidate


def _check_data_format(class_name, data_format):
    """Keras layers take ``data_format``; lapenna is channels-last only, so ``None`` and
    ``"channels_last"`` are accepted (and change nothing) and anything else is refused."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{class_name} got data_format={data_format!r}, but lapenna computes channels-last "
            "(NHWC) only: drop the argument and give images as (batch, height, width, "
            "channels), e.g. x.transpose(0, 2, 3, 1) for NCHW arrays"
        )


# what an attribute holding sub-layers can be
_HOLDERS = (Layer, list, tuple, dict)


def _marks_built(build):
    @functools.wraps(build)
    def wrapper(self, input_shape):
        result = build(self, input_shape)
        self.built = True
        if self._build_shape is None:
            self._build_shape = input_shape
        return result

    return wrapper


class trace_calls:  # noqa: N801 - used like a function: ``with trace_calls() as calls``
    """Record every eager layer call made inside the block: ``{"layer", "depth",
    "input_shape", "output_shape"}`` dicts in call order (depth 0 is the outermost)."""

    def __enter__(self):
        global _trace
        self._previous = _trace
        _trace = {"depth": 0, "calls": []}
        return _trace["calls"]

    def __exit__(self, *exc):
        global _trace
        _trace = self._previous
        return False


def _traced_call(layer, inputs, shapes, args, kwargs):
    entry = {"layer": layer, "depth": _trace["depth"], "input_shape": shapes}
    _trace["calls"].append(entry)
    _trace["depth"] += 1
    outer = kernel_trace.enter(len(_trace["calls"]) - 1)  # the kernels' ops name this call
    try:
        out = layer.call(inputs, *args, **kwargs)
    finally:
        _trace["depth"] -= 1
        kernel_trace.leave(outer)
    entry["output_shape"] = _shapes(out)
    return out


def _takes_training(cls):
    if cls not in _CALL_TAKES_TRAINING:
        params = inspect.signature(cls.call).parameters
        _CALL_TAKES_TRAINING[cls] = "training" in params or any(
            p.kind is p.VAR_KEYWORD for p in params.values()
        )
    return _CALL_TAKES_TRAINING[cls]


def _takes_mask(cls):
    key = (cls, "mask")
    if key not in _CALL_TAKES_TRAINING:
        _CALL_TAKES_TRAINING[key] = "mask" in inspect.signature(cls.call).parameters
    return _CALL_TAKES_TRAINING[key]


def _mask_of(inputs):
    """The mask riding on the (first) input Tensor, or None."""
    if isinstance(inputs, list | tuple):
        masks = [_mask_of(i) for i in inputs]
        return masks if any(m is not None for m in masks) else None
    return getattr(inputs, "_keras_mask", None)


def _attach_mask(out, mask):
    if isinstance(out, Tensor):
        out._keras_mask = mask
    elif isinstance(out, list | tuple) and isinstance(mask, list | tuple):
        for o, m in zip(out, mask):
            _attach_mask(o, m)


def _to_tensors(inputs, dtype):
    """Tensors stay; arrays and nested lists become Tensors of the layer's float dtype."""
    if isinstance(inputs, Tensor):
        return inputs
    if isinstance(inputs, tuple) or (
        isinstance(inputs, list)
        and inputs
        and any(isinstance(i, Tensor | B.xp.ndarray) for i in inputs)
    ):
        return type(inputs)(_to_tensors(i, dtype) for i in inputs)
    if isinstance(inputs, dict):
        return {k: _to_tensors(v, dtype) for k, v in inputs.items()}
    array = B.as_array(inputs)
    if array.dtype.kind == "f" or not isinstance(inputs, B.xp.ndarray):
        array = array.astype(dtype, copy=False)  # integer arrays (labels, ids) stay integer
    return Tensor(array)


def _shapes(inputs):
    if isinstance(inputs, Tensor):
        return inputs.shape
    if isinstance(inputs, dict):
        return {k: _shapes(v) for k, v in inputs.items()}
    return [_shapes(i) for i in inputs]


register_layer = get_registry("layers").register

"""``Embedding`` (integer ids -> vectors, the first source of masks) and ``Masking``."""

from lapenna import backend as B
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import ops
from lapenna import regularizers as regularizers_module
from lapenna.autograd import Tensor
from lapenna.layers.base import Layer, register_layer


@register_layer
class Embedding(Layer):
    """Look up a learned vector for each integer id: row ``i`` of ``embeddings`` for id
    ``i``. The lookup is a gather, so its gradient adds each output gradient into the row it
    came from (an ``(input_dim, output_dim)`` scatter-add), the same as multiplying one-hot
    rows by the matrix.

    Args:
        input_dim: the vocabulary size (ids are ``0 .. input_dim - 1``).
        output_dim: the vector size.
        embeddings_initializer: default ``"uniform"`` (U(-0.05, 0.05), as in Keras).
        embeddings_regularizer, embeddings_constraint: as for Dense's kernel.
        mask_zero: id 0 is padding: the output carries a mask ``ids != 0`` that recurrent
            and attention layers downstream use (id 0 then cannot be a real token).

    Input shape:
        ``(batch, ...)`` integers. Output shape: ``(batch, ..., output_dim)``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.Embedding(10, 3, mask_zero=True)
        >>> out = layer(lp.backend.xp.array([[4, 2, 0]]))
        >>> out.shape, out._keras_mask.tolist()
        ((1, 3, 3), [[True, True, False]])
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding expects a positive int for {arg}, got {value!r}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers_module.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers_module.get(embeddings_regularizer)
        self.embeddings_constraint = constraints_module.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            self.embeddings_regularizer,
            self.embeddings_constraint,
        )

    def call(self, inputs):
        ids = inputs.data
        if ids.dtype.kind == "f":
            if ids.size and not B.xp.all(ids == B.xp.round(ids)):
                raise TypeError(
                    f"Embedding '{self.name}' expects integer ids, got non-integer floats"
                )
            ids = ids.astype("int64")
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding '{self.name}' expects integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(
                f"Embedding '{self.name}' expects ids in [0, {self.input_dim}), got values "
                f"in [{ids.min()}, {ids.max()}]"
            )
        return ops.take(self.embeddings, ids, axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        data = inputs.data if isinstance(inputs, Tensor) else B.as_array(inputs)
        return data != 0

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers_module.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers_module.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints_module.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }


@register_layer
class Masking(Layer):
    """Mark time steps whose features all equal ``mask_value`` as padding: the output is
    the input with those steps zeroed, carrying a ``(batch, time)`` mask for the recurrent
    layers downstream.

    Args:
        mask_value: the padding value (default 0.0).

    Input shape:
        ``(batch, time, features)``. Output shape: the same.

    Example:
        >>> import lapenna as lp
        >>> x = lp.backend.xp.array([[[1.0], [0.0]]], dtype="float32")
        >>> lp.layers.Masking()(x)._keras_mask.tolist()
        [[True, False]]
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return B.xp.any(inputs.data != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = self.compute_mask(inputs)
        return inputs * Tensor(keep[..., None].astype(inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}

"""Positions for attention models, which see a sequence as a set: a learned
``PositionEmbedding``, the fixed ``SinePositionEncoding`` of the Transformer paper, and
``TokenAndPositionEmbedding`` (their sum with token embeddings, carrying the padding mask)."""

from lapenna import backend as B
from lapenna import initializers as initializers_module
from lapenna import ops
from lapenna.autograd import Tensor
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.embedding import Embedding


def _check_length(layer, shape, limit):
    if len(shape) < 3:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects inputs of shape "
            f"(batch, time, features), got shape {tuple(shape)}"
        )
    if limit is not None and shape[-2] is not None and shape[-2] > limit:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' knows {limit} positions, got a sequence "
            f"of {shape[-2]}"
        )


@register_layer
class PositionEmbedding(Layer):
    """A learned vector per position: the output is ``embeddings[:time]`` broadcast to the
    input's shape (add it to the input yourself, as in keras_hub).

    Args:
        sequence_length: the number of positions (the longest sequence).
        initializer: of the ``embeddings`` weight ``(sequence_length, features)``.

    Input shape:
        ``(batch, time, features)``. Output shape: the same.

    Example:
        >>> import lapenna as lp
        >>> x = lp.backend.xp.ones((2, 3, 4), dtype="float32")
        >>> lp.layers.PositionEmbedding(10)(x).shape
        (2, 3, 4)
    """

    supports_masking = True

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(sequence_length, int) or sequence_length <= 0:
            raise ValueError(
                f"PositionEmbedding expects a positive int sequence_length, got {sequence_length!r}"
            )
        self.sequence_length = sequence_length
        self.initializer = initializers_module.get(initializer)

    def build(self, input_shape):
        _check_length(self, input_shape, self.sequence_length)
        self.embeddings = self.add_weight(
            "embeddings", (self.sequence_length, input_shape[-1]), self.initializer
        )

    def call(self, inputs):
        _check_length(self, inputs.shape, self.sequence_length)
        return ops.broadcast_to(self.embeddings[: inputs.shape[-2]], inputs.shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "initializer": initializers_module.serialize(self.initializer),
        }


def sine_position_encoding(length, depth, max_wavelength=10000.0, dtype="float32"):
    """Vaswani et al. (2017): ``PE[p, 2i] = sin(p / w^(2i/d))``, ``PE[p, 2i+1] =
    cos(p / w^(2i/d))`` with ``w = max_wavelength``; an array ``(length, depth)``."""
    xp = B.xp
    position = xp.arange(length, dtype="float64")[:, None]
    pair = (xp.arange(depth) // 2) * 2
    angles = position / max_wavelength ** (pair / depth)[None, :]
    odd = (xp.arange(depth) % 2).astype(bool)
    return xp.where(odd, xp.cos(angles), xp.sin(angles)).astype(dtype)


@register_layer
class SinePositionEncoding(Layer):
    """The fixed sinusoidal encoding of the Transformer paper (no weights), broadcast to
    the input's shape: ``sin`` on even features, ``cos`` on odd ones, wavelengths from
    ``2 pi`` to ``2 pi * max_wavelength``.

    Args:
        max_wavelength: the longest wavelength (10,000 in the paper).

    Example:
        >>> import lapenna as lp
        >>> x = lp.backend.xp.zeros((1, 2, 4), dtype="float32")
        >>> lp.layers.SinePositionEncoding()(x).numpy()[0, 1].round(4).tolist()
        [0.8415, 0.5403, 0.01, 1.0]
    """

    supports_masking = True

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        if not max_wavelength > 0:
            raise ValueError(
                f"SinePositionEncoding expects max_wavelength > 0, got {max_wavelength!r}"
            )
        self.max_wavelength = float(max_wavelength)

    def call(self, inputs):
        _check_length(self, inputs.shape, None)
        table = sine_position_encoding(
            inputs.shape[-2], inputs.shape[-1], self.max_wavelength, inputs.dtype
        )
        return Tensor(B.xp.broadcast_to(table, inputs.shape).copy())

    def compute_output_shape(self, input_shape):
        _check_length(self, input_shape, None)  # a symbolic call checks what call() would
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


@register_layer
class TokenAndPositionEmbedding(Layer):
    """Token embeddings plus learned position embeddings, ``(batch, time) ids -> (batch,
    time, embedding_dim)``; with ``mask_zero`` the output carries the padding mask, which
    the attention and Transformer layers downstream use.

    Args:
        vocabulary_size: the number of token ids.
        sequence_length: the longest sequence.
        embedding_dim: the vector size.
        mask_zero: id 0 is padding.
        embeddings_initializer: of both tables (default ``"uniform"``, as Embedding).

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.TokenAndPositionEmbedding(20, 8, 4, mask_zero=True)
        >>> layer(lp.backend.xp.array([[5, 3, 0]])).shape
        (1, 3, 4)
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim,
        mask_zero=False,
        embeddings_initializer="uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length = vocabulary_size, sequence_length
        self.embedding_dim, self.mask_zero = embedding_dim, bool(mask_zero)
        self.embeddings_initializer = initializers_module.get(embeddings_initializer)
        self.token_embedding = Embedding(
            vocabulary_size,
            embedding_dim,
            self.embeddings_initializer,
            mask_zero=mask_zero,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            sequence_length, self.embeddings_initializer, name="position_embedding"
        )

    def build(self, input_shape):
        self.token_embedding._maybe_build(input_shape)
        self.position_embedding._maybe_build((*input_shape, self.embedding_dim))
        for sub in (self.token_embedding, self.position_embedding):
            for w in sub.weights:
                w.path = f"{self.name}/{w.path}"

    def call(self, inputs):
        tokens = self.token_embedding(inputs)
        return tokens + self.position_embedding(tokens)

    def compute_mask(self, inputs, mask=None):
        return self.token_embedding.compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "embedding_dim": self.embedding_dim,
            "mask_zero": self.mask_zero,
            "embeddings_initializer": initializers_module.serialize(self.embeddings_initializer),
        }

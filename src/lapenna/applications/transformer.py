"""Transformer blocks and a small Transformer text classifier.

Vaswani et al., "Attention Is All You Need", NeurIPS 2017. Each block is a residual
stack of sub-layers, ``x + Dropout(sublayer(x))`` followed by layer normalization (the
paper's post-norm; ``normalize_first=True`` gives the pre-norm variant that trains more
stably when deep). The arguments follow keras_hub's ``TransformerEncoder`` and
``TransformerDecoder``.
"""

from lapenna import activations, layers
from lapenna.applications._common import check_top
from lapenna.layers import register_layer
from lapenna.models.model import Model


def _check_block(name, intermediate_dim, num_heads):
    for arg, value in (("intermediate_dim", intermediate_dim), ("num_heads", num_heads)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} expects a positive int {arg}, got {value!r}")


class _Block(layers.Layer):
    """What encoder and decoder share: the feed-forward sub-layer and the residual rule."""

    supports_masking = True

    def __init__(
        self,
        intermediate_dim,
        num_heads,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_block(type(self).__name__, intermediate_dim, num_heads)
        self.intermediate_dim, self.num_heads = intermediate_dim, num_heads
        self.dropout = float(dropout)
        self.activation = activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.normalize_first = bool(normalize_first)

    def _attention(self, name, query_shape, value_shape):
        """A built attention sub-layer (weights exist as soon as the block is built)."""
        layer = layers.MultiHeadAttention(
            self.num_heads,
            max(query_shape[-1] // self.num_heads, 1),
            dropout=self.dropout,
            name=f"{self.name}_{name}",
        )
        layer._maybe_build([tuple(query_shape), tuple(value_shape)])
        return layer

    def _norm(self, name, shape):
        layer = layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name=f"{self.name}_{name}"
        )
        layer._maybe_build(tuple(shape))
        return layer

    def _build_feedforward(self, shape):
        dim = shape[-1]
        self.ffn_inner = layers.Dense(
            self.intermediate_dim, activation=self.activation, name=f"{self.name}_ffn_inner"
        )
        self.ffn_inner._maybe_build(shape)
        self.ffn_outer = layers.Dense(dim, name=f"{self.name}_ffn_outer")
        self.ffn_outer._maybe_build((*shape[:-1], self.intermediate_dim))
        self.ffn_norm = self._norm("ffn_norm", shape)
        self.residual_dropout = layers.Dropout(self.dropout, name=f"{self.name}_dropout")

    def _residual(self, x, norm, sublayer, training):
        """``norm(x + dropout(sublayer(x)))``, or ``x + dropout(sublayer(norm(x)))``."""
        y = sublayer(norm(x)) if self.normalize_first else sublayer(x)
        out = x + self.residual_dropout(y, training=training)
        return out if self.normalize_first else norm(out)

    def _feedforward(self, x, training):
        return self._residual(
            x, self.ffn_norm, lambda h: self.ffn_outer(self.ffn_inner(h)), training
        )

    def compute_output_shape(self, input_shape):
        return input_shape[0] if isinstance(input_shape, list) else input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "intermediate_dim": self.intermediate_dim,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "activation": activations.serialize(self.activation),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "normalize_first": self.normalize_first,
        }


@register_layer
class TransformerEncoder(_Block):
    """One Transformer encoder block: self-attention, then a position-wise feed-forward
    network, each inside a residual connection with layer normalization.

    Args:
        intermediate_dim: the hidden size of the feed-forward network.
        num_heads: attention heads (each of size ``features // num_heads``).
        dropout: after each sub-layer and on the attention weights.
        activation: of the feed-forward network's hidden layer.
        layer_norm_epsilon: of the layer normalizations.
        normalize_first: pre-norm instead of the paper's post-norm.

    Call arguments:
        inputs ``(batch, time, features)``; mask ``(batch, time)`` padding mask (taken from
        the input when ``Embedding(mask_zero=True)`` made one); training.

    Example:
        >>> import lapenna as lp
        >>> from lapenna.applications import TransformerEncoder
        >>> TransformerEncoder(16, 2)(lp.backend.xp.ones((2, 5, 8), dtype="float32")).shape
        (2, 5, 8)
    """

    def build(self, input_shape):
        self.attention = self._attention("self_attention", input_shape, input_shape)
        self.attention_norm = self._norm("self_attention_norm", input_shape)
        self._build_feedforward(input_shape)

    def call(self, inputs, mask=None, training=None):
        x = self._residual(
            inputs,
            self.attention_norm,
            lambda h: self.attention(h, h, query_mask=mask, value_mask=mask, training=training),
            training,
        )
        return self._feedforward(x, training)


@register_layer
class TransformerDecoder(_Block):
    """One Transformer decoder block: causal self-attention, cross-attention to the
    encoder's outputs, then the feed-forward network, each residual and normalized.

    Args: as for ``TransformerEncoder``.

    Call arguments:
        inputs: ``[decoder_sequence, encoder_sequence]`` (or the decoder sequence alone,
        which then skips cross-attention: a GPT-style block); mask: their padding masks.

    Example:
        >>> import lapenna as lp
        >>> from lapenna.applications import TransformerDecoder
        >>> x = lp.backend.xp.ones((2, 5, 8), dtype="float32")
        >>> TransformerDecoder(16, 2)([x, x[:, :3]]).shape
        (2, 5, 8)
    """

    def build(self, input_shape):
        several = isinstance(input_shape, list)
        shape = input_shape[0] if several else input_shape
        self.self_attention = self._attention("self_attention", shape, shape)
        self.self_attention_norm = self._norm("self_attention_norm", shape)
        self.cross_attention = None
        if several and len(input_shape) > 1:
            self.cross_attention = self._attention("cross_attention", shape, input_shape[1])
            self.cross_attention_norm = self._norm("cross_attention_norm", shape)
        self._build_feedforward(shape)

    def call(self, inputs, mask=None, training=None):
        several = isinstance(inputs, list | tuple)
        x, memory = (
            (inputs[0], inputs[1] if len(inputs) > 1 else None) if several else (inputs, None)
        )
        masks = list(mask) + [None, None] if isinstance(mask, list | tuple) else [mask, None]
        x_mask, memory_mask = masks[0], masks[1]
        x = self._residual(
            x,
            self.self_attention_norm,
            lambda h: self.self_attention(
                h,
                h,
                query_mask=x_mask,
                value_mask=x_mask,
                use_causal_mask=True,
                training=training,
            ),
            training,
        )
        if self.cross_attention is not None and memory is not None:
            x = self._residual(
                x,
                self.cross_attention_norm,
                lambda h: self.cross_attention(
                    h, memory, query_mask=x_mask, value_mask=memory_mask, training=training
                ),
                training,
            )
        return self._feedforward(x, training)

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, list | tuple) else mask


def TransformerClassifier(  # noqa: N802 - Keras's spelling of model builders
    vocabulary_size,
    sequence_length,
    classes=2,
    embedding_dim=32,
    num_heads=2,
    intermediate_dim=64,
    num_layers=1,
    dropout=0.1,
    classifier_activation="softmax",
    name="transformer_classifier",
):
    """A text classifier: token and position embeddings (id 0 is padding), ``num_layers``
    encoder blocks, average pooling over the time axis, and a Dense top.

    Args:
        vocabulary_size, sequence_length: of the integer inputs ``(batch, time)``.
        classes: output classes.
        embedding_dim, num_heads, intermediate_dim, num_layers, dropout: the encoder's size.
        classifier_activation: of the top.
        name: the model's name.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import TransformerClassifier
        >>> TransformerClassifier(100, 16).count_params()
        12322
    """
    check_top("TransformerClassifier", True, None, classes, classifier_activation)
    ids = layers.Input((sequence_length,), dtype="int64", name="token_ids")
    x = layers.TokenAndPositionEmbedding(
        vocabulary_size, sequence_length, embedding_dim, mask_zero=True, name="embedding"
    )(ids)
    for i in range(num_layers):
        x = TransformerEncoder(intermediate_dim, num_heads, dropout=dropout, name=f"encoder_{i}")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return Model(ids, outputs, name=name)

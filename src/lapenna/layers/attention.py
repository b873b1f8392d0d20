"""Attention layers: ``Attention`` (dot product), ``AdditiveAttention`` and
``MultiHeadAttention``, with Keras 3's arguments, weights and masks.

Every one computes ``softmax(scores) @ value`` where ``scores[b, i, j]`` says how much
query step ``i`` looks at value step ``j``. A padded value step (a False in the value's
mask) gets ``scores - 1e9`` so its weight is zero; a causal mask hides the future.
"""

import math

from lapenna import backend as B
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import ops
from lapenna import regularizers as regularizers_module
from lapenna.autograd import Tensor
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.seeding import SeededLayer, check_rate

_LARGE = 1.0e9


def _mask_array(mask):
    if mask is None:
        return None
    return B.as_array(mask.data if isinstance(mask, Tensor) else mask).astype(bool)


def causal_mask(query_length, value_length):
    """``(1, T, S)`` booleans, True where query step ``i`` may see value step ``j <= i``."""
    return B.xp.tril(B.xp.ones((query_length, value_length), dtype=bool))[None]


def _masked_softmax(scores, allowed):
    """Softmax over the last axis where ``allowed`` (broadcast) is False gets -1e9 first."""
    if allowed is not None:
        blocked = Tensor((~allowed).astype(scores.dtype) * scores.dtype.type(_LARGE))
        scores = scores - blocked
    return ops.softmax(scores, axis=-1)


class _BaseDenseAttention(SeededLayer):
    """Shared call of ``Attention`` and ``AdditiveAttention``: inputs ``[query, value]`` or
    ``[query, value, key]``; masks ``[query_mask, value_mask]``."""

    supports_masking = True

    def __init__(self, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.dropout = check_rate(type(self).__name__, dropout)

    def _check(self, input_shape):
        if not isinstance(input_shape, list | tuple) or len(input_shape) not in (2, 3):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects a list [query, value] or "
                f"[query, value, key], got {input_shape!r}"
            )
        q, v = input_shape[0], input_shape[1]
        k = input_shape[2] if len(input_shape) > 2 else v
        if q[-1] != k[-1] or v[1] != k[1]:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects query and key with the same "
                f"last axis and key and value with the same length, got query {tuple(q)}, "
                f"value {tuple(v)}, key {tuple(k)}"
            )

    def call(
        self,
        inputs,
        mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = _mask_array(mask[0]) if mask else None
        v_mask = _mask_array(mask[1]) if mask and len(mask) > 1 else None
        scores = self._scores(q, k)
        allowed = None if v_mask is None else v_mask[:, None, :]
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            allowed = causal if allowed is None else allowed & causal
        weights = _masked_softmax(scores, allowed)
        if training and self.dropout > 0:
            weights = ops.dropout(weights, self.dropout, generator=self.generator())
        out = ops.matmul(weights, v)
        if q_mask is not None:
            out = out * Tensor(q_mask[..., None].astype(out.dtype))
        return [out, weights] if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return None if not mask or mask[0] is None else _mask_array(mask[0])

    def compute_output_shape(self, input_shape):
        q, v = input_shape[0], input_shape[1]
        return (*q[:-1], v[-1])


@register_layer
class Attention(_BaseDenseAttention):
    """Dot-product attention (Luong et al., 2015): ``scores = query @ key^T`` (times a
    learned scalar ``scale`` with ``use_scale``), then ``softmax(scores) @ value``.

    Args:
        use_scale: learn a scalar multiplying the scores (weight ``scale``, init 1).
        score_mode: ``"dot"`` or ``"concat"`` (``sum(tanh(query + key))`` times a learned
            scalar ``concat_score_weight``).
        dropout: on the attention weights during training.
        seed: for the dropout.

    Call arguments:
        inputs: ``[query (batch, Tq, dim), value (batch, Tv, dim)]`` and optionally ``key``
            (default ``value``).
        mask: ``[query_mask (batch, Tq), value_mask (batch, Tv)]``, taken from the inputs
            when a layer made them.
        return_attention_scores: also return the ``(batch, Tq, Tv)`` weights.
        use_causal_mask: hide value steps after each query step.

    Output shape:
        ``(batch, Tq, value_dim)``.

    Example:
        >>> import lapenna as lp
        >>> q = lp.backend.xp.ones((2, 3, 4), dtype="float32")
        >>> lp.layers.Attention()([q, q]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention expects score_mode 'dot' or 'concat', got {score_mode!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode

    def build(self, input_shape):
        self._check(input_shape)
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = None
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")

    def _scores(self, q, k):
        if self.score_mode == "dot":
            scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
            return scores * self.scale if self.scale is not None else scores
        pair = ops.expand_dims(q, -2) + ops.expand_dims(k, -3)
        if self.scale is not None:
            pair = pair * self.scale
        return self.concat_score_weight * ops.sum(ops.tanh(pair), axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
        }


@register_layer
class AdditiveAttention(_BaseDenseAttention):
    """Additive attention (Bahdanau et al., 2015):
    ``scores[i, j] = sum(scale * tanh(query_i + key_j))``.

    Args:
        use_scale: learn the ``scale`` vector (shape ``(dim,)``, Glorot uniform).
        dropout, seed: as in ``Attention``. Call arguments and shapes as in ``Attention``.

    Example:
        >>> import lapenna as lp
        >>> q = lp.backend.xp.ones((2, 3, 4), dtype="float32")
        >>> lp.layers.AdditiveAttention()([q, q]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        self.use_scale = bool(use_scale)

    def build(self, input_shape):
        self._check(input_shape)
        dim = input_shape[0][-1]
        self.scale = self.add_weight("scale", (dim,), "glorot_uniform") if self.use_scale else None

    def _scores(self, q, k):
        pair = ops.tanh(ops.expand_dims(q, -2) + ops.expand_dims(k, -3))
        if self.scale is not None:
            pair = pair * self.scale
        return ops.sum(pair, axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "dropout": self.dropout}


class _Projection(Layer):
    """Keras's EinsumDense as MultiHeadAttention uses it: a kernel ``(*in_axes, *out_axes)``
    applied to the last ``len(in_axes)`` axes as one GEMM, plus a bias ``out_axes``."""

    def __init__(self, in_axes, out_axes, use_bias, kernel_args, bias_args, **kwargs):
        super().__init__(**kwargs)
        self.in_axes, self.out_axes = tuple(in_axes), tuple(out_axes)
        self.use_bias = use_bias
        self.kernel_args, self.bias_args = kernel_args, bias_args

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (*self.in_axes, *self.out_axes), *self.kernel_args)
        self.bias = (
            self.add_weight("bias", self.out_axes, *self.bias_args) if self.use_bias else None
        )

    def call(self, inputs):
        n_in = len(self.in_axes)
        lead = inputs.shape[: inputs.ndim - n_in]
        flat = ops.reshape(inputs, (*lead, math.prod(self.in_axes)))
        kernel = ops.reshape(self.kernel, (math.prod(self.in_axes), math.prod(self.out_axes)))
        out = ops.reshape(ops.matmul(flat, kernel), (*lead, *self.out_axes))
        return out + self.bias if self.bias is not None else out


@register_layer
class MultiHeadAttention(SeededLayer):
    """Multi-head attention (Vaswani et al., "Attention Is All You Need", 2017) with
    Keras's arguments and weight layout.

    Each head ``h`` projects ``Q_h = query W^q_h``, ``K_h = key W^k_h``, ``V_h = value
    W^v_h``, computes ``softmax(Q_h K_h^T / sqrt(key_dim)) V_h``; the heads are joined by
    the output projection. Weights, in order: ``query/kernel (dim, heads, key_dim)``,
    ``query/bias (heads, key_dim)``, the same for ``key`` and ``value`` (``value_dim``), then
    ``attention_output/kernel (heads, value_dim, out_dim)`` and ``attention_output/bias``.

    Args:
        num_heads: the number of heads.
        key_dim: the size of each head's query and key.
        value_dim: each head's value size (default ``key_dim``).
        dropout: on the attention weights during training.
        use_bias: biases in the projections.
        output_shape: the output's last axis (default the query's).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            kernel_constraint, bias_constraint: for all four projections.
        seed: for the dropout.

    Call arguments:
        query ``(batch, T, dim)``, value ``(batch, S, dim_v)``, key (default value);
        query_mask, value_mask, key_mask (taken from the inputs when layers made them);
        attention_mask ``(batch, T, S)`` booleans; return_attention_scores (also return the
        ``(batch, heads, T, S)`` weights); use_causal_mask; training.

    Output shape:
        ``(batch, T, out_dim)``.

    Example:
        >>> import lapenna as lp
        >>> mha = lp.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = lp.backend.xp.ones((3, 5, 8), dtype="float32")
        >>> mha(x, x).shape, mha.count_params()
        ((3, 5, 8), 296)
    """

    supports_masking = True

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MultiHeadAttention expects a positive int {arg}, got {value!r}")
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = key_dim if value_dim is None else int(value_dim)
        self.dropout = check_rate("MultiHeadAttention", dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, list | tuple):
            output_shape = output_shape[-1]
        self.output_shape = None if output_shape is None else int(output_shape)
        self.kernel_initializer = initializers_module.get(kernel_initializer)
        self.bias_initializer = initializers_module.get(bias_initializer)
        self.kernel_regularizer = regularizers_module.get(kernel_regularizer)
        self.bias_regularizer = regularizers_module.get(bias_regularizer)
        self.kernel_constraint = constraints_module.get(kernel_constraint)
        self.bias_constraint = constraints_module.get(bias_constraint)

    def __call__(self, query, value=None, key=None, **kwargs):
        """``mha(query, value[, key])`` as in Keras (also ``mha([query, value, key])``)."""
        if isinstance(query, list | tuple) and value is None:
            inputs = list(query)
        else:
            inputs = [query, value] if key is None else [query, value, key]
        masks = [kwargs.pop(n, None) for n in ("query_mask", "value_mask", "key_mask")]
        if any(m is not None for m in masks):
            kwargs["mask"] = masks[: len(inputs)]
        return super().__call__(inputs, **kwargs)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise ValueError(
                f"MultiHeadAttention '{self.name}' expects a query and a value, got {input_shape!r}"
            )
        q, v = input_shape[0], input_shape[1]
        k = input_shape[2] if len(input_shape) > 2 else v
        heads = self.num_heads
        kernel = (self.kernel_initializer, self.kernel_regularizer, self.kernel_constraint)
        bias = (self.bias_initializer, self.bias_regularizer, self.bias_constraint)

        def projection(name, dim, out):
            layer = _Projection((dim,), out, self.use_bias, kernel, bias, name=name)
            layer._maybe_build(None)
            for w in layer.weights:  # Keras's paths: "multi_head_attention/query/kernel"
                w.path = f"{self.name}/{w.path}"
            return layer

        self.query_dense = projection("query", q[-1], (heads, self.key_dim))
        self.key_dense = projection("key", k[-1], (heads, self.key_dim))
        self.value_dense = projection("value", v[-1], (heads, self.value_dim))
        out_dim = self.output_shape or q[-1]
        self.output_dense = _Projection(
            (heads, self.value_dim),
            (out_dim,),
            self.use_bias,
            kernel,
            bias,
            name="attention_output",
        )
        self.output_dense._maybe_build(None)
        for w in self.output_dense.weights:
            w.path = f"{self.name}/{w.path}"

    def call(
        self,
        inputs,
        mask=None,
        attention_mask=None,
        return_attention_scores=False,
        use_causal_mask=False,
        training=None,
    ):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        allowed = self._attention_mask(query, value, mask, attention_mask, use_causal_mask)
        # (batch, T, heads, key_dim) -> (batch, heads, T, key_dim): each head one batched GEMM
        q = ops.transpose(self.query_dense(query), (0, 2, 1, 3))
        k = ops.transpose(self.key_dense(key), (0, 2, 1, 3))
        v = ops.transpose(self.value_dense(value), (0, 2, 1, 3))
        q = q * q.dtype.type(1.0 / math.sqrt(self.key_dim))
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
        weights = _masked_softmax(scores, None if allowed is None else allowed[:, None])
        dropped = weights
        if training and self.dropout > 0:
            dropped = ops.dropout(weights, self.dropout, generator=self.generator())
        heads = ops.transpose(ops.matmul(dropped, v), (0, 2, 1, 3))
        out = self.output_dense(heads)
        return [out, weights] if return_attention_scores else out

    def _attention_mask(self, query, value, mask, attention_mask, use_causal_mask):
        """Keras's rule: query mask ``[B, T, 1]`` & value mask ``[B, 1, S]`` & key mask &
        causal ``[1, T, S]`` & ``attention_mask``; None when nothing is masked."""
        masks = list(mask or []) + [None] * 3
        allowed = None
        parts = [
            None if masks[0] is None else _mask_array(masks[0])[:, :, None],
            None if masks[1] is None else _mask_array(masks[1])[:, None, :],
            None if masks[2] is None else _mask_array(masks[2])[:, None, :],
        ]
        if use_causal_mask:
            parts.append(causal_mask(query.shape[1], value.shape[1]))
        if attention_mask is not None:
            am = _mask_array(attention_mask)
            if am.shape[-2:] != (query.shape[1], value.shape[1]):
                raise ValueError(
                    f"MultiHeadAttention '{self.name}' expects an attention_mask of shape "
                    f"(batch, {query.shape[1]}, {value.shape[1]}), got {am.shape}"
                )
            parts.append(am)
        for p in parts:
            if p is not None:
                allowed = p if allowed is None else allowed & p
        return allowed

    def compute_mask(self, inputs, mask=None):
        return None if not mask or mask[0] is None else _mask_array(mask[0])

    def compute_output_shape(self, input_shape):
        q = input_shape[0]
        return (*q[:-1], self.output_shape or q[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self.output_shape,
            "kernel_initializer": initializers_module.serialize(self.kernel_initializer),
            "bias_initializer": initializers_module.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers_module.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers_module.serialize(self.bias_regularizer),
            "kernel_constraint": constraints_module.serialize(self.kernel_constraint),
            "bias_constraint": constraints_module.serialize(self.bias_constraint),
        }

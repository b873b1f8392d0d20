"""Text preprocessing: ``StringLookup``, ``IntegerLookup`` and ``TextVectorization``.

These layers turn raw tokens and strings into integer ids or bag-of-words vectors, with
Keras 3's arguments, defaults and vocabulary rules:

- ``adapt(data)`` counts tokens; the vocabulary lists them by descending count, ties broken
  by the token itself in *descending* order (Keras sorts with ``np.lexsort((tokens,
  counts))[::-1]``), truncated to ``max_tokens`` including the special tokens;
- ids: in ``output_mode="int"`` the mask token (when set) is id 0, then ``num_oov_indices``
  OOV ids, then the learned tokens; in the other modes there is no mask id and mask tokens
  in the input are dropped;
- ``"multi_hot"``, ``"count"``, ``"one_hot"`` and ``"tf_idf"`` give float32 vectors as wide
  as the vocabulary (``max_tokens`` with ``pad_to_max_tokens``); tf-idf multiplies counts by
  ``log(1 + documents / (1 + documents containing the token))``, the OOV weight being the
  mean of the learned ones.

Strings never become device arrays: the layers run on the host (like Keras, which runs them
on the CPU in the input pipeline) and return integer or float Tensors. The vocabulary (and
the idf weights) is the layer's state and is saved in its config, so a saved layer rebuilt
with ``from_config`` gives the same ids; it is validated again when loaded (strings or
integers as the layer expects, no duplicates, special tokens only in their places).
"""

import math
import re
from collections import Counter

from lapenna.autograd import Tensor
from lapenna.backend import host_np as np
from lapenna.layers import symbolic
from lapenna.layers.base import Layer, register_layer
from lapenna.utils.hashing import hash_bucket

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# Keras's DEFAULT_STRIP_REGEX: ASCII punctuation, as tf.strings.regex_replace uses it
_PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")
# tf.strings.lower (what Keras calls) lowercases ASCII letters only; whitespace splitting
# splits on ASCII whitespace
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def _is_int(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _host(data):
    """A numpy array of the data (Tensors' arrays, lists, strings)."""
    if isinstance(data, Tensor):
        data = data.numpy()
    return np.asarray(data)


# Keras arguments lapenna takes only at the value it implements: (name, accepted values)
_KERAS_DEFAULTS = (
    ("sparse", (False,)),
    ("ragged", (False,)),
    ("encoding", ("utf-8",)),
    ("vocabulary_dtype", ("int64", "int32")),
)


def _keras_only_defaults(cls, kwargs):
    """Drop Keras arguments given at the values lapenna implements; refuse other values."""
    for name, accepted in _KERAS_DEFAULTS:
        if name in kwargs:
            value = kwargs.pop(name)
            if value not in accepted:
                raise ValueError(
                    f"{cls} supports {name}={accepted[0]!r} only (dense outputs, UTF-8, int64 "
                    f"ids), got {value!r}"
                )


class _IndexLookup(Layer):
    """What StringLookup and IntegerLookup (and TextVectorization inside) share."""

    _kind = "token"

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=None,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        *,
        oov_method="floormod",
        salt=None,
        **kwargs,
    ):
        cls = type(self).__name__
        _keras_only_defaults(cls, kwargs)
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f"{cls} expects oov_method 'floormod' or 'farmhash', got {oov_method!r}"
            )
        salt = self._check_salt(cls, salt, oov_method)
        super().__init__(**kwargs)
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"{cls} expects output_mode one of {_MODES}, got {output_mode!r}")
        if max_tokens is not None and (not _is_int(max_tokens) or max_tokens <= 1):
            raise ValueError(f"{cls} expects max_tokens None or an int > 1, got {max_tokens!r}")
        if not _is_int(num_oov_indices) or num_oov_indices < 0:
            raise ValueError(f"{cls} expects num_oov_indices an int >= 0, got {num_oov_indices!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{cls} can invert only with output_mode 'int', got {output_mode!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{cls} with pad_to_max_tokens=True needs max_tokens")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                f"{cls} takes idf_weights only with output_mode 'tf_idf', got {output_mode!r}"
            )
        self._check_token(mask_token, "mask_token")
        self._check_token(oov_token, "oov_token")
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method, self.salt = oov_method, salt
        self._tokens = None  # the learned (non-special) tokens, in id order
        self._idf = None  # float64 idf weights of the whole vocabulary (specials first)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{cls} got idf_weights without a vocabulary")

    def _check_salt(self, cls, salt, oov_method):
        """Keras's rule: None, an int k (the key (k, k)) or two ints; for integer tokens
        only with ``oov_method="farmhash"``. Returned as a list of two ints or None."""
        if salt is None:
            return None
        if self._kind == "integer" and oov_method != "farmhash":
            raise ValueError(
                f"{cls}: salt can only be used with oov_method='farmhash', got "
                f"oov_method={oov_method!r}"
            )
        if _is_int(salt):
            salt = [salt, salt]
        if not (isinstance(salt, list | tuple) and len(salt) == 2 and all(map(_is_int, salt))):
            raise ValueError(f"{cls} expects salt None, an int or two ints, got {salt!r}")
        if not all(-(2**63) <= k < 2**64 for k in salt):
            raise ValueError(f"{cls} expects salt values that fit 64 bits, got {salt!r}")
        return [int(k) for k in salt]

    def _hashed_bucket(self, text):
        """The OOV bucket Keras gives the string ``text``: FarmHash64 (``salt`` None) or
        SipHash-2-4 keyed by the salt, modulo ``num_oov_indices``."""
        return hash_bucket(text, self.num_oov_indices, self.salt)

    # -- tokens of this layer's kind ------------------------------------------------------
    def _check_token(self, token, name):
        if token is not None and not self._valid(token):
            raise ValueError(
                f"{type(self).__name__} expects {name} None or a {self._kind}, got {token!r}"
            )

    def _valid(self, token):
        raise NotImplementedError

    # -- ids ------------------------------------------------------------------------------
    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def _specials(self):
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def get_vocabulary(self, include_special_tokens=True):
        """The tokens in id order (the mask and OOV tokens first, unless excluded)."""
        tokens = list(self._tokens or [])
        return self._specials() + tokens if include_special_tokens else tokens

    def vocabulary_size(self):
        """The number of ids: special tokens plus learned ones."""
        return self._token_start() + len(self._tokens or [])

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (with or without the special tokens in front) and, in tf-idf
        mode, the idf weights (one per listed token).

        Raises:
            ValueError: a token of the wrong kind, a duplicate, a special token out of its
                place, more tokens than ``max_tokens``, or idf weights that do not fit.
        """
        cls = f"{type(self).__name__} '{self.name}'"
        if isinstance(vocabulary, str) or not hasattr(vocabulary, "__iter__"):
            raise ValueError(f"{cls} expects the vocabulary as a list, got {vocabulary!r}")
        vocab = [v.item() if isinstance(v, np.generic) else v for v in vocabulary]
        bad = [v for v in vocab if not self._valid(v)]
        if bad:
            raise ValueError(f"{cls} expects a vocabulary of {self._kind}s, got {bad[:3]!r}")
        specials = self._specials()
        has_specials = bool(specials) and vocab[: len(specials)] == specials
        tokens = vocab[len(specials) :] if has_specials else vocab
        for name, token in (("mask_token", self.mask_token), ("oov_token", self.oov_token)):
            if token is not None and token in tokens:
                raise ValueError(
                    f"{cls}: the vocabulary holds the {name} {token!r} at position "
                    f"{vocab.index(token)}; special tokens go only at the front, where "
                    f"the layer puts them: {specials!r}"
                )
        repeated = [t for t, n in Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{cls}: the vocabulary repeats {repeated[:3]!r}")
        size = len(tokens) + self._token_start()
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                f"{cls}: a vocabulary of {size} ids (special tokens included) exceeds "
                f"max_tokens={self.max_tokens}"
            )
        idf = None
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{cls} in output_mode 'tf_idf' needs idf_weights")
            weights = np.asarray(idf_weights, dtype="float64").reshape(-1)
            if not np.all(np.isfinite(weights)):
                raise ValueError(f"{cls} expects finite idf_weights, got {idf_weights!r}")
            if len(weights) != len(vocab):
                raise ValueError(
                    f"{cls} expects one idf weight per vocabulary entry ({len(vocab)}), "
                    f"got {len(weights)}"
                )
            if not has_specials:  # Keras pads the front with the mean weight
                front = np.full(self._token_start(), weights.mean() if len(weights) else 0.0)
                weights = np.concatenate([front, weights])
            idf = weights
        elif idf_weights is not None:
            raise ValueError(f"{cls} takes idf_weights only with output_mode 'tf_idf'")
        self._tokens, self._idf = tokens, idf

    # -- adapt ----------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from ``data``: an array or list of tokens (any rank), or an
        iterable of such batches (a ``lapenna.data.Dataset``); ``steps`` bounds the batches
        taken from an iterable. Rows are documents for tf-idf."""
        counts, documents, n_docs = Counter(), Counter(), 0
        for batch in self._adapt_batches(data, steps):
            for row in batch:
                row = [t for t in row if t != self.mask_token and t != self.oov_token]
                counts.update(row)
                documents.update(set(row))
                n_docs += 1
        self._finalize(counts, documents, n_docs)

    def _finalize(self, counts, documents, n_docs):
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens is not None:
            tokens = tokens[: self.max_tokens - self._token_start()]
        self._tokens = tokens
        if self.output_mode == "tf_idf":
            learned = np.array(
                [math.log(1 + n_docs / (1 + documents[t])) for t in tokens], dtype="float64"
            )
            front = np.full(self._token_start(), learned.mean() if len(learned) else 0.0)
            self._idf = np.concatenate([front, learned])

    def _adapt_batches(self, data, steps):
        """Lists of rows of tokens, one list per batch."""
        name = f"{type(self).__name__} '{self.name}'.adapt"
        if isinstance(data, list | tuple | str | Tensor | np.ndarray | int):
            yield self._rows(_host(data), name)
            return
        for step, element in enumerate(data):
            if steps is not None and step >= steps:
                return
            if isinstance(element, tuple | dict):
                raise ValueError(
                    f"{name} expects batches of tokens, got a {type(element).__name__}; map "
                    "the dataset to its features first: ds.map(lambda x, y: x)"
                )
            yield self._rows(_host(element), name)

    def _rows(self, array, name):
        if array.size == 0:
            return []
        array = array.reshape(-1, array.shape[-1]) if array.ndim >= 2 else array.reshape(-1, 1)
        rows = [[v.item() if isinstance(v, np.generic) else v for v in r] for r in array]
        bad = [v for r in rows for v in r if not self._valid(v)]
        if bad:
            raise ValueError(f"{name} expects {self._kind}s, got {bad[:3]!r}")
        return rows

    # -- call -----------------------------------------------------------------------------
    def _require_vocabulary(self):
        if self._tokens is None:
            raise RuntimeError(
                f"{type(self).__name__} '{self.name}' has no vocabulary yet: call "
                "adapt(data) first, or give vocabulary="
            )

    def _ids(self, array):
        """Token array -> int64 ids of the same shape (-1 for dropped mask tokens)."""
        table = {t: i + self._token_start() for i, t in enumerate(self._tokens)}
        flat = array.reshape(-1)
        ids = np.empty(flat.shape, dtype="int64")
        unknown = []
        for k, token in enumerate(flat.tolist()):
            if token == self.mask_token:
                ids[k] = 0 if self.output_mode == "int" else -1
            elif token in table:
                ids[k] = table[token]
            elif self.num_oov_indices == 0:
                unknown.append(token)
            else:
                ids[k] = self._oov_start() + self._oov_bucket(token)
        if unknown:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' has num_oov_indices=0, so every input "
                f"must be in the vocabulary; found {unknown[:5]!r}"
            )
        return ids.reshape(array.shape)

    def _oov_bucket(self, token):
        return 0

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _encode(self, ids):
        """Ids (rank 0, 1 or 2) -> float32 one-hot / multi-hot / count / tf-idf vectors."""
        depth = self._depth()
        if self.output_mode == "one_hot":
            out = np.zeros((*ids.shape, depth), dtype="float32")
            valid = ids >= 0
            idx = np.nonzero(valid)
            out[(*idx, ids[valid])] = 1.0
            return out
        if ids.ndim > 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' in output_mode {self.output_mode!r} "
                f"expects inputs of rank 2 at most, got shape {ids.shape}"
            )
        squeeze = ids.ndim == 0
        rows = (
            ids.reshape(1, 1)
            if squeeze
            else ids.reshape(len(ids), -1)
            if ids.ndim == 2
            else ids.reshape(-1, 1)
        )
        out = np.zeros((len(rows), depth), dtype="float64")
        r, c = np.nonzero(rows >= 0)
        np.add.at(out, (r, rows[r, c]), 1.0)
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1.0)
        elif self.output_mode == "tf_idf":
            idf = np.zeros(depth)
            idf[: len(self._idf)] = self._idf[:depth]
            out = out * idf
        out = out.astype("float32")
        return out[0] if squeeze else out

    def _lookup(self, array):
        self._require_vocabulary()
        if self.invert:
            return self._inverse(array)
        ids = self._ids(array)
        return ids if self.output_mode == "int" else self._encode(ids)

    def _inverse(self, array):
        if array.dtype.kind not in "iu":
            raise ValueError(
                f"{type(self).__name__} '{self.name}' with invert=True expects integer ids, "
                f"got dtype {array.dtype}"
            )
        vocab = self.get_vocabulary()
        out = [vocab[i] if 0 <= i < len(vocab) else self.oov_token for i in array.reshape(-1)]
        return np.array(out, dtype=self._out_dtype()).reshape(array.shape)

    def __call__(self, inputs, *args, **kwargs):
        if symbolic.any_symbolic(inputs):
            raise TypeError(
                f"{type(self).__name__} '{self.name}' runs on the host in the input pipeline, "
                "not inside a symbolic model: apply it to the data (ds.map(layer) or "
                "layer(x)) and feed the ids to the model"
            )
        return self.call(inputs)

    def get_config(self):
        config = {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "invert": self.invert,
            "output_mode": self.output_mode,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": None if self._tokens is None else self.get_vocabulary(),
            "idf_weights": None if self._idf is None else [float(w) for w in self._idf],
            "oov_method": self.oov_method,
            "salt": self.salt,
        }
        return config


@register_layer
class StringLookup(_IndexLookup):
    """Map strings to integer ids from a vocabulary (or ids back to strings).

    Args:
        max_tokens: the largest vocabulary, special tokens included (None: no limit).
        num_oov_indices: ids for out-of-vocabulary tokens (default 1; 0 makes unknown
            tokens raise); with more than one, a token goes to its FarmHash64 fingerprint
            modulo ``num_oov_indices``, TensorFlow's ``to_hash_bucket_fast`` as in Keras.
        mask_token: a token mapped to id 0 in ``"int"`` mode (dropped in the others).
        oov_token: the token ``invert`` returns for OOV ids (default ``"[UNK]"``).
        vocabulary: a list of strings, or None to ``adapt``.
        idf_weights: with ``output_mode="tf_idf"`` and a given vocabulary.
        invert: map ids to strings instead.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        pad_to_max_tokens: vectors ``max_tokens`` wide in the non-int modes.
        salt: None, an int k or two ints: hash OOV tokens with SipHash-2-4 keyed by
            ``(k0, k1)`` (``to_hash_bucket_strong``) instead of FarmHash64.
        oov_method: accepted for Keras's configs; strings are always hashed.

    Input shape:
        strings of any shape (rank 2 at most for the vector modes).

    Output shape:
        int64 ids of the input's shape, or float32 ``(batch, depth)`` vectors.

    Example:
        >>> import lapenna as lp
        >>> lookup = lp.layers.StringLookup(vocabulary=["a", "b", "c"])
        >>> lookup([["a", "c"], ["d", "b"]]).tolist()
        [[1, 3], [0, 2]]
    """

    _kind = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, salt=None, **kwargs):  # fmt: skip
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, salt=salt,
                         **kwargs)  # fmt: skip

    def _valid(self, token):
        return isinstance(token, str)

    def _oov_bucket(self, token):
        return 0 if self.num_oov_indices == 1 else self._hashed_bucket(token)

    def _out_dtype(self):
        return object

    def call(self, inputs):
        array = _host(inputs)
        if array.dtype.kind not in "USO" and not self.invert:
            raise ValueError(
                f"StringLookup '{self.name}' expects strings, got an array of dtype {array.dtype}"
            )
        if array.dtype.kind == "S":
            array = np.char.decode(array, "utf-8")
        out = self._lookup(array.astype(object) if not self.invert else array)
        return out if self.invert else Tensor(out)


@register_layer
class IntegerLookup(_IndexLookup):
    """Map integers (user ids, word ids) to contiguous ids from a vocabulary, or back.

    Args:
        max_tokens: the largest vocabulary, special tokens included (None: no limit).
        num_oov_indices: OOV ids; with more than one, an OOV value ``v`` goes to
            ``v mod num_oov_indices`` (``oov_method="floormod"``, the default) or to the
            FarmHash64 fingerprint of its decimal string modulo ``num_oov_indices``
            (``"farmhash"``), as in Keras; 0 makes unknown values raise.
        oov_method: ``"floormod"`` or ``"farmhash"``.
        salt: with ``oov_method="farmhash"``: None, an int k or two ints, to hash with
            SipHash-2-4 keyed by ``(k0, k1)`` instead.
        mask_token: a value mapped to id 0 in ``"int"`` mode (None: no mask).
        oov_token: the value ``invert`` returns for OOV ids (default -1).
        vocabulary, idf_weights, invert, output_mode, pad_to_max_tokens: as StringLookup.

    Input shape:
        integers of any shape (rank 2 at most for the vector modes).

    Output shape:
        int64 ids of the input's shape, or float32 ``(batch, depth)`` vectors.

    Example:
        >>> import lapenna as lp
        >>> lookup = lp.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> lookup([[12, 1138, 42], [42, 1000, 36]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
    """

    _kind = "integer"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, oov_method="floormod", salt=None,
                 **kwargs):  # fmt: skip
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, **kwargs)  # fmt: skip

    def _valid(self, token):
        return _is_int(token)

    def _out_dtype(self):
        return "int64"

    def _oov_bucket(self, token):
        if self.oov_method == "farmhash":  # Keras hashes tf.strings.as_string(token)
            return self._hashed_bucket(str(token))
        return token % self.num_oov_indices

    def call(self, inputs):
        array = _host(inputs)
        if array.dtype.kind not in "iu":
            raise ValueError(
                f"IntegerLookup '{self.name}' expects integers, got an array of dtype {array.dtype}"
            )
        return Tensor(self._lookup(array))


@register_layer
class TextVectorization(_IndexLookup):
    """Turn strings into token ids or bag-of-words vectors: standardize, split, n-grams,
    then a StringLookup.

    Args:
        max_tokens: the largest vocabulary, the mask ``""`` and OOV ``"[UNK]"`` included.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, None, or a callable str -> str (which cannot be saved).
        split: ``"whitespace"`` (default), ``"character"``, None, or a callable
            str -> list of str (which cannot be saved).
        ngrams: None, an int n (all 1..n-grams) or a tuple of widths; joined by spaces.
        output_mode: ``"int"`` (default), ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        output_sequence_length: in ``"int"`` mode, pad with 0 or truncate to this length
            (default: the longest row of the batch).
        pad_to_max_tokens: vectors ``max_tokens`` wide in the vector modes.
        vocabulary, idf_weights: a given vocabulary instead of ``adapt``.

    Input shape:
        ``(batch,)`` or ``(batch, 1)`` strings, or one string.

    Output shape:
        ``(batch, length)`` int64 ids, or ``(batch, depth)`` float32 vectors.

    Example:
        >>> import lapenna as lp
        >>> vectorize = lp.layers.TextVectorization(output_sequence_length=4)
        >>> vectorize.adapt(["The cat sat.", "The dog!"])
        >>> vectorize.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
        >>> vectorize(["the bird sat"]).tolist()
        [[2, 1, 3, 0]]
    """

    _kind = "string"

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        **kwargs,
    ):
        for key in ("mask_token", "oov_token", "num_oov_indices", "invert", "oov_method", "salt"):
            kwargs.pop(key, None)
        if output_mode not in ("int", "multi_hot", "count", "tf_idf", "tf-idf"):
            raise ValueError(
                "TextVectorization expects output_mode 'int', 'multi_hot', 'count' or "
                f"'tf_idf', got {output_mode!r}"
            )
        if standardize not in (None, "lower_and_strip_punctuation", "lower",
                               "strip_punctuation") and not callable(standardize):  # fmt: skip
            raise ValueError(
                "TextVectorization expects standardize None, 'lower_and_strip_punctuation', "
                f"'lower', 'strip_punctuation' or a callable, got {standardize!r}"
            )
        if split not in (None, "whitespace", "character") and not callable(split):
            raise ValueError(
                "TextVectorization expects split None, 'whitespace', 'character' or a "
                f"callable, got {split!r}"
            )
        if ngrams is not None:
            widths = (ngrams,) if _is_int(ngrams) else ngrams
            if (
                not isinstance(widths, list | tuple)
                or not widths
                or not all(_is_int(n) and n >= 1 for n in widths)
            ):
                raise ValueError(
                    f"TextVectorization expects ngrams None, an int >= 1 or a tuple of them, "
                    f"got {ngrams!r}"
                )
            if split is None:
                raise ValueError("TextVectorization can make ngrams only when split is set")
        if output_sequence_length is not None and (
            output_mode != "int" or not _is_int(output_sequence_length)
            or output_sequence_length < 1
        ):  # fmt: skip
            raise ValueError(
                "TextVectorization takes output_sequence_length (an int >= 1) only with "
                f"output_mode 'int', got {output_sequence_length!r} with {output_mode!r}"
            )
        if pad_to_max_tokens and output_mode == "int":
            raise ValueError("TextVectorization takes pad_to_max_tokens only in the vector modes")
        self.standardize = standardize
        self.split = split
        self.ngrams = list(ngrams) if isinstance(ngrams, list | tuple) else ngrams
        self.output_sequence_length = output_sequence_length
        super().__init__(
            max_tokens=max_tokens, num_oov_indices=1, mask_token="", oov_token="[UNK]",
            vocabulary=vocabulary, idf_weights=idf_weights, output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens, **kwargs,
        )  # fmt: skip

    def _valid(self, token):
        return isinstance(token, str)

    def _widths(self):
        if self.ngrams is None:
            return None
        return tuple(range(1, self.ngrams + 1)) if _is_int(self.ngrams) else tuple(self.ngrams)

    def _texts(self, data, name):
        array = _host(data)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim > 1:
            raise ValueError(
                f"{name} expects strings of shape (batch,) or (batch, 1), got shape {array.shape}"
            )
        texts = array.reshape(-1).tolist()
        texts = [t.decode("utf-8") if isinstance(t, bytes) else t for t in texts]
        bad = [t for t in texts if not isinstance(t, str)]
        if bad:
            raise ValueError(f"{name} expects strings, got {bad[:3]!r}")
        return texts, array.ndim == 0

    def _tokenize(self, text):
        """One string -> its list of tokens (standardized, split, n-grams)."""
        mode = self.standardize
        if mode in ("lower_and_strip_punctuation", "lower"):
            text = text.translate(_ASCII_LOWER)
        if mode in ("lower_and_strip_punctuation", "strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if callable(mode):
            text = mode(text)
        if self.split is None:
            return [text]
        if self.split == "whitespace":
            tokens = [t for t in _WHITESPACE.split(text) if t]
        elif self.split == "character":
            tokens = list(text)
        else:
            tokens = list(self.split(text))
        widths = self._widths()
        if widths is None:
            return tokens
        grams = []
        for n in widths:
            grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        return grams

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and idf weights) from strings: an array or list, or an
        iterable of batches of strings such as a ``lapenna.data.Dataset``."""
        name = f"TextVectorization '{self.name}'.adapt"
        counts, documents, n_docs = Counter(), Counter(), 0
        batches = [data] if isinstance(data, list | tuple | str | np.ndarray) else data
        for step, batch in enumerate(batches):
            if steps is not None and step >= steps:
                break
            if isinstance(batch, tuple | dict):
                raise ValueError(
                    f"{name} expects batches of strings, got a {type(batch).__name__}; map "
                    "the dataset to its texts first: ds.map(lambda x, y: x)"
                )
            texts, _ = self._texts(batch, name)
            for text in texts:
                row = [t for t in self._tokenize(text) if t not in ("", "[UNK]")]
                counts.update(row)
                documents.update(set(row))
                n_docs += 1
        self._finalize(counts, documents, n_docs)

    def call(self, inputs):
        self._require_vocabulary()
        texts, scalar = self._texts(inputs, f"TextVectorization '{self.name}'")
        rows = [self._ids(np.array(self._tokenize(t) or [], dtype=object)) for t in texts]
        if self.output_mode == "int":
            length = self.output_sequence_length
            if length is None:
                length = max((len(r) for r in rows), default=0)
            out = np.zeros((len(rows), length), dtype="int64")
            for i, r in enumerate(rows):
                out[i, : min(len(r), length)] = r[:length]
        else:
            depth = self._depth()
            out = np.stack([self._encode(r.reshape(1, -1))[0] for r in rows]) if rows else (
                np.zeros((0, depth), dtype="float32"))  # fmt: skip
        return Tensor(out[0] if scalar else out)

    def get_config(self):
        for name in ("standardize", "split"):
            if callable(getattr(self, name)):
                raise ValueError(
                    f"TextVectorization '{self.name}' has a callable {name}, which a config "
                    "cannot hold (loading never imports or calls code named by a file); use "
                    f"one of the named {name} modes to save the layer"
                )
        config = super().get_config()
        for key in ("mask_token", "oov_token", "num_oov_indices", "invert", "oov_method", "salt"):
            config.pop(key)
        config.update(
            standardize=self.standardize,
            split=self.split,
            ngrams=self.ngrams,
            output_sequence_length=self.output_sequence_length,
        )
        return config

"""Read the weights of Keras HDF5 files, both layouts Keras writes, as plain arrays.

Keras 2 / tf.keras (``model.save("m.h5")`` and ``save_weights("w.h5")``): the root (or
the ``model_weights`` group of a full-model file) has the attribute ``layer_names``, the
layers in model order; each layer's group has the attribute ``weight_names``
(``dense/kernel:0``, ``dense/bias:0``) naming datasets relative to that group, in the
layer's weight order. Attributes too large for HDF5 are split into ``layer_names0``,
``layer_names1``...

Keras 3 (``save_weights("w.weights.h5")``, and ``model.weights.h5`` inside ``.keras``):
each object's variables sit in ``<path>/vars/0``, ``1``... in its weight order. A
Sequential or functional model's layers are under ``layers/<key>``, where the key is the
snake-cased class name with a per-class counter in ``model.layers`` order (``dense``,
``dense_1``, ``conv2d``...: see :func:`keras3_layer_keys`); nested models and layers
that hold layers add more levels (``layers/sequential/layers/dense/vars/0``). The
optimizer's state (``optimizer/vars``) and metrics' variables are skipped. HDF5 lists
groups by name, not in creation order, so for Keras 3 the returned order is only the
natural order of the keys: match layers by key, not by position.

Weights come in Keras layouts, which lapenna shares: Dense kernel ``(in, out)``, Conv2D
``(kh, kw, in, out)``, Conv2DTranspose ``(kh, kw, out, in)``, DepthwiseConv2D
``(kh, kw, in, multiplier)``, BatchNormalization ``[gamma, beta, moving_mean,
moving_variance]``.

Only numeric datasets are read; external links, external or virtual storage (which
could make the reader open other files), and names with ``..`` or leading ``/`` are
refused, each with the file and group named.
"""

import math
import mmap
import os
import re
import struct

from lapenna.backend import host_np as np
from lapenna.io.errors import FormatError
from lapenna.io.files import check_regular_path

MAX_WEIGHT_BYTES = 2**33
MAX_DEPTH = 32
_LAYER_CONTAINERS = ("layers", "_layer_checkpoint_dependencies")
_SKIPPED_ROOTS = ("optimizer", "vars")
# what h5py raises on a malformed file: HDF5's errors surface as OSError, KeyError (an
# object that cannot be opened), RuntimeError (a link that cannot be checked), ValueError
# or TypeError; a string attribute that is not UTF-8 comes back with surrogates
_H5_ERRORS = (
    OSError,
    KeyError,
    RuntimeError,
    ValueError,
    TypeError,
    IndexError,
    OverflowError,
    UnicodeError,
    MemoryError,
)


def check_global_heaps(source):
    """Refuse a file whose global heap collections HDF5 could not walk to their end.

    Variable-length strings (Keras's ``model_config``, ``layer_names``...) live in global
    heap collections (``GCOL``: a 16-byte header with the collection's size, then objects,
    each a 16-byte header with its index and size, and a free-space object of index 0).
    HDF5 walks a collection object by object when it first reads from it, and a free-space
    object of size 0 never moves it on: the read spins forever inside C code (a one-byte
    change to an object's size can do that). This walk is HDF5's, in Python, over every
    collection in the file, before h5py reads anything; it is bounded by the file's size.

    Raises:
        FormatError: naming the file and the collection that cannot be walked.
    """
    with open(source, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            at = data.find(b"GCOL")
            while at != -1:
                _check_collection(data, at, source)
                at = data.find(b"GCOL", at + 4)


def _check_collection(data, at, source):
    if at + 16 > len(data) or data[at + 4] != 1:
        return  # not a collection (HDF5 refuses other versions itself)
    (size,) = struct.unpack_from("<Q", data, at + 8)
    end = at + size
    if size < 16 or end > len(data):
        return  # past the file's end: HDF5 refuses to read it
    p = at + 16
    while p < end and p + 16 <= end:
        index, _, _, length = struct.unpack_from("<HHIQ", data, p)
        step = 16 + (length + 7) // 8 * 8 if index else length
        if step <= 0 or p + step > end:
            what = "of size 0" if step <= 0 else f"of {length} bytes runs past its end"
            raise FormatError(
                f"{source}: the global heap collection at byte {at} is corrupt (object "
                f"{index} at byte {p} {what}); HDF5 would not finish reading it"
            )
        p += step


def _unreadable(source, err):
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return FormatError(f"{source}: cannot be read as a Keras HDF5 file ({text})")


def read_keras_model_config(path):
    """The ``model_config`` attribute of a Keras ``.h5`` model file as text (None when the
    file has none: a weights file), its size checked before it is read.

    Raises:
        FormatError: naming the file, for anything HDF5 or the text refuses.
    """
    import h5py

    source = os.fspath(path)
    check_regular_path(source)
    check_global_heaps(source)
    try:
        with h5py.File(source, "r") as f:
            if "model_config" not in f.attrs:
                return None
            config = _bounded_attr(f, "model_config", source)
        if isinstance(config, np.ndarray) and config.shape == ():
            config = config.item()
        text = config.decode("utf-8") if isinstance(config, bytes) else config
        if not isinstance(text, str):
            raise FormatError(f"{source}: 'model_config' is not text ({type(text).__name__})")
        text.encode("utf-8")  # h5py passes bytes that are not UTF-8 on as surrogates
        return text
    except FormatError:
        raise
    except _H5_ERRORS as err:
        raise _unreadable(source, err) from None


def read_keras_weights(path, *, include_empty=False, max_bytes=MAX_WEIGHT_BYTES):
    """Read a Keras ``.h5`` / ``.weights.h5`` file as ``[(layer_name, [arrays])]``.

    Args:
        path: the HDF5 file.
        include_empty: also list layers without weights (Keras 2 files list every layer,
            Keras 3 files have an empty ``vars`` group for them).
        max_bytes: bound on the total bytes of the weights read.

    Returns:
        A list of ``(layer name, list of arrays in Keras weight order)``: in model order
        for Keras 2 files, in natural key order for Keras 3 files (see the module
        docstring). Keras 3 names are the group paths with the container level dropped
        (``dense_1``, ``sequential/dense``).

    Raises:
        FormatError: not HDF5, not a Keras weights layout, a missing group or dataset, a
            non-numeric dtype, unsafe links or names, too many bytes.
        OSError: when the file does not exist or cannot be opened.

    Example:
        >>> import os, tempfile, h5py
        >>> p = os.path.join(tempfile.mkdtemp(), "w.h5")
        >>> with h5py.File(p, "w") as f:
        ...     f.attrs["layer_names"] = [b"dense"]
        ...     g = f.create_group("dense")
        ...     g.attrs["weight_names"] = [b"dense/kernel:0"]
        ...     _ = g.create_dataset("dense/kernel:0", data=np.ones((3, 2), "float32"))
        >>> [(name, [w.shape for w in ws]) for name, ws in read_keras_weights(p)]
        [('dense', [(3, 2)])]
    """
    import h5py

    source = os.fspath(path)
    check_regular_path(source)  # a missing file is an OSError; a FIFO or device is refused
    check_global_heaps(source)
    try:
        handle = h5py.File(source, "r")
    except OSError as err:
        raise FormatError(f"{source}: not an HDF5 file ({err})") from None
    reader = _Reader(h5py, source, max_bytes)
    try:
        with handle as f:
            layers = _read_layers(f, reader, source)
    except FormatError:
        raise
    except _H5_ERRORS as err:
        raise _unreadable(source, err) from None
    return [(name, arrays) for name, arrays in layers if arrays or include_empty]


def _read_layers(f, reader, source):
    if _has_list_attr(f, "layer_names"):
        return reader.keras2(f)
    if "model_weights" in f and _has_list_attr(f["model_weights"], "layer_names"):
        return reader.keras2(reader.child(f, "model_weights", want_group=True))
    if any(name in f for name in (*_LAYER_CONTAINERS, "vars")):
        return reader.keras3(f)
    raise FormatError(
        f"{source}: not a Keras weights file (no layer_names attribute, no model_weights "
        "group, no layers/vars groups)"
    )


def keras3_layer_keys(class_names):
    """The keys Keras 3 gives a model's layers in ``.weights.h5``, from their class names.

    Args:
        class_names: the layers' class names in ``model.layers`` order (Keras names,
            which lapenna shares: ``"Conv2D"``, ``"BatchNormalization"``).

    Returns:
        A list of keys: snake-cased class name plus ``_1``, ``_2``... for repeats.

    Example:
        >>> keras3_layer_keys(["Conv2D", "BatchNormalization", "Conv2D", "Conv2DTranspose"])
        ['conv2d', 'batch_normalization', 'conv2d_1', 'conv2d_transpose']
    """
    counts, keys = {}, []
    for class_name in class_names:
        base = _keras_snake_case(class_name)
        count = counts.get(base, 0)
        counts[base] = count + 1
        keys.append(base if count == 0 else f"{base}_{count}")
    return keys


def keras_layer_order(config):
    """A functional model's layer names in the order of Keras 3's ``model.layers``.

    Keras orders a functional model's layers by their depth (the longest path to an
    output, deepest first) and, at equal depth, by when a depth-first walk from the
    outputs (each call's inputs in order) first reaches them; inputs that reach no
    output come last. The ``.weights.h5`` keys (:func:`keras3_layer_keys`) count layers in
    this order, so two layers of one class are told apart by it.

    Args:
        config: lapenna's functional config (``model.get_config()``): ``layers`` (each
            with ``name`` and ``inbound_nodes``, calls of ``[layer, node, tensor]``
            refs), ``input_layers`` and ``output_layers``.

    Returns:
        The layer names, input layers included.

    Example:
        >>> config = {"layers": [
        ...     {"name": "x", "inbound_nodes": []},
        ...     {"name": "a", "inbound_nodes": [["x", 0, 0]]},
        ...     {"name": "b", "inbound_nodes": [["a", 0, 0]]},
        ...     {"name": "c", "inbound_nodes": [["x", 0, 0]]},
        ...     {"name": "add", "inbound_nodes": [[["c", 0, 0], ["b", 0, 0]]]}],
        ...     "input_layers": ["x", 0, 0], "output_layers": ["add", 0, 0]}
        >>> keras_layer_order(config)
        ['x', 'a', 'c', 'b', 'add']
    """
    calls = {entry["name"]: entry.get("inbound_nodes") or [] for entry in config["layers"]}

    def parents(node):
        layer, index = node
        inbound = calls.get(layer, [])
        return [(r[0], r[1]) for r in _flat_refs(inbound[index])] if index < len(inbound) else []

    first_visit, finished, post_order = {}, set(), []
    for ref in _flat_refs(config["output_layers"]):
        stack = [((ref[0], ref[1]), False)]
        while stack:  # the depth-first walk, without recursion
            node, done = stack.pop()
            if done:
                finished.add(node)
                post_order.append(node)
                continue
            if node in finished:
                continue
            first_visit.setdefault(node[0], len(first_visit))
            stack.append((node, True))
            stack.extend((parent, False) for parent in reversed(parents(node)))
    node_depth, layer_depth = {}, {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = node_depth[node] = depth
        for parent in parents(node):
            if parent in finished:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for ref in _flat_refs(config["input_layers"]):
        if ref[0] not in layer_depth:  # an input that reaches no output
            layer_depth[ref[0]], first_visit[ref[0]] = 0, -1
    return sorted(layer_depth, key=lambda name: (-layer_depth[name], first_visit[name]))


def _flat_refs(value):
    """Every ``[layer, node, tensor]`` ref in a (nested) structure, in order; a call
    written as ``{"args": ..., "kwargs": ...}`` gives its arguments' refs."""
    if isinstance(value, dict) and "args" in value:
        value = value["args"]
    if (
        isinstance(value, list | tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    ):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    return [ref for item in items for ref in _flat_refs(item)]


# Keras 3 stores a layer's sub-layers under their attribute names (lapenna uses the same
# names): a recurrent layer's cell, a wrapper's layers, the projections of attention
_KERAS3_CHILDREN = {
    "Bidirectional": ("forward_layer", "backward_layer"),
    "TimeDistributed": ("layer",),
    "RNN": ("cell",),
    "MultiHeadAttention": ("query_dense", "key_dense", "value_dense", "output_dense"),
}
# ... and the items of a list attribute under keys made as for a model's layers
_KERAS3_LISTS = {"StackedRNNCells": "cells"}


def keras3_weight_groups(layer):
    """Where a layer's variables sit below its key in a Keras 3 weights file.

    Args:
        layer: a built lapenna layer.

    Returns:
        A list of ``(path, [variables])``: the path of a ``vars`` group relative to the
        layer's key (``""`` for the layer itself, ``"cell"`` for an LSTM,
        ``"forward_layer/cell"`` for a Bidirectional, ``"cell/cells/lstm_cell_1"`` for
        the second LSTMCell of a stacked RNN) and the variables stored there, in order.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.Bidirectional(lp.layers.GRU(2))
        >>> _ = layer(lp.backend.xp.ones((1, 3, 4), dtype="float32"))
        >>> [(path, len(ws)) for path, ws in keras3_weight_groups(layer)]
        [('forward_layer/cell', 3), ('backward_layer/cell', 3)]
    """
    for klass in type(layer).__mro__:
        name = klass.__name__
        if name in _KERAS3_CHILDREN:
            children = [(a, getattr(layer, a)) for a in _KERAS3_CHILDREN[name]]
            break
        if name in _KERAS3_LISTS:
            items = getattr(layer, _KERAS3_LISTS[name])
            keys = keras3_layer_keys([type(item).__name__ for item in items])
            children = [(f"{_KERAS3_LISTS[name]}/{k}", item) for k, item in zip(keys, items)]
            break
    else:
        return [("", list(layer.weights))]
    return [
        ("/".join(p for p in (attribute, path) if p), weights)
        for attribute, child in children
        for path, weights in keras3_weight_groups(child)
    ]


def _keras_snake_case(name):
    # A capitalised word after any character gets an underscore, then a lower-case
    # letter followed by a capital: Conv2DTranspose -> conv2d_transpose.
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


class _Reader:
    """Walks one open file, keeping the byte budget and the file name for errors."""

    def __init__(self, h5py, source, max_bytes):
        self.h5py = h5py
        self.source = source
        self.budget = max_bytes

    # -- Keras 2: names listed in attributes

    def keras2(self, group):
        layers = []
        for layer_name in _string_list(group, "layer_names", self.source):
            layer = self.child(group, layer_name, want_group=True)
            weight_names = _string_list(layer, "weight_names", self.source)
            arrays = [self.dataset(self.child(layer, name)) for name in weight_names]
            layers.append((layer_name, arrays))
        return layers

    # -- Keras 3: vars groups in a tree

    def keras3(self, f):
        roots = [name for name in _LAYER_CONTAINERS if name in f]
        if not roots:  # a subclassed model: its layers are its attributes
            roots = [name for name in _natural(f) if not _skipped_root(name)]
        layers, seen = [], set()
        for name in roots:
            self.walk(self.child(f, name, want_group=True), name, layers, seen, depth=0)
        if "vars" in f:
            # a subclassed model's own variables, named by the empty path
            layers.insert(0, ("", self.vars(self.child(f, "vars", want_group=True))))
        return layers

    def walk(self, group, path, layers, seen, depth):
        if depth > MAX_DEPTH:
            raise FormatError(f"{self.source}: group {path!r} is nested too deeply")
        if group.id in seen:
            raise FormatError(f"{self.source}: group {path!r} is linked twice (a cycle?)")
        seen.add(group.id)
        if "vars" in group:
            name = "/".join(p for p in path.split("/") if p not in _LAYER_CONTAINERS)
            layers.append((name, self.vars(self.child(group, "vars", want_group=True))))
        children = [c for c in _natural(group) if c != "vars"]
        children.sort(key=lambda c: (c not in _LAYER_CONTAINERS, c.startswith("_")))
        for child in children:
            node = self.child(group, child)
            if isinstance(node, self.h5py.Group):
                self.walk(node, f"{path}/{child}", layers, seen, depth + 1)

    def vars(self, group):
        names = list(group)
        if sorted(names) != sorted(map(str, range(len(names)))):
            raise FormatError(
                f"{self.source}: group {group.name!r} must hold datasets named 0..{len(names) - 1}"
                f", got {sorted(names)[:10]}"
            )
        return [self.dataset(self.child(group, str(i))) for i in range(len(names))]

    # -- shared checks

    def child(self, group, name, want_group=False):
        """``group[name]`` following only hard links, with the name checked first."""
        parts = name.split("/")
        if not name or name.startswith("/") or ".." in parts or "" in parts:
            raise FormatError(f"{self.source}: unsafe name {name!r} in group {group.name!r}")
        node = group
        for part in parts:
            link = node.get(part, getlink=True) if isinstance(node, self.h5py.Group) else None
            if link is None:
                raise FormatError(f"{self.source}: group {group.name!r} has no entry {name!r}")
            if not isinstance(link, self.h5py.HardLink):
                kind = type(link).__name__
                raise FormatError(f"{self.source}: {group.name}/{name} is a {kind}; refused")
            node = node[part]
        if want_group and not isinstance(node, self.h5py.Group):
            raise FormatError(f"{self.source}: {node.name!r} should be a group")
        return node

    def dataset(self, node):
        where = f"{self.source}: {node.name!r}"
        if not isinstance(node, self.h5py.Dataset):
            raise FormatError(f"{where} should be a dataset, got a {type(node).__name__}")
        if node.external or node.is_virtual:
            raise FormatError(f"{where} stores its data in other files; refused")
        dtype = node.dtype
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            hint = " (bfloat16 datasets are not supported)" if "dtype" in node.attrs else ""
            raise FormatError(f"{where} has non-numeric dtype {dtype}{hint}")
        nbytes = math.prod(node.shape or ()) * dtype.itemsize
        if nbytes > self.budget:
            raise FormatError(f"{where} would pass the bound on weight bytes ({nbytes} bytes)")
        self.budget -= nbytes
        try:
            return np.asarray(node[()])
        except (OSError, ValueError) as err:
            raise FormatError(f"{where} cannot be read ({err})") from None


def _has_list_attr(group, name):
    return name in group.attrs or f"{name}0" in group.attrs


MAX_ATTR_BYTES = 2**24  # a name list of a few hundred thousand layers
MAX_ATTR_CHUNKS = 10_000


def _bounded_attr(group, name, source):
    """A string attribute's value, after checking its declared element count, its size
    and its type: HDF5 crashes the process reading a variable-length attribute whose type
    is not a string (one changed byte in a Keras file's type message does it)."""
    from h5py import h5t

    attribute = group.attrs.get_id(name)
    count = int(np.prod(attribute.shape)) if attribute.shape else 1
    size = count * attribute.dtype.itemsize
    if count > MAX_ATTR_BYTES or size > MAX_ATTR_BYTES:
        raise FormatError(
            f"{source}: attribute {name!r} of {group.name!r} declares {count} items in "
            f"{size} bytes, more than the bound of {MAX_ATTR_BYTES}"
        )
    kind = attribute.get_type().get_class()
    if kind != h5t.STRING:
        if count == 0:  # Keras writes an empty name list as an empty float array
            return np.zeros(0, dtype=object)
        raise FormatError(
            f"{source}: attribute {name!r} of {group.name!r} must list strings, got HDF5 "
            f"type class {kind}"
        )
    return group.attrs[name]


def _string_list(group, name, source):
    """A list-of-strings attribute, joining Keras's chunks ``name0``, ``name1``..."""
    if name in group.attrs:
        chunks = [_bounded_attr(group, name, source)]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs and i < MAX_ATTR_CHUNKS:
            chunks.append(_bounded_attr(group, f"{name}{i}", source))
            i += 1
        if not chunks:
            raise FormatError(f"{source}: group {group.name!r} has no {name!r} attribute")
    out = []
    for chunk in chunks:
        for item in np.atleast_1d(np.asarray(chunk, dtype=object)):
            if isinstance(item, bytes):
                try:
                    item = item.decode("utf-8")
                except UnicodeDecodeError:
                    raise FormatError(
                        f"{source}: attribute {name!r} of {group.name!r} is not UTF-8"
                    ) from None
            if not isinstance(item, str):
                raise FormatError(
                    f"{source}: attribute {name!r} of {group.name!r} must list strings, "
                    f"got {type(item).__name__}"
                )
            out.append(item)
    return out


def _natural(group):
    """Child names in natural order: dense, dense_1, dense_2, dense_10."""
    return sorted(
        group, key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)]
    )


def _skipped_root(name):
    return name in _SKIPPED_ROOTS or "metric" in name or "loss" in name

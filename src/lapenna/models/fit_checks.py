"""Checks of what ``fit`` is given, run before anything trains or changes.

Each names the argument, what was expected and what came, in the words of the API rather
than numpy's: ``batch_size=0`` is refused rather than trained at 32, ``epochs=2.5`` is a
ValueError rather than a TypeError from ``range``, string labels and ragged lists are
named as such, and ``validation_data`` that does not fit the model is refused before the
first epoch instead of after it.
"""

import numbers

from lapenna import backend as B
from lapenna.autograd import Tensor, no_grad

xp = B.xp


def check_fit_arguments(epochs, batch_size, steps_per_epoch, initial_epoch, validation_freq):
    """Refuse counts that are not ints of the right sign (bools are not counts)."""
    _count("epochs", epochs, minimum=1)
    _count("initial_epoch", initial_epoch, minimum=0)
    if batch_size is not None:
        _count("batch_size", batch_size, minimum=1)
    if steps_per_epoch is not None:
        _count("steps_per_epoch", steps_per_epoch, minimum=1)
    _count("validation_freq", validation_freq, minimum=1)


def check_batch_arguments(caller, batch_size, steps):
    """``evaluate``/``predict``: batch_size and steps are None or ints >= 1."""
    for name, value in (("batch_size", batch_size), ("steps", steps)):
        if value is not None:
            _count(name, value, minimum=1, caller=caller)


def _count(name, value, minimum, caller="fit"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{caller}: {name} must be an int >= {minimum}, got {value!r}")


def check_numbers(structure, label):
    """Refuse leaves that are not arrays of numbers: strings, objects, ragged lists.

    Raises:
        ValueError: naming ``label`` ("x", "y", "validation_data"...) and what came.
    """
    for leaf in _leaves(structure):
        array = leaf.data if isinstance(leaf, Tensor) else leaf
        if not isinstance(array, xp.ndarray | B.host_np.ndarray):
            try:  # user data is checked where it is, on the host: no copy to a GPU
                array = B.host_np.asarray(array)
            except ValueError:
                raise ValueError(
                    f"{label} is a ragged nested list (its rows differ in length); give an "
                    "array, or pad the rows to one length"
                ) from None
        kind = array.dtype.kind
        if kind in "USa":
            raise ValueError(
                f"{label} holds strings ({array.dtype}, e.g. {array.ravel()[:3].tolist()}); "
                "encode them as numbers first, e.g. class indices from "
                "numpy.unique(labels, return_inverse=True)"
            )
        if kind in "OVM" or (kind == "m"):
            raise ValueError(f"{label} must hold numbers, got an array of dtype {array.dtype}")
        if array.size == 0 and array.ndim and array.shape[0] == 0:
            raise ValueError(f"{label} is empty (0 samples)")


def _leaves(structure):
    if structure is None:
        return []
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in _leaves(value)]
    if isinstance(structure, list | tuple):
        if structure and all(isinstance(s, numbers.Number) for s in structure):
            return [structure]
        if structure and all(isinstance(s, list) for s in structure):  # nested lists: one
            return [structure]
        return [leaf for value in structure for leaf in _leaves(value)]
    return [structure]


def check_inputs_fit(model, x, label):
    """Refuse inputs whose per-sample shape differs from the model's declared inputs."""
    inputs = _symbols(getattr(model, "inputs", None))
    if not inputs or x is None or isinstance(x, dict):
        return
    leaves = _leaves(x)
    if len(leaves) != len(inputs):
        return  # the adapter reports structure mismatches itself
    for leaf, symbolic in zip(leaves, inputs):
        expected = tuple(getattr(symbolic, "shape", ()) or ())[1:]
        shape = tuple(B.host_np.shape(leaf.data if isinstance(leaf, Tensor) else leaf))[1:]
        if len(shape) != len(expected) or any(
            e is not None and e != s for e, s in zip(expected, shape)
        ):
            raise ValueError(
                f"{label} does not fit model {model.name!r}: it expects samples of shape "
                f"{expected}, {label} has samples of shape {shape}"
            )


def check_targets_fit(model, x, y, sample_weight):
    """Run the loss on constant outputs for a few samples, so targets of the wrong shape fail
    before a training step changes any state (BatchNormalization's moving statistics)."""
    output_shape = _output_shapes(model)
    if output_shape is None or y is None:
        return
    y_head = _head(y)
    n = len(_leaves(y_head)[0]) if _leaves(y_head) else 0
    if n == 0:
        return
    outputs = _constant_outputs(output_shape, n, B.floatx())
    if outputs is None:
        return
    try:
        with no_grad(), B.host_np.errstate(all="ignore"):  # CuPy has no errstate
            model.compiled_loss(y_head, outputs, _head(sample_weight), [])
    except (ValueError, TypeError, IndexError) as err:
        raise ValueError(
            f"the targets y do not fit the outputs of model {model.name!r} "
            f"(output shape {output_shape}): {err}"
        ) from None


def _head(structure, n=2):
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {k: _head(v, n) for k, v in structure.items()}
    if isinstance(structure, list | tuple) and not _is_numbers(structure):
        return type(structure)(_head(v, n) for v in structure)
    if isinstance(structure, Tensor):
        return structure.data[:n]
    if isinstance(structure, xp.ndarray | B.host_np.ndarray):
        return structure[:n]
    return B.host_np.asarray(structure)[:n]  # only the head goes on to the device


def _is_numbers(structure):
    return bool(structure) and all(isinstance(s, numbers.Number | list) for s in structure)


def _symbols(value):
    """A graph model's inputs or outputs as a list (none for dicts: matched by name)."""
    if value is None or isinstance(value, dict):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _output_shapes(model):
    outputs = _symbols(getattr(model, "outputs", None))
    if not outputs:
        return None
    shapes = [tuple(getattr(o, "shape", ()) or ()) for o in outputs]
    return shapes[0] if len(shapes) == 1 else shapes


def _constant_outputs(shape, n, dtype):
    if isinstance(shape, list):
        parts = [_constant_outputs(s, n, dtype) for s in shape]
        return None if any(p is None for p in parts) else parts
    rest = shape[1:]
    if any(d is None for d in rest):
        return None
    # 0.5 everywhere: a valid probability for every loss (outputs would divide by zero)
    return Tensor(xp.full((n, *rest), 0.5, dtype=dtype))


# tf.keras 2 (and Keras 1) arguments of fit that Keras 3 no longer takes, with what to write
REMOVED_ARGUMENTS = {
    "nb_epoch": "nb_epoch is the Keras 1 name of epochs: fit(x, y, epochs=...)",
    "workers": "workers moved to the data: pass a keras.utils.PyDataset(workers=...) as x",
    "use_multiprocessing": "use_multiprocessing moved to keras.utils.PyDataset(...) given as x",
    "max_queue_size": "max_queue_size moved to keras.utils.PyDataset(...) given as x",
}


def check_removed_arguments(method, removed):
    """A TypeError for keyword arguments ``method`` does not take, with a hint for the
    tf.keras 2 ones (``nb_epoch`` -> ``epochs``)."""
    if not removed:
        return
    hints = [REMOVED_ARGUMENTS[name] for name in removed if name in REMOVED_ARGUMENTS]
    unknown = [name for name in removed if name not in REMOVED_ARGUMENTS]
    lines = [f"{method}() got an unexpected keyword argument {name!r}" for name in unknown]
    raise TypeError("; ".join(hints + lines))

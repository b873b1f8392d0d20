"""Read Keras's IMDB/Reuters ``.npz`` files without unpickling them.

Those files hold ragged sequences as numpy object arrays of Python lists of ints, which
numpy can only store as a pickle stream. lapenna never runs a pickle: this module walks the
stream's opcodes with :func:`pickletools.genops` (a parser that executes nothing) on a small
stack machine that knows lists, tuples, ints, strings, bytes and the three names numpy uses to
rebuild an array (``_reconstruct``, ``ndarray``, ``dtype``; ``_codecs.encode(text, "latin1")``,
with which Python 3 writes bytes in protocol 2, is evaluated on the spot), and refuses
everything else.
Numeric members are read with ``allow_pickle=False``.
"""

import io
import pickletools
import zipfile

from lapenna.backend import host_np as np
from lapenna.datasets.errors import DatasetFormatError

_NAMES = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",  # how Python 3 writes bytes in protocol 2
}
_OBJECT = (("O8",), (b"O8",))  # the object dtype's name, as str or as a protocol-2 string
_MAX_BYTES = 1 << 31
_MARK = object()


class _Call:
    """``f(*args)`` recorded, not run."""

    def __init__(self, name, args):
        self.name, self.args, self.state = name, args, None


def _walk(stream, where):
    """The object a pickle stream describes, with calls kept as :class:`_Call` records."""
    stack, memo = [], {}

    def pop_mark():
        for k in range(len(stack) - 1, -1, -1):
            if stack[k] is _MARK:
                items = stack[k + 1 :]
                del stack[k:]
                return items
        raise DatasetFormatError(f"{where}: unbalanced MARK in the pickle stream")

    try:
        for op, arg, _ in pickletools.genops(stream):
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                break
            if name in ("BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG"):
                stack.append(int(arg))
            elif name in ("NEWTRUE", "NEWFALSE", "NONE"):
                stack.append({"NEWTRUE": True, "NEWFALSE": False, "NONE": None}[name])
            elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                stack.append(str(arg))
            elif name in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8"):
                stack.append(bytes(arg))
            elif name in ("SHORT_BINSTRING", "BINSTRING"):  # protocol 2 strings (Python 2)
                stack.append(arg.encode("latin1") if isinstance(arg, str) else bytes(arg))
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                module, attr = arg.split(" ", 1) if name == "GLOBAL" else stack[-2:]
                if name == "STACK_GLOBAL":
                    del stack[-2:]
                if (module, attr) not in _NAMES:
                    raise DatasetFormatError(
                        f"{where}: the pickle stream names {module}.{attr}; only numpy's "
                        "array reconstruction is accepted"
                    )
                stack.append(_NAMES[(module, attr)])
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(arg)] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                stack.append(memo[int(arg)])
            elif name == "MARK":
                stack.append(_MARK)
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "APPEND":
                value = stack.pop()
                stack[-1].append(value)
            elif name == "APPENDS":
                items = pop_mark()
                stack[-1].extend(items)
            elif name == "LIST":
                stack.append(list(pop_mark()))
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name == "REDUCE":
                args = stack.pop()
                func = stack.pop()
                if func not in ("reconstruct", "dtype", "encode") or not isinstance(args, tuple):
                    raise DatasetFormatError(f"{where}: the pickle stream calls {func!r}")
                if func == "encode":  # str.encode(text, "latin1"), evaluated here, never called
                    if len(args) != 2 or args[1] != "latin1" or not isinstance(args[0], str):
                        raise DatasetFormatError(f"{where}: unexpected encode{args!r}")
                    stack.append(args[0].encode("latin1"))
                else:
                    stack.append(_Call(func, args))
            elif name == "BUILD":
                state = stack.pop()
                if not isinstance(stack[-1], _Call):
                    raise DatasetFormatError(f"{where}: BUILD on a plain object")
                stack[-1].state = state
            else:
                raise DatasetFormatError(f"{where}: unexpected pickle opcode {name}")
    except DatasetFormatError:
        raise
    except (ValueError, IndexError, KeyError, AttributeError, TypeError) as err:
        raise DatasetFormatError(f"{where}: malformed pickle stream ({err})") from None
    if len(stack) != 1:
        raise DatasetFormatError(f"{where}: the pickle stream leaves {len(stack)} objects")
    return stack[0]


def _object_array(record, where):
    """The numpy object array of lists of ints a ``_reconstruct`` record describes."""
    if not isinstance(record, _Call) or record.name != "reconstruct":
        raise DatasetFormatError(f"{where}: expected a pickled numpy array")
    state = record.state
    if not (isinstance(state, tuple) and len(state) == 5):
        raise DatasetFormatError(f"{where}: a numpy array state has 5 fields")
    _, shape, dtype, _, items = state
    if not (isinstance(dtype, _Call) and dtype.name == "dtype" and dtype.args[:1] in _OBJECT):
        raise DatasetFormatError(f"{where}: expected an object array, got dtype {dtype!r}")
    if not (isinstance(shape, tuple) and len(shape) == 1 and isinstance(items, list)):
        raise DatasetFormatError(f"{where}: expected a 1-D object array")
    if shape[0] != len(items):
        raise DatasetFormatError(
            f"{where}: the array's shape says {shape[0]} sequences, the data holds {len(items)}"
        )
    out = np.empty(len(items), dtype=object)
    for k, item in enumerate(items):
        if not isinstance(item, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in item
        ):
            raise DatasetFormatError(f"{where}: sequence {k} is not a list of ints")
        out[k] = item
    return out


def read_npy_member(data, where):
    """One ``.npy`` member: numeric arrays directly, object arrays through the opcode walk."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        header = (
            np.lib.format.read_array_header_1_0
            if version[0] == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = header(buffer)
    except ValueError as err:
        raise DatasetFormatError(f"{where}: not a .npy array ({err})") from None
    if dtype.kind != "O":
        buffer.seek(0)
        try:
            return np.lib.format.read_array(buffer, allow_pickle=False)
        except ValueError as err:
            raise DatasetFormatError(f"{where}: {err}") from None
    array = _object_array(_walk(buffer, where), where)
    if array.shape != tuple(shape):
        raise DatasetFormatError(f"{where}: header shape {shape}, data {array.shape}")
    return array


def read_ragged_npz(path):
    """``{name: array}`` of an ``.npz`` whose members are numeric or ragged int arrays.

    Raises:
        DatasetFormatError: the file is not a zip of ``.npy`` members, or a member's pickle
            stream holds anything but a 1-D object array of lists of ints.
    """
    arrays = {}
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise DatasetFormatError(f"{path}: not an .npz (zip) archive ({err})") from None
    with archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            if info.file_size > _MAX_BYTES:
                raise DatasetFormatError(f"{path}: member {info.filename} is too large")
            where = f"{path}:{info.filename}"
            arrays[info.filename[:-4]] = read_npy_member(archive.read(info), where)
    return arrays

"""What the IMDB and Reuters loaders share: Keras's ``load_data`` transformations of
ragged word-id sequences, and the word-index file."""

import json

from lapenna.backend import host_np as np
from lapenna.datasets.download import RemoteFile, dataset_folder, ensure_files
from lapenna.datasets.errors import DatasetFormatError, DatasetNotFoundError
from lapenna.datasets.ragged_npz import read_ragged_npz

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def remote(name, sha256):
    return RemoteFile(name, sha256, (ORIGIN + name,))


def local_file(dataset, file, path, download):
    """The local path of ``file`` (a RemoteFile) in ``path`` or the data home."""
    return ensure_files(dataset, (file,), path, download)[file.name]


def check_arguments(dataset, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    def whole(value, name, low, allow_none):
        if value is None and allow_none:
            return
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
            raise ValueError(
                f"{dataset}.load_data expects {name} an int >= {low}"
                + (" or None" if allow_none else "")
                + f", got {value!r}"
            )

    whole(num_words, "num_words", 1, True)
    whole(skip_top, "skip_top", 0, False)
    whole(maxlen, "maxlen", 1, True)
    whole(start_char, "start_char", 0, True)
    whole(oov_char, "oov_char", 0, True)
    whole(index_from, "index_from", 0, False)


def arrays_of(file, names):
    arrays = read_ragged_npz(file)
    missing = [n for n in names if n not in arrays]
    if missing:
        raise DatasetFormatError(f"{file}: missing arrays {missing}, found {sorted(arrays)}")
    for name in names:
        if name.startswith("x") and arrays[name].dtype != object:
            raise DatasetFormatError(f"{file}: {name} must hold ragged sequences (dtype object)")
    return arrays


def shuffled(rng, xs, labels, file, name):
    if len(xs) != len(labels):
        raise DatasetFormatError(
            f"{file}: {len(xs)} sequences in x{name} but {len(labels)} labels in y{name}"
        )
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    return xs[indices], np.asarray(labels)[indices]


def shift(xs, start_char, index_from):
    """Keras's ``[start_char] + [w + index_from ...]``."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    return [[w + index_from for w in x] for x in xs]


def drop_long(maxlen, xs, labels):
    """Keras's ``remove_long_seq``: keep sequences strictly shorter than ``maxlen``."""
    keep = [k for k, x in enumerate(xs) if len(x) < maxlen]
    return [xs[k] for k in keep], [labels[k] for k in keep]


def cut_vocabulary(xs, num_words, skip_top, oov_char):
    """Replace (or drop, without ``oov_char``) ids outside ``[skip_top, num_words)``."""
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def ragged(xs):
    out = np.empty(len(xs), dtype=object)
    for k, x in enumerate(xs):
        out[k] = x
    return out


def word_index(dataset, name, md5, path):
    """``{word: rank}`` from the word-index JSON file (validated). Keras publishes only an
    MD5 for these files, so they are not downloaded: the error says where to get one."""
    local = dataset_folder(dataset, path) / name
    if not local.is_file():
        raise DatasetNotFoundError(
            f"{dataset}: {name} is missing from {local.parent}; put it there (or pass "
            f"path=...): download it from {ORIGIN + name} (Keras lists its MD5 as {md5})"
        )
    try:
        with open(local, encoding="utf-8") as stream:
            index = json.load(stream)
    except (ValueError, UnicodeDecodeError) as err:
        raise DatasetFormatError(f"{local}: not a JSON file ({err})") from None
    if not isinstance(index, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in index.items()
    ):
        raise DatasetFormatError(f"{local}: expected a JSON object of word -> int rank")
    return index

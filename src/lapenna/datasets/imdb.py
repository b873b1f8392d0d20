"""IMDB movie reviews: 25,000 training and 25,000 test reviews labelled positive (1) or
negative (0), each a sequence of word ids ranked by frequency (id 1 is the most frequent).

Maas et al., "Learning Word Vectors for Sentiment Analysis", ACL 2011. Read from Keras's
``imdb.npz`` (ragged sequences, read without unpickling: :mod:`lapenna.datasets.ragged_npz`)
in ``path`` or ``~/.lapenna/datasets/imdb`` (``$LAPENNA_DATA/imdb``), fetched and checked by
SHA-256 when missing and the network answers; ``load_data`` applies Keras's arguments with
Keras's rules, so the arrays equal ``keras.datasets.imdb.load_data``'s on the same file.
"""

from lapenna.backend import host_np as np
from lapenna.datasets import _word_sequences as ws

FILE = ws.remote("imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
WORD_INDEX_FILE = "imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"  # the only checksum Keras publishes for it


def load_data(
    path=None,
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    download=True,
):
    """Load IMDB as Keras does.

    Args:
        path: folder holding ``imdb.npz`` (default: the data home's ``imdb`` folder).
        num_words: keep the ``num_words`` most frequent ids (after ``index_from``); others
            become ``oov_char``. None keeps all.
        skip_top: ids below ``skip_top`` (the most frequent words) become ``oov_char``.
        maxlen: drop sequences whose length (start mark included) is ``maxlen`` or more.
        seed: the shuffle seed (``np.random.RandomState``), applied to train then test.
        start_char: prepended to every sequence (None: nothing).
        oov_char: the id of cut words (None: cut words are dropped).
        index_from: added to every word id.
        download: fetch the file when missing.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int
        labels.

    Raises:
        DatasetNotFoundError: the file is absent (the message names where to put it and the
            URL and SHA-256 it comes with).
        DatasetFormatError: the file is not Keras's format.

    Example:
        >>> (x_train, y_train), _ = load_data(num_words=10000)  # doctest: +SKIP
    """
    ws.check_arguments("imdb", num_words, skip_top, maxlen, start_char, oov_char, index_from)
    file = ws.local_file("imdb", FILE, path, download)
    f = ws.arrays_of(file, ("x_train", "y_train", "x_test", "y_test"))
    rng = np.random.RandomState(seed)
    x_train, labels_train = ws.shuffled(rng, f["x_train"], f["y_train"], file, "_train")
    x_test, labels_test = ws.shuffled(rng, f["x_test"], f["y_test"], file, "_test")
    x_train = ws.shift(x_train, start_char, index_from)
    x_test = ws.shift(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = ws.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = ws.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"imdb.load_data kept no sequence shorter than maxlen={maxlen}; increase maxlen"
            )
    xs = ws.cut_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    n = len(x_train)
    return (ws.ragged(xs[:n]), labels[:n]), (ws.ragged(xs[n:]), labels[n:])


def get_word_index(path=None):
    """``{word: rank}`` from ``imdb_word_index.json``; the id in the data is
    ``rank + index_from``."""
    return ws.word_index("imdb", WORD_INDEX_FILE, WORD_INDEX_MD5, path)

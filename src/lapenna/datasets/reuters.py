"""Reuters newswires: 11,228 newswires labelled with one of 46 topics, each a sequence of
word ids ranked by frequency.

From the Reuters-21578 collection as Keras ships it in ``reuters.npz`` (ragged sequences,
read without unpickling: :mod:`lapenna.datasets.ragged_npz`), found in ``path`` or
``~/.lapenna/datasets/reuters`` (``$LAPENNA_DATA/reuters``) and fetched and checked by SHA-256
when missing and the network answers. ``load_data`` follows Keras's rules argument for
argument, so the arrays equal ``keras.datasets.reuters.load_data``'s on the same file.
"""

from lapenna.backend import host_np as np
from lapenna.datasets import _word_sequences as ws

FILE = ws.remote("reuters.npz", "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")
WORD_INDEX_FILE = "reuters_word_index.json"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"  # the only checksum Keras publishes for it


def load_data(
    path=None,
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    download=True,
):
    """Load Reuters as Keras does: shuffle, mark, shift, filter, cut the vocabulary, then
    split the first ``1 - test_split`` for training.

    Args:
        path: folder holding ``reuters.npz`` (default: the data home's ``reuters`` folder).
        test_split: the fraction of sequences for the test set.
        num_words, skip_top, maxlen, seed, start_char, oov_char, index_from, download: as
            :func:`lapenna.datasets.imdb.load_data`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int
        topic labels in 0..45.

    Raises:
        DatasetNotFoundError: the file is absent (the message says where to put it).
        DatasetFormatError: the file is not Keras's format.
    """
    ws.check_arguments("reuters", num_words, skip_top, maxlen, start_char, oov_char, index_from)
    if not isinstance(test_split, int | float) or not 0 <= test_split <= 1:
        raise ValueError(f"reuters.load_data expects test_split in [0, 1], got {test_split!r}")
    file = ws.local_file("reuters", FILE, path, download)
    f = ws.arrays_of(file, ("x", "y"))
    rng = np.random.RandomState(seed)
    xs, labels = ws.shuffled(rng, f["x"], f["y"], file, "")
    xs = ws.shift(xs, start_char, index_from)
    if maxlen:
        xs, labels = ws.drop_long(maxlen, xs, list(labels))
    xs = ws.cut_vocabulary(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return (ws.ragged(xs[:n]), labels[:n]), (ws.ragged(xs[n:]), labels[n:])


def get_word_index(path=None):
    """``{word: rank}`` from ``reuters_word_index.json``; the id in the data is
    ``rank + index_from``."""
    return ws.word_index("reuters", WORD_INDEX_FILE, WORD_INDEX_MD5, path)

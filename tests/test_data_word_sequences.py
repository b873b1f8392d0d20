"""IMDB and Reuters from local files in Keras's formats, compared with Keras's own loaders
run on the same small files (their ``get_file`` pointed at the file), never the network."""

import hashlib
import json
import pickle
import urllib.error

import numpy as np
import pytest

from data_builders import FakeOpener
from lapenna.datasets import DatasetFormatError, DatasetNotFoundError, download, imdb, reuters
from lapenna.datasets.download import RemoteFile
from lapenna.datasets.ragged_npz import read_ragged_npz


def _ragged(rows):
    out = np.empty(len(rows), dtype=object)
    for k, row in enumerate(rows):
        out[k] = list(row)
    return out


def _random_rows(rng, n, vocab):
    return [rng.integers(1, vocab, size=rng.integers(1, 12)).tolist() for _ in range(n)]


@pytest.fixture
def imdb_file(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "imdb.npz",
        x_train=_ragged(_random_rows(rng, 14, 30)),
        y_train=rng.integers(0, 2, 14),
        x_test=_ragged(_random_rows(rng, 9, 30)),
        y_test=rng.integers(0, 2, 9),
    )
    return tmp_path / "imdb.npz"


@pytest.fixture
def reuters_file(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "reuters.npz", x=_ragged(_random_rows(rng, 21, 40)), y=rng.integers(0, 46, 21)
    )
    return tmp_path / "reuters.npz"


def _keras_module(monkeypatch, name, file):
    pytest.importorskip("keras")  # the harness dependency; installed in the dev environment
    module = __import__(f"keras.src.datasets.{name}", fromlist=["load_data"])
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(file))
    return module


def _assert_same(ours, theirs):
    for (x_ours, y_ours), (x_keras, y_keras) in zip(ours, theirs):
        assert x_ours.dtype == object and len(x_ours) == len(x_keras)
        assert [list(x) for x in x_ours] == [list(x) for x in x_keras]
        np.testing.assert_array_equal(np.asarray(y_ours), np.asarray(y_keras))


IMDB_ARGUMENTS = [
    {},
    {"num_words": 20},
    {"num_words": 25, "skip_top": 6, "oov_char": 2},
    {"maxlen": 8, "seed": 7},
    {"start_char": None, "index_from": 0},
    {"oov_char": None, "num_words": 15, "skip_top": 4},
    {"start_char": 5, "oov_char": 9, "index_from": 10, "num_words": 30},
]


@pytest.mark.parametrize("kwargs", IMDB_ARGUMENTS)
def test_imdb_equals_keras_on_the_same_file(monkeypatch, imdb_file, kwargs):
    keras_imdb = _keras_module(monkeypatch, "imdb", imdb_file)
    ours = imdb.load_data(path=imdb_file.parent, download=False, **kwargs)
    _assert_same(ours, keras_imdb.load_data(**kwargs))


@pytest.mark.parametrize("kwargs", [*IMDB_ARGUMENTS, {"test_split": 0.5, "num_words": 12}])
def test_reuters_equals_keras_on_the_same_file(monkeypatch, reuters_file, kwargs):
    keras_reuters = _keras_module(monkeypatch, "reuters", reuters_file)
    ours = reuters.load_data(path=reuters_file.parent, download=False, **kwargs)
    _assert_same(ours, keras_reuters.load_data(**kwargs))


def test_hand_checked_transformations(tmp_path):
    np.savez(
        tmp_path / "imdb.npz",
        x_train=_ragged([[1, 2, 3], [7, 1], [1, 1, 1, 1]]),
        y_train=np.array([1, 0, 1]),
        x_test=_ragged([[4]]),
        y_test=np.array([1]),
    )
    (x_train, y_train), (x_test, y_test) = imdb.load_data(
        path=tmp_path, download=False, num_words=8, skip_top=5, maxlen=5, seed=0
    )
    # start mark 1 then ids + 3; ids outside [5, 8) become 2; length >= 5 is dropped
    pairs = sorted(zip(map(tuple, x_train), y_train.tolist()))
    assert pairs == [((2, 2, 2), 0), ((2, 2, 5, 6), 1)]
    assert [list(x) for x in x_test] == [[2, 7]] and y_test.tolist() == [1]


def test_maxlen_that_keeps_nothing_raises(imdb_file):
    with pytest.raises(ValueError, match="maxlen=1"):
        imdb.load_data(path=imdb_file.parent, download=False, maxlen=1)


def test_missing_file_names_the_folder_url_and_checksum(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        imdb.load_data(path=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message and "imdb.npz" in message
    assert imdb.FILE.urls[0] in message and imdb.FILE.sha256 in message
    with pytest.raises(DatasetNotFoundError, match="reuters_word_index.json"):
        reuters.get_word_index(path=tmp_path)


def test_download_checks_the_sha256(monkeypatch, tmp_path, reuters_file):
    data = reuters_file.read_bytes()
    url = "https://mirror.example/reuters.npz"
    monkeypatch.setattr(
        reuters, "FILE", RemoteFile("reuters.npz", hashlib.sha256(data).hexdigest(), (url,))
    )
    monkeypatch.setattr(download, "urlopen", FakeOpener({url: data}))
    target = tmp_path / "fetched"
    (x_train, _), _ = reuters.load_data(path=target)
    assert (target / "reuters.npz").read_bytes() == data and len(x_train) == 16
    monkeypatch.setattr(download, "urlopen", FakeOpener({url: urllib.error.URLError("offline")}))
    with pytest.raises(DatasetNotFoundError, match="could not be downloaded"):
        reuters.load_data(path=tmp_path / "elsewhere")


def test_word_index_is_read_and_validated(tmp_path):
    (tmp_path / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 2}))
    assert imdb.get_word_index(path=tmp_path) == {"the": 1, "movie": 2}
    (tmp_path / "imdb_word_index.json").write_text(json.dumps(["the"]))
    with pytest.raises(DatasetFormatError, match="word -> int rank"):
        imdb.get_word_index(path=tmp_path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol_numpy_writes_is_read(tmp_path, protocol):
    import io
    import zipfile

    rows = [[1, 2, 3], [], [2**40, -7]]
    with zipfile.ZipFile(tmp_path / "r.npz", "w") as archive:
        buffer = io.BytesIO()  # a .npy header, then the pickle numpy writes with this protocol
        x = _ragged(rows)
        np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(x))
        pickle.dump(x, buffer, protocol=protocol)
        archive.writestr("x.npy", buffer.getvalue())
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.array([3, 1, 2]))
        archive.writestr("y.npy", buffer.getvalue())
    arrays = read_ragged_npz(tmp_path / "r.npz")
    assert [list(x) for x in arrays["x"]] == rows and arrays["y"].tolist() == [3, 1, 2]


class _Payload:
    def __init__(self, canary):
        self.canary = canary

    def __reduce__(self):
        return (open, (self.canary, "w"))


def test_a_pickle_that_would_run_code_is_refused_unrun(tmp_path):
    canary = tmp_path / "canary"
    # an object array whose element is a callable payload: np.save pickles it
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(str(canary))
    np.savez(tmp_path / "evil.npz", x=evil, y=np.array([0]))
    with pytest.raises(
        DatasetFormatError, match=r"names \S*open; only numpy's array reconstruction"
    ):
        read_ragged_npz(tmp_path / "evil.npz")
    assert not canary.exists()
    pickle.loads(pickle.dumps(_Payload(str(canary))))  # the payload is live: it creates it
    assert canary.exists()


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"x": _ragged([[1, 2], [3]]), "y": np.array([0])}, "2 sequences in x but 1 labels"),
        ({"x": np.array([[1, 2]]), "y": np.array([0])}, "ragged sequences"),
        ({"x": _ragged([[1, 2.5]]), "y": np.array([0])}, "opcode BINFLOAT"),
        ({"y": np.array([0])}, r"missing arrays \['x'\]"),
        ({"x": _ragged([[1], [True]]), "y": np.array([0, 1])}, "sequence 1 is not a list of ints"),
    ],
)
def test_malformed_files_are_refused(tmp_path, arrays, match):
    np.savez(tmp_path / "reuters.npz", **arrays)
    with pytest.raises(DatasetFormatError, match=match):
        reuters.load_data(path=tmp_path, download=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_words an int >= 1"):
        imdb.load_data(num_words=0, download=False)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=2, download=False)

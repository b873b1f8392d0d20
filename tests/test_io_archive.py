import io
import struct
import zipfile

import numpy as np
import pytest

from io_helpers import patch_zip_sizes, zip_with
from lapenna.io import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    FormatError,
    archive_bytes,
    load_bytes,
    read_archive,
    save_bytes,
    unsafe_name_reason,
    write_archive,
)


def _model_entries():
    weights = save_bytes({"dense/kernel": np.ones((3, 2), np.float32)})
    return {CONFIG_NAME: b'{"class_name": "Sequential"}', WEIGHTS_NAME: weights}


def test_round_trip_reads_entries_by_name(tmp_path):
    path = tmp_path / "m.lpn"
    entries = _model_entries()
    write_archive(path, entries)
    got = read_archive(path, [CONFIG_NAME, WEIGHTS_NAME], optional_names=["optimizer.json"])
    assert got == entries
    assert load_bytes(got[WEIGHTS_NAME])["dense/kernel"].shape == (3, 2)
    with zipfile.ZipFile(path) as zf:
        kinds = {i.filename: i.compress_type for i in zf.infolist()}
    assert kinds == {CONFIG_NAME: zipfile.ZIP_DEFLATED, WEIGHTS_NAME: zipfile.ZIP_STORED}


def test_the_same_entries_give_the_same_bytes(tmp_path):
    write_archive(tmp_path / "a.lpn", _model_entries())
    assert (tmp_path / "a.lpn").read_bytes() == archive_bytes(_model_entries())


def test_missing_entry_is_named(tmp_path):
    path = tmp_path / "m.lpn"
    write_archive(path, {CONFIG_NAME: b"{}"})
    with pytest.raises(FormatError, match=r"m\.lpn: missing entry 'model\.safetensors'"):
        read_archive(path, [CONFIG_NAME, WEIGHTS_NAME])


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "a\\..\\evil", "C:evil", "a//b", "./x"])
def test_archives_with_unsafe_names_are_refused(tmp_path, name):
    path = tmp_path / "m.lpn"
    path.write_bytes(zip_with([(CONFIG_NAME, b"{}"), (name, b"boom")]))
    with pytest.raises(FormatError, match="unsafe name"):
        read_archive(path, [CONFIG_NAME])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lpn"]


def test_unsafe_names_are_refused_when_writing_and_asking(tmp_path):
    with pytest.raises(ValueError, match="'..' part"):
        write_archive(tmp_path / "m.lpn", {"../evil": b""})
    with pytest.raises(ValueError, match="absolute"):
        read_archive(tmp_path / "m.lpn", ["/etc/passwd"])
    assert not (tmp_path / "m.lpn").exists()
    assert unsafe_name_reason("sub/dir/weights.safetensors") is None


def test_duplicate_entries_are_refused(tmp_path):
    path = tmp_path / "m.lpn"
    with pytest.warns(UserWarning, match="Duplicate name"):
        path.write_bytes(zip_with([(CONFIG_NAME, b"{}"), (CONFIG_NAME, b'{"evil": 1}')]))
    with pytest.raises(FormatError, match="appears twice"):
        read_archive(path, [CONFIG_NAME])


def test_declared_size_over_the_bound_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.lpn"
    path.write_bytes(patch_zip_sizes(zip_with([(CONFIG_NAME, b"{}")]), CONFIG_NAME, 2**32 - 1))
    with pytest.raises(FormatError, match="declares 4294967295 bytes, more than the bound"):
        read_archive(path, [CONFIG_NAME], max_entry_bytes=2**20)


def test_a_bomb_that_lies_about_its_size_stops_at_the_bound(tmp_path):
    # 64 MiB of zeros deflate to ~64 KiB; the directory claims 100 bytes
    bomb = zip_with([(CONFIG_NAME, bytes(2**26))])
    path = tmp_path / "bomb.lpn"
    path.write_bytes(patch_zip_sizes(bomb, CONFIG_NAME, 100))
    with pytest.raises(FormatError, match="entry 'config.json' cannot be read.*CRC"):
        read_archive(path, [CONFIG_NAME], max_entry_bytes=1000)
    path.write_bytes(bomb)
    with pytest.raises(FormatError, match="declares 67108864 bytes"):
        read_archive(path, [CONFIG_NAME], max_entry_bytes=1000)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d[: len(d) // 2], "not a valid zip archive"),
        (lambda d: b"PK\x03\x04" + bytes(40), "not a valid zip archive"),
        (lambda d: b"", "not a valid zip archive"),
        (lambda d: d.replace(b"hello world" * 3, b"hellO world" * 3), "CRC"),
    ],
)
def test_broken_zips_are_format_errors(tmp_path, mutate, message):
    data = zip_with([(CONFIG_NAME, b"hello world" * 30)], compression=zipfile.ZIP_STORED)
    path = tmp_path / "broken.lpn"
    path.write_bytes(mutate(data))
    with pytest.raises(FormatError, match=message) as err:
        read_archive(path, [CONFIG_NAME])
    assert "broken.lpn" in str(err.value)


def test_encrypted_and_exotic_compression_are_refused():
    data = bytearray(zip_with([(CONFIG_NAME, b"{}")], compression=zipfile.ZIP_STORED))
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, 1)  # general purpose flag: encrypted
    with pytest.raises(FormatError, match="encrypted"):
        read_archive(io.BytesIO(bytes(data)), [CONFIG_NAME])
    lzma = zip_with([(CONFIG_NAME, b"{}")], compression=zipfile.ZIP_LZMA)
    with pytest.raises(FormatError, match="compression method 14"):
        read_archive(io.BytesIO(lzma), [CONFIG_NAME])


def test_missing_archive_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_archive(tmp_path / "nope.lpn", [CONFIG_NAME])


def test_failed_write_leaves_the_old_archive(tmp_path):
    path = tmp_path / "m.lpn"
    write_archive(path, _model_entries())
    before = path.read_bytes()
    with pytest.raises(TypeError, match="must be bytes"):
        write_archive(path, {CONFIG_NAME: "not bytes"})
    assert path.read_bytes() == before

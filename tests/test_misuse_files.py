"""Misuse with files: damaged images name the file, symlink loops in an image folder are
walked once, and weights holding NaN load with a warning."""

import io
import os

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers

Image = pytest.importorskip("PIL.Image")


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_every_damaged_png_is_refused_naming_the_file(tmp_path):
    from lapenna.cli.errors import CommandError
    from lapenna.cli.predict import read_image
    from lapenna.data.image_folder import DatasetFormatError, _Decoder

    raw = _png((np.arange(64).reshape(8, 8) * 3).astype(np.uint8))
    decode = _Decoder("grayscale", (8, 8), "bilinear", False)
    kinds = set()
    for position in range(len(raw)):
        for value in (0x00, 0xFF, 0x41):
            damaged = bytearray(raw)
            damaged[position] = value
            path = tmp_path / f"d{position}_{value}.png"
            path.write_bytes(bytes(damaged))
            for read, error in (
                (lambda p: read_image(p, (8, 8, 1)), CommandError),
                (decode, DatasetFormatError),
            ):
                try:
                    array = read(path)
                except error as err:
                    assert str(path) in str(err)
                    kinds.add(type(err.__cause__).__name__ if err.__cause__ else "none")
                else:
                    assert array.shape[:2] == (8, 8)
    assert "SyntaxError" in kinds  # PIL's "broken PNG file" among them


def test_a_symlink_loop_in_an_image_folder_is_walked_once(tmp_path):
    for label in ("a", "b"):
        folder = tmp_path / "images" / label
        folder.mkdir(parents=True)
        for index in range(4):
            (folder / f"{index}.png").write_bytes(_png(np.full((4, 4), index, np.uint8)))
    os.symlink(tmp_path / "images" / "a", tmp_path / "images" / "a" / "loop")
    os.symlink(tmp_path / "images" / "b" / "..", tmp_path / "images" / "b" / "up")

    def count():
        dataset = lp.data.image_dataset_from_directory(
            tmp_path / "images", image_size=(4, 4), batch_size=64, shuffle=False
        )
        return sum(len(batch[0]) for batch in dataset)

    # a: its own 4 (the loop adds none); b: its own 4, and through "up" a's 4 once
    assert count() == 12


def test_weights_with_nan_load_with_a_warning(tmp_path):
    model = lp.Sequential([layers.Input((2,)), layers.Dense(2)])
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    model.save_weights(tmp_path / "w.safetensors")
    model.save(tmp_path / "m.lpn")
    fresh = lp.Sequential([layers.Input((2,)), layers.Dense(2)])
    with pytest.warns(UserWarning, match=r"w.safetensors: weights \['dense.*/kernel'\] hold NaN"):
        fresh.load_weights(tmp_path / "w.safetensors")
    with pytest.warns(UserWarning, match="m.lpn: weights"):
        lp.models.load_model(tmp_path / "m.lpn")

"""``SampleGrid``: a grid of generated images from one fixed input batch after each epoch.

The same latent vectors every epoch, so a student sees the generator improve image by
image. The grid is written as a PNG (encoded here: 8-bit grey or RGB, zlib-compressed
scanlines, no imaging library needed) and, when ``log_dir`` is given, as a TensorBoard
image summary.
"""

import os
import struct
import zlib

from lapenna.backend import xp
from lapenna.callbacks.base import Callback
from lapenna.callbacks.tensorboard import EventFileWriter


class SampleGrid(Callback):
    """After each epoch, write the generator's images for a fixed input batch as a grid.

    Args:
        inputs: the generator's input batch (noise for a GAN; for a conditional GAN a list
            ``[noise, labels]``), or an int ``n``: that many noise vectors of the model's
            ``latent_dim`` drawn once from ``seed``.
        filepath: the PNG path, formatted with ``epoch`` (1-based): ``"samples_{epoch:03d}.png"``.
        ncols: images per row.
        value_range: the generator's pixel range, mapped to 0..255 (``(-1, 1)`` for tanh).
        log_dir: also write the grid to TensorBoard under ``log_dir/samples``.
        seed: the seed of the noise when ``inputs`` is an int.

    Example:
        >>> import tempfile, os
        >>> import lapenna as lp
        >>> from lapenna.applications import DCGANGenerator, DCGANDiscriminator
        >>> gan = lp.models.GAN(DCGANGenerator(latent_dim=8, base_filters=4),
        ...                     DCGANDiscriminator(base_filters=4), latent_dim=8)
        >>> gan.compile()
        >>> folder = tempfile.mkdtemp()
        >>> grid = lp.callbacks.SampleGrid(16, os.path.join(folder, "s{epoch}.png"), ncols=4)
        >>> _ = gan.fit(lp.backend.xp.zeros((4, 28, 28, 1), "float32"), callbacks=[grid],
        ...             verbose=0)
        >>> sorted(os.listdir(folder))
        ['s1.png']
    """

    def __init__(
        self,
        inputs,
        filepath="samples_{epoch:03d}.png",
        ncols=8,
        value_range=(-1.0, 1.0),
        log_dir=None,
        seed=0,
    ):
        super().__init__()
        if isinstance(inputs, int) and (isinstance(inputs, bool) or inputs < 1):
            raise ValueError(f"SampleGrid: inputs must be a batch or an int >= 1, got {inputs}")
        if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
            raise ValueError(f"SampleGrid: ncols must be an int >= 1, got {ncols!r}")
        low, high = (float(v) for v in value_range)
        if not high > low:
            raise ValueError(f"SampleGrid: value_range must be (low, high), got {value_range}")
        self.inputs, self.filepath, self.ncols = inputs, str(filepath), ncols
        self.value_range, self.log_dir, self.seed = (low, high), log_dir, seed
        self.paths = []
        self._writer = None

    def _batch(self):
        if not isinstance(self.inputs, int):
            return self.inputs
        latent_dim = getattr(self.model, "latent_dim", None)
        if latent_dim is None:
            raise ValueError(
                "SampleGrid: an int of samples needs a model with latent_dim (a GAN); give "
                "the input batch instead"
            )
        rng = xp.random.default_rng(self.seed)
        self.inputs = rng.standard_normal((self.inputs, latent_dim)).astype("float32")
        return self.inputs

    def on_epoch_end(self, epoch, logs=None):
        network = getattr(self.model, "generator", self.model)
        images = network.predict(self._batch(), verbose=0)
        grid = image_grid(images, self.ncols, self.value_range)
        path = self.filepath.format(epoch=epoch + 1)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        png = encode_png(grid)
        with open(path, "wb") as file:
            file.write(png)
        self.paths.append(path)
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = EventFileWriter(os.path.join(self.log_dir, "samples"))
            self._writer.image(epoch + 1, "samples", png, grid.shape)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def image_grid(images, ncols=8, value_range=(-1.0, 1.0), pad=2):
    """Tile ``(N, H, W, C)`` images (C is 1 or 3) into one uint8 ``(rows, cols, C)`` array
    with ``pad`` black pixels between tiles."""
    images = xp.asarray(images, dtype="float64")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise ValueError(
            f"image_grid expects images (N, H, W, 1 or 3), got shape {tuple(images.shape)}"
        )
    low, high = value_range
    scaled = xp.clip((images - low) / (high - low), 0, 1)
    scaled = xp.nan_to_num(scaled, nan=0.0) * 255 + 0.5
    count, height, width, channels = images.shape
    cols = min(ncols, count)
    rows = -(-count // cols)
    grid = xp.zeros(
        (rows * (height + pad) + pad, cols * (width + pad) + pad, channels), dtype=xp.uint8
    )
    for index in range(count):
        top = pad + (index // cols) * (height + pad)
        left = pad + (index % cols) * (width + pad)
        grid[top : top + height, left : left + width] = scaled[index].astype(xp.uint8)
    return grid


def encode_png(pixels):
    """PNG bytes of a uint8 ``(H, W, 1)`` grey or ``(H, W, 3)`` RGB array."""
    pixels = xp.asarray(pixels)
    if pixels.dtype != xp.uint8 or pixels.ndim != 3 or pixels.shape[-1] not in (1, 3):
        raise ValueError(
            f"encode_png expects uint8 (H, W, 1 or 3), got {pixels.dtype} {pixels.shape}"
        )
    height, width, channels = pixels.shape
    color_type = 0 if channels == 1 else 2
    # each scanline starts with filter type 0 (no filter)
    rows = xp.concatenate(
        [xp.zeros((height, 1), dtype=xp.uint8), pixels.reshape(height, width * channels)],
        axis=1,
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )

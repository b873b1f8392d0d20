"""Resampling images through per-image affine maps, with numpy gathers only.

Each output pixel (x, y) reads the input at ``matrix @ (x, y, 1)``: the inverse map, so every
output pixel gets exactly one value and nothing is left unfilled. Bilinear sampling blends
the four neighbours; points that fall outside the image are filled according to
``fill_mode`` (the Keras conventions):

- ``"constant"``: ``fill_value`` outside (k k k k | a b c d | k k k k)
- ``"reflect"``: mirrored about the edge, edge repeated (d c b a | a b c d | d c b a)
- ``"wrap"``: periodic (a b c d | a b c d | a b c d)
- ``"nearest"``: the closest edge pixel (a a a a | a b c d | d d d d)
"""

from lapenna.backend import host_np as np

FILL_MODES = ("constant", "reflect", "wrap", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def check_modes(fill_mode, interpolation, where):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{where} expects fill_mode in {FILL_MODES}, got {fill_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"{where} expects interpolation in {INTERPOLATIONS}, got {interpolation!r}"
        )


def _remap(index, size, fill_mode):
    if fill_mode == "reflect":
        index = np.mod(index, 2 * size)
        return np.where(index >= size, 2 * size - 1 - index, index)
    if fill_mode == "wrap":
        return np.mod(index, size)
    return np.clip(index, 0, size - 1)


def _gather(flat, shape, rows, cols, fill_mode, fill_value):
    """Pixels at integer (rows, cols) of each image; ``flat`` is the (N*H*W, C) image stack."""
    n, h, w = shape
    if fill_mode == "constant":
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        rows, cols = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
    else:
        inside = None
        rows, cols = _remap(rows, h, fill_mode), _remap(cols, w, fill_mode)
    index = (np.arange(n).reshape(n, 1, 1) * h + rows) * w + cols
    values = np.take(flat, index, axis=0)
    if inside is not None:
        values = np.where(inside[..., None], values, values.dtype.type(fill_value))
    return values


def affine_sample(batch, matrices, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Resample ``batch`` (N, H, W, C float) through ``matrices`` (N, 2, 3), output -> input.

    Returns:
        An array of the same shape and dtype as ``batch``.
    """
    n, h, w, c = batch.shape
    dtype = batch.dtype
    ys, xs = np.meshgrid(np.arange(h, dtype=dtype), np.arange(w, dtype=dtype), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w, dtype=dtype)])
    source = matrices.astype(dtype) @ grid
    src_x, src_y = source[:, 0].reshape(n, h, w), source[:, 1].reshape(n, h, w)
    flat = batch.reshape(n * h * w, c)
    if interpolation == "nearest":
        rows = np.floor(src_y + dtype.type(0.5)).astype(np.int64)
        cols = np.floor(src_x + dtype.type(0.5)).astype(np.int64)
        return _gather(flat, (n, h, w), rows, cols, fill_mode, fill_value)
    row0, col0 = np.floor(src_y), np.floor(src_x)
    wy, wx = (src_y - row0)[..., None], (src_x - col0)[..., None]
    row0, col0 = row0.astype(np.int64), col0.astype(np.int64)
    one = dtype.type(1)
    result = np.zeros_like(batch)
    for d_row, d_col, weight in (
        (0, 0, (one - wy) * (one - wx)),
        (0, 1, (one - wy) * wx),
        (1, 0, wy * (one - wx)),
        (1, 1, wy * wx),
    ):
        result += weight * _gather(
            flat, (n, h, w), row0 + d_row, col0 + d_col, fill_mode, fill_value
        )
    return result


def centered(linear, shift_x, shift_y, height, width):
    """(N, 2, 3) matrices applying ``linear`` (N, 2, 2) about the image center, then a shift.

    The center is ((width - 1) / 2, (height - 1) / 2), so a quarter turn of a square image
    permutes its pixels exactly.
    """
    center = np.array([(width - 1) / 2, (height - 1) / 2], dtype=linear.dtype)
    offset = center - linear @ center - np.stack([shift_x, shift_y], axis=-1)
    return np.concatenate([linear, offset[..., None]], axis=-1)

"""Box-aware augmentation of one image: flips, scaling with a crop, translation.

Each function takes an ``(H, W, C)`` image, its ``(k, 4)`` ``xyxy`` boxes in pixels and
their ``(k,)`` labels, and returns the three transformed consistently: a pixel that moves
from ``p`` to ``p'`` moves the box corners the same way. The output keeps the input's size;
uncovered pixels are ``fill_value``. Boxes are clipped to the image, and a box that keeps
less than ``min_visibility`` of its area (or nothing) is dropped with its label.
"""

from lapenna.backend import make_generator, xp
from lapenna.vision.boxes import check_boxes


def _check(image, boxes, labels, name):
    image = xp.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"{name}: expected one (height, width, channels) image, got {image.shape}")
    boxes = check_boxes(boxes, f"{name} (boxes)").reshape(-1, 4)
    labels = xp.asarray(labels).reshape(-1)
    if labels.shape[0] != boxes.shape[0]:
        raise ValueError(f"{name}: {boxes.shape[0]} boxes but {labels.shape[0]} labels")
    return image, boxes, labels


def flip_horizontal(image, boxes, labels):
    """Mirror left to right: ``x -> W - x`` (so ``x1' = W - x2``, ``x2' = W - x1``)."""
    image, boxes, labels = _check(image, boxes, labels, "flip_horizontal")
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return image[:, ::-1].copy(), flipped, labels


def random_flip(image, boxes, labels, probability=0.5, generator=None):
    """:func:`flip_horizontal` with the given probability."""
    if make_generator(generator).uniform() < probability:
        return flip_horizontal(image, boxes, labels)
    return _check(image, boxes, labels, "random_flip")


def scale_translate(
    image, boxes, labels, scale, shift_x, shift_y, fill_value=0, min_visibility=0.3
):
    """Map ``p -> p * scale + shift`` (pixels), sampling the nearest input pixel.

    Output pixel centre ``c`` reads the input at ``(c - shift) / scale``; boxes map exactly,
    then are clipped to the image and dropped below ``min_visibility`` of their area.
    """
    image, boxes, labels = _check(image, boxes, labels, "scale_translate")
    if not scale > 0:
        raise ValueError(f"scale_translate: scale must be > 0, got {scale!r}")
    height, width = image.shape[:2]
    rows = xp.floor(((xp.arange(height) + 0.5) - shift_y) / scale).astype(xp.int64)
    cols = xp.floor(((xp.arange(width) + 0.5) - shift_x) / scale).astype(xp.int64)
    inside = ((rows >= 0) & (rows < height))[:, None] & ((cols >= 0) & (cols < width))[None, :]
    out = image[xp.clip(rows, 0, height - 1)][:, xp.clip(cols, 0, width - 1)]
    out = xp.where(inside[..., None], out, xp.asarray(fill_value, dtype=image.dtype))
    moved = boxes * scale + xp.asarray([shift_x, shift_y, shift_x, shift_y], dtype=boxes.dtype)
    clipped = moved.copy()
    clipped[:, 0::2] = xp.clip(moved[:, 0::2], 0, width)
    clipped[:, 1::2] = xp.clip(moved[:, 1::2], 0, height)
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = (kept_area > 0) & (kept_area >= min_visibility * area)
    return out, clipped[keep], labels[keep]


def random_translate(image, boxes, labels, max_shift=0.1, generator=None, **options):
    """Shift by up to ``max_shift`` of the width and height in each direction."""
    rng = make_generator(generator)
    height, width = xp.asarray(image).shape[:2]
    dx, dy = rng.uniform(-max_shift, max_shift, 2) * [width, height]
    return scale_translate(image, boxes, labels, 1.0, round(dx), round(dy), **options)


def random_scale_crop(image, boxes, labels, scale_range=(0.75, 1.25), generator=None, **options):
    """Scale by a factor drawn from ``scale_range``, then crop (or pad) back to the input size
    at a random offset."""
    low, high = scale_range
    if not 0 < low <= high:
        raise ValueError(
            f"random_scale_crop: scale_range must be 0 < low <= high, got {scale_range!r}"
        )
    rng = make_generator(generator)
    height, width = xp.asarray(image).shape[:2]
    scale = rng.uniform(low, high)
    spare_x, spare_y = width * (1 - scale), height * (1 - scale)
    dx = rng.uniform(min(spare_x, 0), max(spare_x, 0))
    dy = rng.uniform(min(spare_y, 0), max(spare_y, 0))
    return scale_translate(image, boxes, labels, scale, dx, dy, **options)

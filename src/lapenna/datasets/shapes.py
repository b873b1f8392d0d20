"""Synthetic shapes: colored circles, squares and triangles on noisy backgrounds.

Every image has a random dark background color with Gaussian noise, and ``objects``
bright shapes at random positions and sizes (shapes are re-drawn a few times to avoid
overlapping; a later shape covers an earlier one if they still overlap). Everything is
seeded, so a seed gives the same images on every machine with the same numpy. It serves the
classification, detection and segmentation examples:

- :func:`load_data`: one shape per image, ``(x, class)`` pairs;
- :func:`load_detection_data`: images with labels, boxes and masks;
- :func:`make_shapes`: the generator behind both.
"""

from lapenna.backend import generator as global_generator
from lapenna.backend import host_np as np

CLASS_NAMES = ("circle", "square", "triangle")
_PLACEMENT_TRIES = 10


def _coordinator(seed):
    """A Generator for ``seed`` (int, SeedSequence or Generator); the global one for None."""
    return global_generator() if seed is None else np.random.default_rng(seed)


def _draw_geometry(rng, n, size, objects):
    """Centers and half-sizes (N, K) placed to avoid overlapping boxes where possible."""
    largest = size * 0.3 / np.sqrt(objects)
    smallest = max(2.0, size * 0.12 / np.sqrt(objects))
    radius = rng.uniform(smallest, max(largest, smallest), size=(n, objects))
    center_x = rng.uniform(radius, size - radius)
    center_y = rng.uniform(radius, size - radius)
    for k in range(1, objects):
        for _ in range(_PLACEMENT_TRIES):
            gap_x = np.abs(center_x[:, :k] - center_x[:, k : k + 1]) - radius[:, :k]
            gap_y = np.abs(center_y[:, :k] - center_y[:, k : k + 1]) - radius[:, :k]
            clash = np.any((gap_x < radius[:, k : k + 1]) & (gap_y < radius[:, k : k + 1]), axis=1)
            if not clash.any():
                break
            r = radius[clash, k]
            center_x[clash, k] = rng.uniform(r, size - r)
            center_y[clash, k] = rng.uniform(r, size - r)
    return center_x, center_y, radius


def _shape_masks(kind, center_x, center_y, radius, size):
    """Boolean (N, S, S) masks of one shape per image, sampled at pixel centers."""
    coords = np.arange(size) + 0.5
    dx = coords[None, None, :] - center_x[:, None, None]
    dy = coords[None, :, None] - center_y[:, None, None]
    r = radius[:, None, None]
    circle = dx**2 + dy**2 <= r**2
    square = (np.abs(dx) <= r) & (np.abs(dy) <= r)
    # apex at the top (dy = -r), base at the bottom (dy = r) with half-width r
    triangle = (np.abs(dx) <= (dy + r) / 2) & (dy <= r)
    kind = kind[:, None, None]
    return np.where(kind == 0, circle, np.where(kind == 1, square, triangle))


def _boxes_of(masks):
    """Tight (x_min, y_min, x_max, y_max) pixel-edge boxes of (N, S, S) masks."""
    size = masks.shape[-1]
    cols, rows = masks.any(axis=1), masks.any(axis=2)
    x_min, y_min = cols.argmax(axis=1), rows.argmax(axis=1)
    x_max = size - cols[:, ::-1].argmax(axis=1)
    y_max = size - rows[:, ::-1].argmax(axis=1)
    return np.stack([x_min, y_min, x_max, y_max], axis=-1).astype(np.float32)


def make_shapes(n, image_size=32, objects=1, seed=0):
    """Generate ``n`` images with ``objects`` shapes each.

    Args:
        n: number of images.
        image_size: side of the square images in pixels (at least 8).
        objects: shapes per image.
        seed: int, SeedSequence or Generator; ``None`` draws from the global generator.

    Returns:
        A dict of arrays:

        - ``"images"``: uint8 (n, S, S, 3);
        - ``"labels"``: uint8 (n, K), indices into :data:`CLASS_NAMES`;
        - ``"boxes"``: float32 (n, K, 4), ``(x_min, y_min, x_max, y_max)`` in pixels, the
          edges of the tight box around each whole shape (``x_max`` exclusive);
        - ``"masks"``: bool (n, K, S, S), the visible pixels of each shape;
        - ``"segmentation"``: uint8 (n, S, S), 0 for background, ``label + 1`` per shape.

    Example:
        >>> data = make_shapes(4, image_size=16, seed=1)
        >>> data["images"].shape, data["boxes"].shape
        ((4, 16, 16, 3), (4, 1, 4))
    """
    if not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"shapes expects an int image_size >= 8, got {image_size!r}")
    if not isinstance(objects, int) or objects < 1:
        raise ValueError(f"shapes expects objects >= 1, got {objects!r}")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"shapes expects a count n >= 0, got {n!r}")
    rng = _coordinator(seed)
    size = image_size
    labels = rng.integers(0, len(CLASS_NAMES), size=(n, objects))
    center_x, center_y, radius = _draw_geometry(rng, n, size, objects)
    background = rng.uniform(0, 100, size=(n, 1, 1, 3)).astype(np.float32)
    images = background + rng.normal(0, 12, size=(n, size, size, 3)).astype(np.float32)
    colors = rng.uniform(130, 255, size=(n, objects, 3)).astype(np.float32)
    shading = rng.normal(0, 8, size=(n, size, size, 1)).astype(np.float32)
    masks = np.zeros((n, objects, size, size), dtype=bool)
    segmentation = np.zeros((n, size, size), dtype=np.uint8)
    boxes = np.zeros((n, objects, 4), dtype=np.float32)
    for k in range(objects):
        mask = _shape_masks(labels[:, k], center_x[:, k], center_y[:, k], radius[:, k], size)
        boxes[:, k] = _boxes_of(mask)
        masks[:, :k] &= ~mask[:, None]
        masks[:, k] = mask
        segmentation = np.where(mask, labels[:, k, None, None] + 1, segmentation)
        images = np.where(mask[..., None], colors[:, k, None, None, :] + shading, images)
    images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    return {
        "images": images,
        "labels": labels.astype(np.uint8),
        "boxes": boxes,
        "masks": masks,
        "segmentation": segmentation.astype(np.uint8),
    }


def _two_streams(seed):
    """Independent seeds for the train and test sets (changing n_train keeps the test set)."""
    if seed is None:
        seed = int(global_generator().integers(2**63))
    return np.random.SeedSequence(seed).spawn(2)


def load_data(n_train=2000, n_test=500, image_size=32, seed=0):
    """Shape classification: one shape per image, labeled circle (0), square (1), triangle (2).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, S, S, 3), uint8 labels (N,).

    Example:
        >>> (x, y), (x_test, y_test) = load_data(n_train=10, n_test=5, image_size=16)
        >>> x.shape, y.shape, x_test.shape
        ((10, 16, 16, 3), (10,), (5, 16, 16, 3))
    """
    train_seed, test_seed = _two_streams(seed)
    train = make_shapes(n_train, image_size, 1, train_seed)
    test = make_shapes(n_test, image_size, 1, test_seed)
    return (train["images"], train["labels"][:, 0]), (test["images"], test["labels"][:, 0])


def load_detection_data(n_train=1000, n_test=200, image_size=64, objects=1, seed=0):
    """Shape detection and segmentation: images with labels, boxes and masks.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` where each ``x`` is uint8 (N, S, S, 3) and
        each ``y`` is a dict with ``"labels"``, ``"boxes"``, ``"masks"`` and
        ``"segmentation"`` as described in :func:`make_shapes`.
    """
    train_seed, test_seed = _two_streams(seed)
    parts = []
    for count, part_seed in ((n_train, train_seed), (n_test, test_seed)):
        data = make_shapes(count, image_size, objects, part_seed)
        parts.append((data.pop("images"), data))
    return tuple(parts)

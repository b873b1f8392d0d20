"""Shapes for object detection: several circles, squares and triangles per image.

Each image holds between 1 and ``max_objects`` shapes of the three classes, of several
sizes, placed to avoid overlap where possible (a later shape may still cover part of an
earlier one: its box stays the whole shape, its mask the visible pixels). The images are
generated in memory from a seed by :func:`lapenna.datasets.shapes.make_shapes`, so a seed
gives the same set on every machine with the same numpy.
"""

from lapenna.backend import host_np as np
from lapenna.datasets.shapes import CLASS_NAMES, make_shapes


def make_detection_shapes(n, image_size=64, max_objects=3, seed=0):
    """Generate ``n`` detection images with 1 to ``max_objects`` shapes each.

    Returns:
        ``(images, targets)``: uint8 ``(n, S, S, 3)`` images, and a list of ``n`` dicts with
        ``"boxes"`` (float32 ``(k, 4)`` ``xyxy`` pixel edges), ``"labels"`` (int64 ``(k,)``
        indices into ``CLASS_NAMES``) and ``"masks"`` (bool ``(k, S, S)``).

    Example:
        >>> images, targets = make_detection_shapes(4, image_size=64, seed=1)
        >>> images.shape, sorted(targets[0])
        ((4, 64, 64, 3), ['boxes', 'labels', 'masks'])
    """
    if not isinstance(max_objects, int) or max_objects < 1:
        raise ValueError(f"shapes_detection expects max_objects >= 1, got {max_objects!r}")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"shapes_detection expects a count n >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, max_objects + 1, size=n)
    images = np.zeros((n, image_size, image_size, 3), dtype=np.uint8)
    targets = [None] * n
    for count in range(1, max_objects + 1):
        where = np.flatnonzero(counts == count)
        data = make_shapes(len(where), image_size, count, rng)
        images[where] = data["images"]
        for j, i in enumerate(where):
            targets[i] = {
                "boxes": data["boxes"][j].astype(np.float32),
                "labels": data["labels"][j].astype(np.int64),
                "masks": data["masks"][j],
            }
    return images, targets


def load_data(n_train=2000, n_test=300, image_size=64, max_objects=3, seed=0):
    """The ``shapes_detection`` set: ``(x_train, y_train), (x_test, y_test)``.

    Each ``x`` is uint8 ``(N, S, S, 3)``; each ``y`` a list of per-image dicts (see
    :func:`make_detection_shapes`). The test set comes from its own seed stream, so
    changing ``n_train`` keeps it.
    """
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    train = make_detection_shapes(n_train, image_size, max_objects, train_seed)
    test = make_detection_shapes(n_test, image_size, max_objects, test_seed)
    return train, test


__all__ = ["CLASS_NAMES", "load_data", "make_detection_shapes"]

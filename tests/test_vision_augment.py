"""Box-aware augmentation: the boxes move with the pixels (checked against the masks of
shapes_detection, transformed as images)."""

import numpy as np
import pytest

from lapenna import vision
from lapenna.datasets import shapes_detection


def _tight_box(mask):
    rows, cols = np.nonzero(mask)
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def _scene(seed):
    images, targets = shapes_detection.make_detection_shapes(1, seed=seed, max_objects=1)
    t = targets[0]
    return images[0], t["boxes"], t["labels"], t["masks"][0]


@pytest.mark.parametrize("seed", range(4))
def test_boxes_follow_the_pixels(seed):
    image, boxes, labels, mask = _scene(seed)
    np.testing.assert_array_equal(_tight_box(mask), boxes[0])  # one shape: all of it visible
    rng = np.random.default_rng(seed)
    for transform in (vision.random_flip, vision.random_translate, vision.random_scale_crop):
        state = rng.bit_generator.state
        out, moved, kept = transform(image, boxes, labels, generator=rng)
        rng.bit_generator.state = state
        mask_out, _, _ = transform(mask[..., None].astype(np.uint8), boxes, labels, generator=rng)
        assert out.shape == image.shape
        if len(moved) and mask_out.any():
            # nearest sampling at scales down to 0.75 can skip a thin row (a triangle apex)
            np.testing.assert_allclose(moved[0], _tight_box(mask_out[..., 0]), atol=1.5)
            assert kept.tolist() == labels.tolist()


def test_flip_by_hand_and_dropping_boxes():
    image = np.zeros((4, 6, 1))
    image[1, 0] = 1
    out, boxes, _ = vision.flip_horizontal(image, [[0.0, 1, 1, 2]], [3])
    assert out[1, 5, 0] == 1 and boxes.tolist() == [[5, 1, 6, 2]]
    # a box moved out of the image is dropped with its label
    _, boxes, labels = vision.scale_translate(
        image, [[0.0, 0, 2, 2], [3, 0, 5, 2]], [1, 2], 1.0, -3, 0
    )
    assert boxes.tolist() == [[0, 0, 2, 2]] and labels.tolist() == [2]
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        vision.random_flip(image, [[0.0, 0, 1, 1], [0, 0, 1, 1]], [1])

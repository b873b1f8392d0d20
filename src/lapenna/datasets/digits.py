"""scikit-learn's 8x8 handwritten digits (1,797 images, the UCI optical digits test set).

Pixel values are kept as shipped, integers 0..16 (not stretched to 0..255, which would
round): divide by 16 to get 0..1.
"""

from lapenna.backend import host_np as np
from lapenna.datasets._embedded import check_test_split, missing_extra, stratified_split

CLASS_NAMES = tuple(str(digit) for digit in range(10))


def load_data(test_split=0.2, seed=0):
    """Load the 8x8 digits with a stratified train/test split.

    Args:
        test_split: fraction of each class kept for testing (0 keeps everything in train).
        seed: seed of the split (a fixed seed gives the same split on every machine).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 8, 8, 1) with values
        0..16 and uint8 labels (N,).

    Raises:
        ImportError: if scikit-learn (the ``datasets`` extra) is not installed.
    """
    check_test_split(test_split, "digits")
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise missing_extra("digits", "scikit-learn", err) from err
    bunch = load_digits()
    images = bunch.images.astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.uint8)
    train, test = stratified_split(labels, test_split, seed)
    return (images[train], labels[train]), (images[test], labels[test])

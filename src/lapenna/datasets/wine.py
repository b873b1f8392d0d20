"""UCI wine recognition: 178 wines, 13 chemical measurements, 3 cultivars (from scikit-learn)."""

from lapenna.datasets._embedded import check_test_split, missing_extra, split_table

CLASS_NAMES = ("class_0", "class_1", "class_2")


def load_data(test_split=0.2, seed=0):
    """Load wine with a stratified train/test split.

    Args:
        test_split: fraction of each class kept for testing.
        seed: seed of the split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: floatx features (N, 13), unscaled (their
        ranges differ by three orders of magnitude: standardize them), and uint8 labels (N,).

    Raises:
        ImportError: if scikit-learn (the ``datasets`` extra) is not installed.
    """
    check_test_split(test_split, "wine")
    try:
        from sklearn.datasets import load_wine
    except ImportError as err:
        raise missing_extra("wine", "scikit-learn", err) from err
    bunch = load_wine()
    return split_table(bunch.data, bunch.target, test_split, seed)

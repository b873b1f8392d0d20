"""Fisher's iris flowers: 150 samples, 4 measurements in cm, 3 species (from scikit-learn)."""

from lapenna.datasets._embedded import check_test_split, missing_extra, split_table

CLASS_NAMES = ("setosa", "versicolor", "virginica")
FEATURE_NAMES = ("sepal length", "sepal width", "petal length", "petal width")


def load_data(test_split=0.2, seed=0):
    """Load iris with a stratified train/test split.

    Args:
        test_split: fraction of each class kept for testing (0 keeps all 150 in train).
        seed: seed of the split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: floatx features (N, 4) and uint8 labels
        (N,); 120 / 30 samples with the default split.

    Raises:
        ImportError: if scikit-learn (the ``datasets`` extra) is not installed.
    """
    check_test_split(test_split, "iris")
    try:
        from sklearn.datasets import load_iris
    except ImportError as err:
        raise missing_extra("iris", "scikit-learn", err) from err
    bunch = load_iris()
    return split_table(bunch.data, bunch.target, test_split, seed)

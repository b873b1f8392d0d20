"""Boston housing prices (Harrison & Rubinfeld, 1978): 506 towns, 13 features, a regression.

scikit-learn removed this dataset; the copy shipped with ``mlxtend``
(``mlxtend/data/data/boston_housing.csv``) is read. The target is the median home value in
thousands of dollars. The features include one built from the proportion of Black residents
(column ``B``), which is why scikit-learn dropped the set; it serves here as a small,
well-known regression benchmark, as it does in Keras.
"""

from lapenna.backend import floatx
from lapenna.backend import host_np as np
from lapenna.datasets._embedded import check_test_split, missing_extra
from lapenna.datasets.errors import DatasetFormatError

FEATURE_NAMES = (
    "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B",
    "LSTAT",
)  # fmt: skip


def load_data(test_split=0.2, seed=113):
    """Load Boston housing, split like Keras's loader (shuffle, then the first part trains).

    Args:
        test_split: fraction of the samples kept for testing.
        seed: seed of the shuffle (Keras's default is 113).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: floatx features (N, 13) and floatx targets
        (N,); 404 / 102 samples with the default split.

    Raises:
        ImportError: if mlxtend (the ``datasets`` extra) is not installed.
    """
    check_test_split(test_split, "boston_housing")
    try:
        from mlxtend.data import boston_housing_data
    except ImportError as err:
        raise missing_extra("boston_housing", "mlxtend", err) from err
    features, targets = boston_housing_data()
    if features.shape != (506, 13) or targets.shape != (506,):
        raise DatasetFormatError(
            f"mlxtend's boston_housing.csv: expected 506 rows of 13 features and a target, got "
            f"{features.shape} and {targets.shape}"
        )
    # the legacy stream never changes across numpy versions, so the split is stable
    order = np.random.RandomState(seed).permutation(len(targets))
    features = features[order].astype(floatx())
    targets = targets[order].astype(floatx())
    n_train = int(len(targets) * (1 - test_split))
    return (features[:n_train], targets[:n_train]), (features[n_train:], targets[n_train:])

"""Helpers for the datasets shipped inside installed packages (the ``datasets`` extra)."""

from lapenna.backend import floatx
from lapenna.backend import host_np as np


def missing_extra(dataset, package, err):
    """The ImportError raised when the package that ships ``dataset`` is not installed."""
    return ImportError(
        f"lapenna.datasets.{dataset} reads the copy shipped with the '{package}' package, which "
        f"is not installed ({err}); install it with: pip install 'lapenna[datasets]'"
    )


def check_test_split(test_split, dataset):
    if not isinstance(test_split, int | float) or not 0 <= test_split < 1:
        raise ValueError(f"{dataset}.load_data expects 0 <= test_split < 1, got {test_split!r}")


def stratified_split(labels, test_split, seed):
    """Train and test indices with each class split in the same proportion, both shuffled.

    The legacy ``RandomState`` stream is used on purpose: numpy keeps it unchanged across
    versions, so a seed always gives the same split everywhere.
    """
    rng = np.random.RandomState(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test = int(round(len(members) * test_split))
        test.append(members[:n_test])
        train.append(members[n_test:])
    train, test = np.concatenate(train), np.concatenate(test)
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


def split_table(features, labels, test_split, seed):
    """``(x_train, y_train), (x_test, y_test)``: floatx features, uint8 class labels."""
    train, test = stratified_split(labels, test_split, seed)
    features = np.asarray(features, dtype=floatx())
    labels = np.asarray(labels).astype(np.uint8)
    return (features[train], labels[train]), (features[test], labels[test])

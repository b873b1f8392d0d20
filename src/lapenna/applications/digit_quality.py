"""An offline quality measure for generated digits: the small-scale stand-in for IS and FID.

The Inception Score (Salimans et al., 2016) and the Frechet Inception Distance (Heusel et
al., 2017) judge generated images with an ImageNet classifier that cannot be downloaded
here. For 28x28 digits the same two ideas work with a small classifier trained on the
shipped MNIST sample (``datasets.mnist_sample``: 4,000 training digits) with a fixed seed,
inside the measure, in a few seconds:

- ``classes_covered``: how many of the 10 digits take at least 2% of the predictions (mode
  collapse shows as few classes);
- ``kl_to_uniform``: the KL divergence of the predicted class histogram to uniform (0 when
  every digit is drawn equally often);
- ``confident_share``: the share of samples whose top class has probability >= 0.9
  (blurry or broken strokes are not confidently any digit);
- ``inception_score``: ``exp(E_x KL(p(y|x) || p(y)))``, between 1 and 10: high when each
  sample is confidently one digit and the digits vary;
- ``frechet_distance``: between Gaussians fitted to the classifier's hidden features of the
  samples and of the 1,000 held-out real digits,
  ``|mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))``: 0 for identical statistics.

The numbers are comparable only between runs of this measure (its classifier is not
Inception), which is what a course needs: watch a generator improve, compare two GANs.
"""

from lapenna import backend as B
from lapenna import datasets, layers, losses, optimizers
from lapenna.models import Model

_CONFIDENT = 0.9
_MIN_SHARE = 0.02
_CACHE = {}


class DigitQuality:
    """Score generated 28x28 digits with a classifier trained on the shipped MNIST sample.

    Args:
        seed: the seed of the classifier's training (the global seed is restored after).
        epochs: the classifier's training epochs.
        hidden: the width of its hidden layer (the features of the Frechet distance).

    Example (trains the classifier: a few seconds)::

        from lapenna.applications import DigitQuality
        quality = DigitQuality()
        scores = quality(gan.generate(1000, seed=0), value_range=(-1, 1))
        scores["classes_covered"], scores["inception_score"], scores["frechet_distance"]
    """

    def __init__(self, seed=0, epochs=10, hidden=128):
        (x_train, y_train), (x_test, y_test) = datasets.mnist_sample.load_data()
        self.classifier, self.features = _train_classifier(
            _scale(x_train), y_train, seed, epochs, hidden
        )
        real = _scale(x_test)
        probs, feats = self._predict(real)
        self.test_accuracy = float((probs.argmax(axis=1) == y_test).mean())
        self.real_mean, self.real_cov = _moments(feats)

    def _predict(self, images):
        feats = self.features.predict(images, batch_size=500, verbose=0)
        logits = self.classifier.get_layer("logits")(feats).data
        return _softmax(logits), feats

    def classify(self, images, value_range=(-1.0, 1.0)):
        """The classifier's class probabilities ``(N, 10)`` for ``images`` (a conditional
        generator is judged by how often the top class is the requested one)."""
        return self._predict(_check_images(images, value_range))[0]

    def __call__(self, images, value_range=(-1.0, 1.0)):
        """The scores of ``images`` (N, 28, 28, 1) or (N, 28, 28), pixel values in
        ``value_range`` (``(-1, 1)`` for a tanh generator). Returns a dict of floats, the
        class ``histogram`` (shares of each digit) and the ``count`` of images."""
        x = _check_images(images, value_range)
        probs, feats = self._predict(x)
        count = len(x)
        histogram = B.xp.bincount(probs.argmax(axis=1), minlength=10) / count
        marginal = probs.mean(axis=0)
        eps = 1e-12
        kl_rows = (probs * (B.xp.log(probs + eps) - B.xp.log(marginal + eps))).sum(axis=1)
        nonzero = histogram[histogram > 0]
        mean, cov = _moments(feats)
        return {
            "count": count,
            "classes_covered": int((histogram >= _MIN_SHARE).sum()),
            "kl_to_uniform": float((nonzero * B.xp.log(nonzero * 10)).sum()),
            "confident_share": float((probs.max(axis=1) >= _CONFIDENT).mean()),
            "inception_score": float(B.xp.exp(kl_rows.mean())),
            "frechet_distance": frechet_distance(mean, cov, self.real_mean, self.real_cov),
            "histogram": [float(h) for h in histogram],
        }


def digit_quality(images, value_range=(-1.0, 1.0)):
    """``DigitQuality()(images, value_range)`` with the classifier trained once per process
    (seed 0) and kept."""
    if "default" not in _CACHE:
        _CACHE["default"] = DigitQuality()
    return _CACHE["default"](images, value_range)


def frechet_distance(mean_1, cov_1, mean_2, cov_2):
    """``|mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))`` for two Gaussians.

    ``Tr((S_1 S_2)^(1/2))`` is the sum of the square roots of the eigenvalues of the
    symmetric ``S_1^(1/2) S_2 S_1^(1/2)``, which has the same spectrum: two ``eigh`` calls
    and no general matrix square root.
    """
    values, vectors = B.xp.linalg.eigh(cov_1)
    root_1 = (vectors * B.xp.sqrt(B.xp.clip(values, 0, None))) @ vectors.T
    middle = root_1 @ cov_2 @ root_1
    trace_root = B.xp.sqrt(B.xp.clip(B.xp.linalg.eigvalsh((middle + middle.T) / 2), 0, None))
    diff = mean_1 - mean_2
    return float(diff @ diff + B.xp.trace(cov_1) + B.xp.trace(cov_2) - 2 * trace_root.sum())


def _scale(images):
    return (images.astype("float64") / 255.0).astype(B.floatx())


def _check_images(images, value_range):
    x = B.xp.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1) or len(x) < 2:
        raise ValueError(
            "DigitQuality expects at least 2 images of shape (28, 28, 1) or (28, 28), got "
            f"shape {tuple(B.xp.shape(images))}"
        )
    if not B.xp.isfinite(x).all():
        raise ValueError("DigitQuality: the images contain NaN or infinite values")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"DigitQuality: value_range must be (low, high), got {value_range}")
    return ((x - low) / (high - low)).astype(B.floatx())


def _train_classifier(x, y, seed, epochs, hidden):
    """A 784-``hidden``-10 MLP trained with Adam; the global RNG state is restored after."""
    saved = B.get_rng_state()
    try:
        B.set_seed(seed)
        inputs = layers.Input((28, 28, 1), name="digit")
        flat = layers.Flatten(name="flatten")(inputs)
        feats = layers.Dense(hidden, activation="relu", name="features")(flat)
        logits = layers.Dense(10, name="logits")(feats)
        classifier = Model(inputs, logits, name="digit_classifier")
        classifier.compile(
            optimizer=optimizers.Adam(1e-3),
            loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        classifier.fit(x, y.astype("int64"), batch_size=64, epochs=epochs, verbose=0)
    finally:
        B.set_rng_state(saved)
    return classifier, Model(inputs, feats, name="digit_features")


def _softmax(logits):
    logits = logits.astype("float64")
    shifted = B.xp.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _moments(feats):
    feats = B.xp.asarray(feats, dtype="float64")
    return feats.mean(axis=0), B.xp.cov(feats, rowvar=False)

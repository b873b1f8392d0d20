"""tf.keras 2's ``layers.experimental`` namespace, kept so old notebooks run unchanged."""

from lapenna.layers.experimental import preprocessing

__all__ = ["preprocessing"]

"""``keras.preprocessing.sequence``: ``pad_sequences``."""

from lapenna.keras_utils.arrays import pad_sequences

__all__ = ["pad_sequences"]

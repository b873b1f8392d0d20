"""``keras.preprocessing``: the tf.keras spellings notebooks still use, bound as
``lapenna.preprocessing`` by the root package (``keras.preprocessing.sequence.pad_sequences``,
``keras.preprocessing.image_dataset_from_directory``)."""

from lapenna.data.image_folder import image_dataset_from_directory
from lapenna.keras_utils.preprocessing import sequence

__all__ = ["sequence", "image_dataset_from_directory"]

"""`keras.preprocessing.sequence`, as Keras 2 course code imports it."""
from minikeras.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]

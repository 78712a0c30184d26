"""Keras 2's `keras.preprocessing`: `sequence.pad_sequences` and `text.Tokenizer`."""
from minikeras.preprocessing import sequence, text

"""Keras 2's `keras.layers.recurrent`. minikeras has no recurrent layers yet: importing any says so."""
from minikeras.layers.unavailable_layers import missing_layer_getattr

__all__ = ["RNN", "SimpleRNN", "GRU", "LSTM", "SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells"]

__getattr__ = missing_layer_getattr(__name__, __all__, "recurrent")

"""Keras 2's `keras.layers.wrappers`: the layers that wrap another layer."""
from minikeras.layers.bidirectional import Bidirectional
from minikeras.layers.time_distributed import TimeDistributed

__all__ = ["Bidirectional", "TimeDistributed"]

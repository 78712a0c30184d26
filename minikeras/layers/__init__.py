"""Layers, as `keras.layers` names them."""
from minikeras.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from minikeras.layers.input_layer import Input, InputLayer
from minikeras.layers.layer import Layer
from minikeras.layers.serialization import deserialize, serialize

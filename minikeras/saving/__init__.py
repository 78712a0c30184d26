"""Saving: Keras's config dicts, and Keras 3's `.keras` and `.weights.h5` files."""
from minikeras.saving.saving_api import load_model, load_weights, save_model, save_weights
from minikeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["deserialize_keras_object", "load_model", "load_weights", "save_model", "save_weights",
           "serialize_keras_object"]

"""Saving: Keras's config dicts, Keras 3's `.keras` and `.weights.h5` files, and user classes registered
for both."""
from minikeras.saving.object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                                  get_registered_name, get_registered_object,
                                                  register_keras_serializable)
from minikeras.saving.saving_api import load_model, load_weights, save_model, save_weights
from minikeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
           "get_registered_name", "get_registered_object", "load_model", "load_weights", "register_keras_serializable",
           "save_model", "save_weights", "serialize_keras_object"]

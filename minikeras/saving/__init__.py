"""Serialization of Keras objects to Keras's config dicts (files come with the saving issue)."""
from minikeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

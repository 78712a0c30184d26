"""Utilities, as `keras.utils` names them (plus Keras 2's `np_utils`, which its star import exported)."""
from minikeras.saving.object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                                  get_registered_name, get_registered_object,
                                                  register_keras_serializable)
from minikeras.utils import np_utils
from minikeras.utils.module_utils import lazy_exports
from minikeras.utils.numerical_utils import normalize, to_categorical
from minikeras.utils.progbar import Progbar
from minikeras.utils.rng_utils import set_random_seed
from minikeras.utils.sequence_utils import pad_sequences

# Downloading needs the network modules, which cost more to import than the rest of minikeras's utils.
__getattr__, __dir__ = lazy_exports(__name__, {"get_file": "file_utils:get_file"})

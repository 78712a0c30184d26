"""Utilities, as `keras.utils` names them."""
from minikeras.utils.file_utils import get_file
from minikeras.utils.numerical_utils import normalize, to_categorical
from minikeras.utils.progbar import Progbar
from minikeras.utils.rng_utils import set_random_seed

"""Keras's small data sets, downloaded once into `$KERAS_HOME/datasets` (default `~/.keras/datasets`)."""
from minikeras.utils.module_utils import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {name: name for name in (
    "boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters")})

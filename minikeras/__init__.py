"""minikeras: Keras's user-facing API over plain NumPy."""
from minikeras import (activations, backend, callbacks, constraints, datasets, initializers, layers, losses,
                       metrics, models, optimizers, preprocessing, regularizers, utils)
from minikeras.hook import load_ipython_extension, unload_ipython_extension
from minikeras.layers import Input, Layer
from minikeras.models import Model, Sequential

__version__ = "0.1.0"

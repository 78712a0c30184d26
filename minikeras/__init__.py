"""minikeras: Keras's user-facing API over plain NumPy."""
from minikeras import backend

__version__ = "0.1.0"

"""Models, as `keras.models` names them."""
from minikeras.models.sequential import Sequential

"""`keras.utils.np_utils` of Keras 2 (gone from Keras 3): `to_categorical` and `normalize`."""
from minikeras.utils import numerical_utils
from minikeras.utils.numerical_utils import normalize

__all__ = ["normalize", "to_categorical"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows of `dtype` for the integer labels `y`: Keras 2's signature, which defaulted to float32."""
    return numerical_utils.to_categorical(y, num_classes).astype(dtype, copy=False)

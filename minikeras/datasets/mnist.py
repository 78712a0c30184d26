"""The MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images of the digits 0-9."""
import numpy as np

from minikeras.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_data(path="mnist.npz"):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (60000, 28, 28) and (10000, 28, 28) in 0-255,
    uint8 labels (60000,) and (10000,) in 0-9.

    `path` is the file name under `$KERAS_HOME/datasets` (default `~/.keras/datasets`).
    """
    path = get_file(
        fname=path,
        origin=f"{ORIGIN_FOLDER}mnist.npz",
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    )
    with np.load(path, allow_pickle=False) as arrays:
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

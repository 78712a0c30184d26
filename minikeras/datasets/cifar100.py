"""CIFAR-100: 50,000 training and 10,000 test 32x32 colour images in 100 classes grouped into 20 superclasses."""
import os

import numpy as np

from minikeras.datasets.cifar import load_batch, to_image_data_format
from minikeras.utils.file_utils import get_file


def load_data(label_mode="fine"):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (50000, 32, 32, 3) and (10000, 32, 32, 3)
    (channels first when `image_data_format()` says so), labels (50000, 1) and (10000, 1): the 100 fine
    classes for `label_mode="fine"`, the 20 coarse superclasses for `"coarse"`.
    """
    if label_mode not in ["fine", "coarse"]:
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    path = get_file(
        fname="cifar-100-python-target",
        origin="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        extract=True,
        file_hash="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    )
    path = os.path.join(path, "cifar-100-python")
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=f"{label_mode}_labels")
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=f"{label_mode}_labels")
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (to_image_data_format(x_train), y_train), (to_image_data_format(x_test), y_test)

"""CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship, 9 truck.
"""
import os

import numpy as np

from minikeras.datasets.cifar import load_batch, to_image_data_format
from minikeras.utils.file_utils import get_file

NUM_TRAIN_BATCHES = 5
BATCH_SIZE = 10000


def load_data():
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (50000, 32, 32, 3) and (10000, 32, 32, 3)
    (channels first when `image_data_format()` says so), uint8 labels (50000, 1) and (10000, 1) in 0-9.

    The archive is kept as `$KERAS_HOME/datasets/cifar-10-batches-py-target_archive` and extracted,
    at each call as in Keras, into the folder `cifar-10-batches-py-target` beside it.
    """
    path = get_file(
        fname="cifar-10-batches-py-target",
        origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        extract=True,
        file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    )
    path = os.path.join(path, "cifar-10-batches-py")
    num_train_samples = NUM_TRAIN_BATCHES * BATCH_SIZE
    x_train = np.empty((num_train_samples, 3, 32, 32), dtype="uint8")
    y_train = np.empty((num_train_samples,), dtype="uint8")
    for i in range(NUM_TRAIN_BATCHES):
        rows = slice(i * BATCH_SIZE, (i + 1) * BATCH_SIZE)
        x_train[rows], y_train[rows] = load_batch(os.path.join(path, f"data_batch_{i + 1}"))
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1)).astype(y_train.dtype)
    return (to_image_data_format(x_train), y_train), (to_image_data_format(x_test).astype(x_train.dtype), y_test)

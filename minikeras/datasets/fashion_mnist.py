"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 kinds of clothing.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag,
9 Ankle boot.
"""
import gzip
import os

import numpy as np

from minikeras.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
IDX_LABELS_HEADER_BYTES = 8  # magic number, item count
IDX_IMAGES_HEADER_BYTES = 16  # magic number, image count, rows, columns


def read_idx(path, header_bytes):
    """The uint8 payload of a gzipped IDX file, after its header."""
    with gzip.open(path, "rb") as file:
        return np.frombuffer(file.read(), np.uint8, offset=header_bytes)


def load_data():
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (60000, 28, 28) and (10000, 28, 28),
    uint8 labels (60000,) and (10000,) in 0-9.

    The four IDX files are cached, without a hash check (as in Keras), in `$KERAS_HOME/datasets/fashion-mnist`.
    """
    train_labels, train_images, test_labels, test_images = (
        get_file(fname, origin=ORIGIN_FOLDER + fname, cache_subdir=os.path.join("datasets", "fashion-mnist"))
        for fname in FILES)
    y_train = read_idx(train_labels, IDX_LABELS_HEADER_BYTES)
    x_train = read_idx(train_images, IDX_IMAGES_HEADER_BYTES).reshape(len(y_train), 28, 28)
    y_test = read_idx(test_labels, IDX_LABELS_HEADER_BYTES)
    x_test = read_idx(test_images, IDX_IMAGES_HEADER_BYTES).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)

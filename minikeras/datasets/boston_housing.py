"""The Boston Housing prices (506 samples, 13 features, targets in thousands of dollars)."""
import numpy as np

from minikeras.datasets.split_utils import check_test_split, shuffled_train_test_split
from minikeras.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)`: float64 features (n, 13) and targets (n,), the rows shuffled
    with `np.random.RandomState(seed)` and the last `test_split` of them held out.
    """
    check_test_split(test_split)
    path = get_file(
        path,
        origin=f"{ORIGIN_FOLDER}boston_housing.npz",
        file_hash="f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    )
    with np.load(path, allow_pickle=False) as arrays:
        x, y = arrays["x"], arrays["y"]
    return shuffled_train_test_split(x, y, test_split, seed)

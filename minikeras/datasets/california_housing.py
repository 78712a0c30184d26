"""The California Housing prices: 20,640 census block groups, 8 features, median house value in dollars.

Features: MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude.
"""
import numpy as np

from minikeras.datasets.split_utils import check_test_split, shuffled_train_test_split
from minikeras.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SMALL_VERSION_SIZE = 600


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)`: features (n, 8) and targets (n,), from all 20,640 rows
    (`version="large"`) or the first 600 (`"small"`), shuffled with `np.random.RandomState(seed)`, the last
    `test_split` of them held out.
    """
    check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    path = get_file(
        path,
        origin=f"{ORIGIN_FOLDER}california_housing.npz",
        file_hash="1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
    )
    with np.load(path, allow_pickle=False) as arrays:
        x, y = arrays["x"], arrays["y"]
    if version == "small":
        x, y = x[:SMALL_VERSION_SIZE], y[:SMALL_VERSION_SIZE]
    return shuffled_train_test_split(x, y, test_split, seed)

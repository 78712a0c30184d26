"""The seeded shuffles and train/test splits of the data sets."""
import numpy as np


def check_test_split(test_split):
    is_number = isinstance(test_split, (int, float, np.number)) and not isinstance(test_split, bool)
    if not (is_number and 0 <= test_split < 1):
        raise ValueError(
            f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")


def shuffled(rng, *arrays):
    """The arrays with their rows in one permutation drawn from `rng` (a `np.random.RandomState`)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [array[indices] for array in arrays]


def shuffled_train_test_split(x, y, test_split, seed):
    """Shuffle the rows with `np.random.RandomState(seed)`, then the first int(n * (1 - test_split)) train."""
    x, y = shuffled(np.random.RandomState(seed), x, y)
    train_size = int(len(x) * (1 - test_split))
    return (np.array(x[:train_size]), np.array(y[:train_size])), (np.array(x[train_size:]), np.array(y[train_size:]))

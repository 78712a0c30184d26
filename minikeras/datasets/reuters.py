"""The Reuters newswires: 11,228 newswires as word-index sequences, labelled with one of 46 topics."""
import json

import numpy as np

from minikeras.datasets.npz_utils import load_npz
from minikeras.datasets.sequence_utils import (check_encoding_arguments, limit_vocabulary, remove_long_seq,
                                              shift_word_indices)
from minikeras.datasets.split_utils import check_test_split, shuffled
from minikeras.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
    "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of lists of word indices, int topic labels.

    All newswires are shuffled with `np.random.RandomState(seed)`; each becomes
    `[start_char] + [i + index_from ...]`; with `maxlen`, only newswires shorter than `maxlen` stay; words
    outside `skip_top <= i < num_words` become `oov_char` (or are dropped when it is None); the last
    `test_split` of them are the test set.
    """
    check_encoding_arguments(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    check_test_split(test_split)
    path = get_file(
        fname=path,
        origin=f"{ORIGIN_FOLDER}reuters.npz",
        file_hash="d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    )
    arrays = load_npz(path)
    xs, labels = shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = shift_word_indices(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
    xs = limit_vocabulary(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return ((np.array(xs[:split], dtype="object"), np.array(labels[:split])),
            (np.array(xs[split:], dtype="object"), np.array(labels[split:])))


def get_word_index(path="reuters_word_index.json"):
    """{word: index} for the Reuters data set (before the `index_from` shift)."""
    path = get_file(
        path,
        origin=f"{ORIGIN_FOLDER}reuters_word_index.json",
        file_hash="4d44cc38712099c9e383dc6e5f11a921",
    )
    with open(path) as file:
        return json.load(file)


def get_label_names():
    """The 46 topic names, indexed by label."""
    return LABEL_NAMES

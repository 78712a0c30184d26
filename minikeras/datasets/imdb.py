"""The IMDB movie reviews: 25,000 training and 25,000 test reviews as word-index sequences, labelled
0 (negative) or 1 (positive). Index i is the i-th most frequent word, shifted by `index_from`.
"""
import json

import numpy as np

from minikeras.datasets.npz_utils import load_npz
from minikeras.datasets.sequence_utils import (check_encoding_arguments, limit_vocabulary, remove_long_seq,
                                              shift_word_indices)
from minikeras.datasets.split_utils import shuffled
from minikeras.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of lists of word indices, int labels.

    The training then the test reviews are shuffled with one `np.random.RandomState(seed)`; each review
    becomes `[start_char] + [i + index_from ...]`; with `maxlen`, only reviews shorter than `maxlen` stay;
    words outside `skip_top <= i < num_words` become `oov_char` (or are dropped when it is None).
    Extra keyword arguments are accepted and ignored, as in Keras.
    """
    check_encoding_arguments(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    path = get_file(
        fname=path,
        origin=f"{ORIGIN_FOLDER}imdb.npz",
        file_hash="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    )
    arrays = load_npz(path)
    rng = np.random.RandomState(seed)
    x_train, labels_train = shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = shift_word_indices(x_train, start_char, index_from)
    x_test = shift_word_indices(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                "Increase maxlen.")
    xs = limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    split = len(x_train)
    return ((np.array(xs[:split], dtype="object"), labels[:split]),
            (np.array(xs[split:], dtype="object"), labels[split:]))


def get_word_index(path="imdb_word_index.json"):
    """{word: index} for the IMDB data set (before the `index_from` shift)."""
    path = get_file(
        fname=path,
        origin=f"{ORIGIN_FOLDER}imdb_word_index.json",
        file_hash="bfafd718b763782e994055a2d397834f",
    )
    with open(path) as file:
        return json.load(file)

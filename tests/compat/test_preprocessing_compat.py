"""pad_sequences and Keras 2's Tokenizer against real Keras 3 (`keras.utils.pad_sequences` and the legacy
Tokenizer Keras 3 still ships for tf.keras, `keras._tf_keras.keras.preprocessing.text.Tokenizer`)."""
import numpy as np
import pytest

from minikeras.preprocessing.text import Tokenizer, text_to_word_sequence
from minikeras.utils.sequence_utils import pad_sequences

SEQUENCES = [[1], [2, 3], [4, 5, 6, 7], [], [8, 9, 10, 11, 12, 13]]
TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cat, dog; cat? BIRD", "",
         "tab\tsep\nline the", "naïve café, THE end"]
NEW_TEXTS = TEXTS + ["unknown words cat the zebra", ["the", "Cat", "zebra"]]
INDEX_SEQUENCES = [[1, 2, 3, 99, 7], [], [4, 4, 1], [0, 5]]


@pytest.fixture(scope="module")
def keras_tokenizer(keras):
    from keras._tf_keras.keras.preprocessing.text import Tokenizer as KerasTokenizer
    return KerasTokenizer


@pytest.mark.parametrize("kwargs", [
    {}, {"maxlen": 3}, {"maxlen": 3, "truncating": "post"}, {"padding": "post", "value": -1},
    {"maxlen": 8, "padding": "post", "truncating": "post"}, {"dtype": "float32", "value": 0.5},
    {"dtype": "int64", "maxlen": 1}, {"dtype": "uint8", "value": 255},
])
def test_pad_sequences_matches_keras(keras, kwargs):
    expected = keras.utils.pad_sequences(SEQUENCES, **kwargs)
    actual = pad_sequences(SEQUENCES, **kwargs)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


def test_pad_sequences_matches_keras_on_arrays_tuples_and_feature_steps(keras):
    for sequences in ([np.arange(3), np.arange(5), np.arange(1)], ((1, 2), (3,)), [[[1, 2], [3, 4]], [[5, 6]]]):
        expected = keras.utils.pad_sequences(sequences, maxlen=2)
        np.testing.assert_array_equal(pad_sequences(sequences, maxlen=2), expected)
    strings = [["a", "bb"], ["c"]]
    assert (pad_sequences(strings, dtype=object, value="").tolist()
            == keras.utils.pad_sequences(strings, dtype=object, value="").tolist())


@pytest.mark.parametrize("bad", [{"padding": "middle"}, {"truncating": "mid", "maxlen": 1}, {"value": "x"}])
def test_pad_sequences_errors_match_keras(keras, bad):
    with pytest.raises(ValueError) as expected:
        keras.utils.pad_sequences(SEQUENCES, **bad)
    with pytest.raises(ValueError) as actual:
        pad_sequences(SEQUENCES, **bad)
    assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("kwargs", [
    {}, {"num_words": 5}, {"num_words": 5, "oov_token": "<OOV>"}, {"oov_token": "OOV"}, {"char_level": True},
    {"lower": False, "filters": "."}, {"split": ","}, {"char_level": True, "num_words": 4, "oov_token": "?"},
])
def test_tokenizer_matches_keras(keras_tokenizer, kwargs):
    expected, actual = keras_tokenizer(**kwargs), Tokenizer(**kwargs)
    expected.fit_on_texts(TEXTS)
    actual.fit_on_texts(TEXTS)
    assert actual.word_index == expected.word_index and actual.index_word == expected.index_word
    assert list(actual.word_counts.items()) == list(expected.word_counts.items())
    assert dict(actual.word_docs) == dict(expected.word_docs)
    assert dict(actual.index_docs) == dict(expected.index_docs)
    assert actual.document_count == expected.document_count
    assert actual.texts_to_sequences(NEW_TEXTS) == expected.texts_to_sequences(NEW_TEXTS)
    assert actual.sequences_to_texts(INDEX_SEQUENCES) == expected.sequences_to_texts(INDEX_SEQUENCES)
    for mode in ("binary", "count", "freq", "tfidf"):
        for got, want in ((actual.texts_to_matrix(NEW_TEXTS, mode=mode), expected.texts_to_matrix(NEW_TEXTS, mode=mode)),
                          (actual.sequences_to_matrix(INDEX_SEQUENCES, mode=mode),
                           expected.sequences_to_matrix(INDEX_SEQUENCES, mode=mode))):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_tokenizer_fits_incrementally_and_on_sequences_like_keras(keras_tokenizer):
    expected, actual = keras_tokenizer(num_words=6), Tokenizer(num_words=6)
    for tokenizer in (expected, actual):
        tokenizer.fit_on_texts(TEXTS[:2])
        tokenizer.fit_on_texts(TEXTS[2:])
        tokenizer.fit_on_sequences(INDEX_SEQUENCES)
    assert actual.word_index == expected.word_index and actual.document_count == expected.document_count
    np.testing.assert_allclose(actual.sequences_to_matrix(INDEX_SEQUENCES, mode="tfidf"),
                               expected.sequences_to_matrix(INDEX_SEQUENCES, mode="tfidf"), rtol=1e-12)


def test_text_to_word_sequence_matches_keras(keras):
    from keras._tf_keras.keras.preprocessing.text import text_to_word_sequence as keras_split
    for text in TEXTS[:-1] + ["  spaced   out  ", "a-b_c'd"]:
        assert text_to_word_sequence(text) == keras_split(text)
        assert text_to_word_sequence(text, lower=False, split="a") == keras_split(text, lower=False, split="a")

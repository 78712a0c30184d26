"""`keras.preprocessing.text` of Keras 2: Tokenizer and the word-splitting helpers it uses.

Keras 3 dropped this module from its public API; course code still builds vocabularies with it.
"""
from collections import OrderedDict, defaultdict

import numpy as np

from minikeras.utils.argument_validation import check_integer, check_iterable

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """The words of `input_text`: lower-cased if asked, every `filters` character turned into `split`,
    split on `split`, empty words dropped."""
    if not isinstance(input_text, str):
        raise TypeError(f"`input_text` must be a str. Received: input_text={input_text!r} "
                        f"(of type {type(input_text).__name__})")
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [word for word in input_text.split(split) if word]


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Each word of `text` as `hash_function(word) % (n - 1) + 1`, so in [1, n - 1] and never 0.

    `hash_function` defaults to Python's `hash` (salted per process); 'md5' gives stable indices.
    """
    check_integer(n, "n", minimum=2)
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        import hashlib  # here, not at the top: it loads OpenSSL, a tenth of `import minikeras`

        def hash_function(word):
            return int(hashlib.md5(word.encode()).hexdigest(), 16)
    words = text_to_word_sequence(text, filters, lower, split) if analyzer is None else analyzer(text)
    return [hash_function(word) % (n - 1) + 1 for word in words]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """`hashing_trick` with Python's `hash`: word indices in [1, n - 1], not one-hot vectors."""
    return hashing_trick(input_text, n, hash, filters, lower, split, analyzer)


class Tokenizer:
    """Turns texts into sequences of word indices, or into one row of `num_words` values per text.

    `fit_on_texts` ranks words by count (ties keep first-seen order) and numbers them from 1
    (`oov_token`, if given, takes 1); index 0 is never a word. `word_index` holds every word seen;
    `num_words` only limits the conversions to the indices below it. Matrix modes per text and index j
    with c occurrences in a sequence of length L: binary 1, count c, freq c / L,
    tfidf (1 + ln c) * ln(1 + document_count / (1 + documents containing j)).
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, **kwargs):
        num_words = kwargs.pop("nb_words", num_words)
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {kwargs}")
        self.num_words = num_words if num_words is None else check_integer(num_words, "num_words", minimum=1)
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.document_count = document_count
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def _tokens(self, text):
        """A list `text` is taken as its tokens, as is a string with `char_level` (its characters)."""
        if self.char_level or isinstance(text, list):
            if not self.lower:
                return text
            return [token.lower() for token in text] if isinstance(text, list) else text.lower()
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Count the words of `texts` (added to earlier fits) and renumber the whole vocabulary."""
        check_iterable(texts, "texts")
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        by_count = sorted(self.word_counts, key=self.word_counts.get, reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + by_count
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, documents in self.word_docs.items():
            self.index_docs[self.word_index[word]] = documents

    def fit_on_sequences(self, sequences):
        """Count in how many sequences each index occurs (for tfidf) without texts."""
        self.document_count += len(sequences)
        for sequence in sequences:
            for index in set(sequence):
                self.index_docs[index] += 1

    def texts_to_sequences(self, texts):
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Each text as the indices of its known words below `num_words`; others become the oov index or go."""
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            indices = (self._kept_index(self.word_index.get(token), oov_index) for token in self._tokens(text))
            yield [index for index in indices if index is not None]

    def sequences_to_texts(self, sequences):
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Each sequence as its words joined by spaces; unknown or too rare indices as the oov token, or dropped."""
        oov_index = self.word_index.get(self.oov_token)
        for sequence in sequences:
            indices = (self._kept_index(index if index in self.index_word else None, oov_index) for index in sequence)
            yield " ".join(self.index_word[index] for index in indices if index is not None)

    def _kept_index(self, index, oov_index):
        """`index` when known (not None) and below `num_words`; otherwise the oov index (None: drop the word)."""
        if index is None or (self.num_words and index >= self.num_words):
            return oov_index
        return index

    def texts_to_matrix(self, texts, mode="binary"):
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A float64 `(len(sequences), num_words)` array, or `len(word_index) + 1` columns without num_words."""
        if mode not in MATRIX_MODES:
            raise ValueError(f"Unknown vectorization mode: {mode!r}. Expected one of {MATRIX_MODES}")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        lengths = np.array([len(sequence) for sequence in sequences])
        rows = np.repeat(np.arange(len(sequences)), lengths)
        columns = np.fromiter((index for sequence in sequences for index in sequence), dtype=np.int64,
                              count=int(lengths.sum()))
        in_range = columns < width
        counts = np.zeros((len(sequences), width))
        np.add.at(counts, (rows[in_range], columns[in_range]), 1)
        if mode == "count":
            return counts
        if mode == "binary":
            return (counts > 0).astype(counts.dtype)
        if mode == "freq":
            return np.divide(counts, lengths[:, None], out=counts, where=lengths[:, None] > 0)
        documents = np.array([self.index_docs.get(j, 0) for j in range(width)], dtype=np.float64)
        idf = np.log(1 + self.document_count / (1 + documents))
        present = counts > 0
        counts[present] = (1 + np.log(counts[present])) * np.broadcast_to(idf, counts.shape)[present]
        return counts

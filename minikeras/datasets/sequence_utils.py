"""The word-index encoding shared by the IMDB and Reuters data sets."""
from minikeras.utils.argument_validation import check_integer


def check_encoding_arguments(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from):
    """Checked before the download, so a typo costs no wait."""
    for name, value, minimum in (("num_words", num_words, 1), ("maxlen", maxlen, 1), ("start_char", start_char, 0),
                                 ("oov_char", oov_char, 0), ("seed", seed, 0)):
        if value is not None:
            check_integer(value, name, minimum)
    check_integer(skip_top, "skip_top")
    check_integer(index_from, "index_from")


def remove_long_seq(maxlen, seq, label):
    """The sequences shorter than `maxlen` (strictly) and their labels, as two lists."""
    kept = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def shift_word_indices(sequences, start_char, index_from):
    """Each sequence as a list of `word + index_from`, led by `start_char` unless it is None."""
    lead = [] if start_char is None else [start_char]
    return [lead + [word + index_from for word in sequence] for sequence in sequences]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Keep the words w with skip_top <= w < num_words; the others become `oov_char`, or go if it is None.

    Without `num_words` the limit is the largest index present, which itself is then out of range, as in Keras.
    """
    if not num_words:
        num_words = max(max(sequence) for sequence in sequences)
    if oov_char is None:
        return [[w for w in sequence if skip_top <= w < num_words] for sequence in sequences]
    return [[w if skip_top <= w < num_words else oov_char for w in sequence] for sequence in sequences]


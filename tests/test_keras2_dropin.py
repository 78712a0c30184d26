"""Keras 2 course code on minikeras: the course-era scripts, the import hook's `tensorflow.keras` mapping and
isolation, Keras 2 module paths, pad_sequences and Tokenizer (values observed on Keras 3.15.1 and its legacy
tf.keras Tokenizer), and History's Keras 2 spellings."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minikeras.callbacks.history import HistoryDict
from minikeras.preprocessing.text import Tokenizer
from minikeras.utils import np_utils
from minikeras.utils.sequence_utils import pad_sequences

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "keras2"
ADULT = ROOT.parent / "shared" / "data" / "adult" / "adult.data.gz"
HAS_TENSORFLOW = subprocess.run([sys.executable, "-c", "import importlib.util as u; "
                                 "print(u.find_spec('tensorflow') is not None)"],
                                capture_output=True, text=True).stdout.strip() == "True"
needs_tensorflow = pytest.mark.skipif(not HAS_TENSORFLOW, reason="TensorFlow is not installed")


def run(*args, cwd=ROOT):
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "80", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_code(code):
    return run("-c", textwrap.dedent(code)).split("\n")


def without_tensorflow(tmp_path, code):
    """`code` in a Python whose sys.path has no site-packages, only minikeras and a link to NumPy."""
    (tmp_path / "numpy").symlink_to(Path(np.__file__).parent)
    hide = (f"import sys\nsys.path[:] = [p for p in sys.path if 'site-packages' not in p and 'dist-packages' not in p]"
            f" + [{str(tmp_path)!r}, {str(ROOT)!r}]\n")
    return run_code(hide + textwrap.dedent(code))


def numbers_after(label, stdout):
    line = next(line for line in stdout.splitlines() if line.startswith(label))
    return [float(word.strip(",()")) for word in line[len(label):].split() if word.strip(",()")[:1].isdigit()]


# --- the course-era scripts, unchanged, under `python -m minikeras` ---

def test_binary_classification_with_star_imports_dataframe_and_boolean_labels():
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    stdout = run("-m", "minikeras", str(EXAMPLES / "binary_classification.py"))
    assert "epochs: 40" in stdout
    acc, val_acc = numbers_after("final acc:", stdout.replace("val_acc:", ""))
    loss, evaluated_acc = numbers_after("evaluate:", stdout.replace("loss", "").replace("acc", ""))
    assert acc > 0.85 and val_acc > 0.8 and evaluated_acc > 0.85 and loss < 0.5


def test_multiclass_with_np_utils_clear_session_and_acc_metric():
    stdout = run("-m", "minikeras", str(EXAMPLES / "multiclass_np_utils.py"))
    assert "one-hot: (300, 3) float32 [1. 0. 0.] [0. 1. 0.]" in stdout
    assert "│ dense (Dense)                   │ (None, 10)             │            50 │" in stdout
    keras3, = numbers_after("accuracy via Keras 3 name:", stdout)
    keras2, = numbers_after("accuracy via Keras 2 name:", stdout)
    assert keras3 == keras2 > 0.9
    assert "predicted classes: [0 1 2]" in stdout


@pytest.mark.skipif(not ADULT.is_file(), reason=f"the shared Adult data is not at {ADULT}")
def test_adult_overfitting_with_dropout_reads_acc_and_val_acc():
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    stdout = run("-m", "minikeras", str(EXAMPLES / "adult_overfitting.py"), str(ADULT))
    assert "features: (2000, 102) labels: (2000, 2)" in stdout
    for label in ("no dropout acc", "dropout acc"):
        first_acc, last_acc, first_val, last_val = numbers_after(label, stdout.replace("val_acc", ""))
        assert last_acc > first_acc and 0.7 < last_val <= 1


def test_text_tokenizer_and_pad_sequences_script():
    stdout = run("-m", "minikeras", str(EXAMPLES / "text_tokenizer.py"))
    # observed with Keras 3.15.1's legacy tf.keras Tokenizer and keras.utils.pad_sequences
    assert "documents: 6" in stdout
    assert ("word_index: {'<OOV>': 1, 'i': 2, 'this': 3, 'great': 4, 'movie': 5, 'a': 6, 'film': 7, 'terrible': 8, "
            "'and': 9, 'love': 10, 'what': 11, 'loved': 12, 'it': 13, 'was': 14, 'hate': 15, 'acting': 16, "
            "'story': 17, 'boring': 18, 'bad': 19}") in stdout
    assert ("sequences: [[2, 10, 3, 5], [11, 6, 4, 7, 2, 1, 1], [3, 7, 1, 8], [2, 1, 3, 5], [4, 1, 9, 6, 4, 1], "
            "[8, 1, 9, 1]]") in stdout
    assert "[[ 0  2 10  3  5]\n [ 4  7  2  1  1]\n [ 0  3  7  1  8]" in stdout
    assert "[[ 2 10  3  5 -1]\n [11  6  4  7  2]" in stdout
    assert "matrix: (6, 12)" in stdout and "[[0. 0. 0. 0. 2. 1. 0. 0. 0. 0. 0. 0.]]" in stdout


@needs_tensorflow
def test_tensorflow_keras_script_with_real_tensorflow():
    stdout = run("-m", "minikeras", str(EXAMPLES / "tf_keras_regression.py"))
    assert "layer classes: ['Dense', 'Dropout', 'Dense']" in stdout
    assert numbers_after("final mae:", stdout)[0] < 0.5 and numbers_after("final val_mae:", stdout)[0] < 0.5


def test_tensorflow_keras_script_without_tensorflow(tmp_path):
    stdout = without_tensorflow(tmp_path, f"""
        sys.argv = ['minikeras', {str(EXAMPLES / 'tf_keras_regression.py')!r}]
        from minikeras.__main__ import main
        main()
        """)
    assert "layer classes: ['Dense', 'Dropout', 'Dense']" in stdout


# --- the hook: tensorflow.keras, and nothing else ---

def test_stand_in_tensorflow_holds_only_keras(tmp_path):
    lines = without_tensorflow(tmp_path, """
        import minikeras.hook
        minikeras.hook.install()
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras.layers import Dense
        import tensorflow.keras.utils.np_utils as np_utils
        print(keras.__name__, tf.keras.layers.Dense is Dense, np_utils.__name__)
        for attempt in ("tf.constant", "tf.__version__", "__import__('tensorflow.compat')"):
            try:
                eval(attempt)
            except (AttributeError, ImportError) as error:
                print(type(error).__name__, error)
        minikeras.hook.uninstall()
        print(sorted(name for name in sys.modules if name.startswith(('tensorflow', 'keras'))))
        try:
            import tensorflow
        except ImportError as error:
            print(type(error).__name__, error)
        """)
    assert lines[0] == "minikeras True minikeras.utils.np_utils"
    assert lines[1] == ("AttributeError module 'tensorflow' has no attribute 'constant': TensorFlow is not installed, "
                        "and minikeras only provides tensorflow.keras (pip install tensorflow for the rest)")
    assert lines[2].startswith("AttributeError module 'tensorflow' has no attribute '__version__'")
    assert lines[3] == ("ModuleNotFoundError No module named 'tensorflow.compat': TensorFlow is not installed, "
                        "and minikeras only provides tensorflow.keras")
    assert lines[4:6] == ["[]", "ModuleNotFoundError No module named 'tensorflow'"]


@needs_tensorflow
def test_real_tensorflow_stays_real_and_gets_its_keras_back():
    lines = run_code("""
        import sys
        import tensorflow as tf
        original = vars(tf)['keras']
        import minikeras.hook
        minikeras.hook.install()
        import tensorflow.keras.layers
        from tensorflow import keras
        from tensorflow.keras.models import Sequential
        print(keras.__name__, tf.keras.layers.Dense.__module__, Sequential.__module__, int(tf.constant(3)))
        print(sys.modules['tensorflow.keras.layers'].__name__)
        minikeras.hook.uninstall()
        print(vars(tf)['keras'] is original, [n for n in sys.modules if n.startswith('tensorflow.keras')])
        print(tf.keras.layers.Dense.__module__)
        """)
    assert lines[0] == "minikeras minikeras.layers.core minikeras.models.sequential 3"
    assert lines[1] == "minikeras.layers"
    assert lines[2] == "True []"
    assert lines[3] == "keras.src.layers.core.dense"


@needs_tensorflow
def test_tensorflow_imported_under_the_hook_loads_no_real_keras_until_uninstalled():
    lines = run_code("""
        import sys
        import minikeras.hook
        minikeras.hook.install()
        import tensorflow as tf
        print(tf.keras.__name__, any(n == 'keras.src' or n.startswith('keras.src.') for n in sys.modules))
        minikeras.hook.uninstall()
        import keras
        print(keras.__version__.split('.')[0], type(vars(tf)['keras']).__name__, tf.keras.layers.Dense.__module__)
        """)
    assert lines[0] == "minikeras False"
    assert lines[1] == "3 KerasLazyLoader keras.src.layers.core.dense"


def test_ipython_extension_loads_and_unloads():
    lines = run_code("""
        import sys
        import minikeras.hook
        minikeras.hook.load_ipython_extension(None)
        import keras.preprocessing.text
        print(keras.preprocessing.text.Tokenizer.__module__)
        minikeras.hook.unload_ipython_extension(None)
        print([n for n in sys.modules if n == 'keras' or n.startswith('keras.')])
        """)
    assert lines[:2] == ["minikeras.preprocessing.text", "[]"]


def test_keras2_module_paths_and_star_imports():
    lines = run_code("""
        import minikeras.hook
        minikeras.hook.install()
        namespace = {}
        exec('from keras.preprocessing.sequence import *', namespace)
        print(sorted(n for n in namespace if not n.startswith('__')))
        namespace = {}
        exec('from keras.preprocessing.text import *', namespace)
        print(sorted(n for n in namespace if not n.startswith('__')))
        namespace = {}
        exec('from keras.utils.np_utils import *', namespace)
        print(sorted(n for n in namespace if not n.startswith('__')))
        from keras.layers.core import Dense, Dropout, Activation, Flatten
        from keras import initializers, regularizers, activations, losses, metrics, callbacks, optimizers
        from keras.callbacks import EarlyStopping, History
        from keras.backend import clear_session, floatx, epsilon, set_floatx, image_data_format
        print(Dense.__module__, floatx(), epsilon(), image_data_format())
        for statement in ('from keras.layers.convolutional import Conv3D', 'from keras.layers.recurrent import RNN'):
            try:
                exec(statement, {})
            except ImportError as error:
                print(error)
        """)
    assert lines[0] == "['pad_sequences']"
    assert lines[1] == "['Tokenizer', 'hashing_trick', 'one_hot', 'text_to_word_sequence']"
    assert lines[2] == "['normalize', 'to_categorical']"
    assert lines[3] == "minikeras.layers.core float32 1e-07 channels_last"
    assert lines[4] == ("cannot import name 'Conv3D' from 'minikeras.layers.convolutional': minikeras has no "
                        "such convolutional layers yet.")
    assert lines[5] == ("cannot import name 'RNN' from 'minikeras.layers.recurrent': minikeras has no "
                        "such recurrent layers yet.")


def test_unavailable_layer_modules_still_answer_hasattr():
    from minikeras.layers import convolutional, recurrent
    assert not hasattr(convolutional, "NoSuchThing") and not hasattr(recurrent, "__wrapped__")
    with pytest.raises(ImportError, match="minikeras has no such convolutional layers yet"):
        getattr(convolutional, "Conv3D")


# --- np_utils: Keras 2's signature and float32 default ---

def test_np_utils_to_categorical_is_float32_and_takes_keras2_arguments():
    one_hot = np_utils.to_categorical(np.array([True, False, True]))
    assert one_hot.dtype == np.float32 and one_hot.tolist() == [[0, 1], [1, 0], [0, 1]]
    assert np_utils.to_categorical(y=[2], num_classes=4, dtype="int32").tolist() == [[0, 0, 1, 0]]
    assert np_utils.to_categorical([[1], [0]], 2).shape == (2, 2)
    np.testing.assert_allclose(np_utils.normalize([[3.0, 4.0]]), [[0.6, 0.8]])


# --- pad_sequences (observed on keras.utils.pad_sequences, Keras 3.15.1) ---

SEQUENCES = [[1], [2, 3], [4, 5, 6], []]


@pytest.mark.parametrize("kwargs, dtype, expected", [
    ({}, np.int32, [[0, 0, 1], [0, 2, 3], [4, 5, 6], [0, 0, 0]]),
    ({"maxlen": 2}, np.int32, [[0, 1], [2, 3], [5, 6], [0, 0]]),
    ({"maxlen": 2, "truncating": "post"}, np.int32, [[0, 1], [2, 3], [4, 5], [0, 0]]),
    ({"padding": "post", "value": -1}, np.int32, [[1, -1, -1], [2, 3, -1], [4, 5, 6], [-1, -1, -1]]),
    ({"maxlen": 4, "padding": "post", "truncating": "post"}, np.int32,
     [[1, 0, 0, 0], [2, 3, 0, 0], [4, 5, 6, 0], [0, 0, 0, 0]]),
    ({"dtype": "float32", "value": 0.5}, np.float32, [[0.5, 0.5, 1], [0.5, 2, 3], [4, 5, 6], [0.5, 0.5, 0.5]]),
])
def test_pad_sequences_observed_values(kwargs, dtype, expected):
    padded = pad_sequences(SEQUENCES, **kwargs)
    assert padded.dtype == dtype and padded.tolist() == expected


def test_pad_sequences_keeps_feature_axes_and_strings():
    assert pad_sequences([[[1, 2], [3, 4]], [[5, 6]]]).tolist() == [[[1, 2], [3, 4]], [[0, 0], [5, 6]]]
    assert pad_sequences([["a", "bb"], ["c"]], dtype=object, value="").tolist() == [["a", "bb"], ["", "c"]]


@pytest.mark.parametrize("args, kwargs, message", [
    ((SEQUENCES,), {"padding": "middle"}, 'Padding type "middle" not understood'),
    ((SEQUENCES,), {"truncating": "mid", "maxlen": 1}, 'Truncating type "mid" not understood'),
    ((SEQUENCES,), {"value": "x"}, "`dtype` int32 is not compatible with `value`'s type: <class 'str'>\n"
                                   "You should set `dtype=object` for variable length strings."),
    (([1, 2],), {}, "`sequences` must be a list of iterables. Found non-iterable: 1"),
    (([[1, 2], [[3]]],), {}, "Shape of sample (1,) of sequence at position 1 is different from expected shape ()"),
    ((5,), {}, "`sequences` must be iterable."),
])
def test_pad_sequences_errors_in_keras_words(args, kwargs, message):
    with pytest.raises(ValueError) as error:
        pad_sequences(*args, **kwargs)
    assert str(error.value) == message


# --- Tokenizer (observed on Keras 3.15.1's legacy tf.keras Tokenizer) ---

def fitted(**kwargs):
    tokenizer = Tokenizer(**kwargs)
    tokenizer.fit_on_texts(["The cat sat on the mat.", "The dog sat!", "A cat, a dog."])
    return tokenizer


def test_tokenizer_vocabulary_and_sequences():
    tokenizer = fitted(num_words=4, oov_token="<OOV>")
    assert tokenizer.word_index == {"<OOV>": 1, "the": 2, "cat": 3, "sat": 4, "dog": 5, "a": 6, "on": 7, "mat": 8}
    assert dict(tokenizer.word_counts) == {"the": 3, "cat": 2, "sat": 2, "on": 1, "mat": 1, "dog": 2, "a": 2}
    assert dict(tokenizer.word_docs) == {"on": 1, "the": 2, "cat": 2, "mat": 1, "sat": 2, "dog": 2, "a": 1}
    assert tokenizer.document_count == 3
    assert tokenizer.texts_to_sequences(["the cat and the bird", "dog sat"]) == [[2, 3, 1, 2, 1], [1, 1]]
    assert fitted().texts_to_sequences(["the cat and the bird"]) == [[1, 2, 1]]


@pytest.mark.parametrize("mode, expected", [
    ("binary", [[0, 1, 1, 1], [0, 1, 0, 0]]),
    ("count", [[0, 1, 2, 1], [0, 2, 0, 0]]),
    ("freq", [[0, 0.25, 0.5, 0.25], [0, 1, 0, 0]]),
    ("tfidf", [[0, 1.386294, 1.1736, 0.693147], [0, 2.3472, 0, 0]]),
])
def test_tokenizer_matrix_modes(mode, expected):
    matrix = fitted(num_words=4, oov_token="<OOV>").texts_to_matrix(["the cat the bird", "a dog"], mode=mode)
    assert matrix.dtype == np.float64
    np.testing.assert_allclose(matrix, expected, atol=5e-7)


def test_tokenizer_char_level_and_custom_split():
    chars = Tokenizer(char_level=True)
    chars.fit_on_texts(["abca", "Bd"])
    assert chars.word_index == {"a": 1, "b": 2, "c": 3, "d": 4} and chars.texts_to_sequences(["dab"]) == [[4, 1, 2]]
    words = Tokenizer(lower=False, filters="", split=",")
    words.fit_on_texts(["A,b,A", "b!,c"])
    assert words.word_index == {"A": 1, "b": 2, "b!": 3, "c": 4}


def test_tokenizer_errors():
    with pytest.raises(ValueError, match=r"Specify a dimension \(`num_words` argument\), or fit on some text"):
        Tokenizer().texts_to_matrix(["x"])
    with pytest.raises(ValueError, match="Fit the Tokenizer on some data before using tfidf mode."):
        Tokenizer(num_words=3).texts_to_matrix([], mode="tfidf")
    with pytest.raises(ValueError, match="Unknown vectorization mode: 'onehot'"):
        fitted().texts_to_matrix(["the"], mode="onehot")
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        Tokenizer(max_words=3)


# --- History: Keras 2 spellings readable, Keras 3 names shown ---

def test_history_dict_reads_both_spellings_and_shows_logged_names():
    history = HistoryDict(accuracy=[0.5], loss=[1.0], val_accuracy=[0.4], val_loss=[1.2], mae=[0.3])
    assert history["acc"] is history["accuracy"] and history["val_acc"] is history["val_accuracy"]
    assert history["mean_absolute_error"] is history["mae"]
    assert "acc" in history and "val_acc" in history and history.get("val_acc") == [0.4]
    assert list(history) == ["accuracy", "loss", "val_accuracy", "val_loss", "mae"]
    assert "val_mae" not in history and history.get("mse", "absent") == "absent"
    with pytest.raises(KeyError, match="val_mae"):
        history["val_mae"]
    given_as_acc = HistoryDict(acc=[0.7], val_acc=[0.6])
    assert given_as_acc["accuracy"] == [0.7] and given_as_acc["val_accuracy"] == [0.6]


@pytest.mark.parametrize("metric, logged", [("accuracy", "accuracy"), ("acc", "acc")])
def test_fit_history_answers_keras2_and_keras3_accuracy_names(metric, logged):
    from minikeras import Input, Sequential
    from minikeras.layers import Dense
    x = np.random.default_rng(0).random((20, 3)).astype("float32")
    model = Sequential([Input((3,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[metric])
    history = model.fit(x=x, y=x.sum(axis=1) > 1.5, epochs=2, verbose=0, validation_split=0.25).history
    assert sorted(history) == sorted([logged, "loss", f"val_{logged}", "val_loss"])
    assert history["acc"] == history["accuracy"] and len(history["val_acc"]) == 2
    assert history["val_accuracy"] is history["val_acc"]


def test_keras2_star_imports_hand_out_what_course_code_leans_on():
    import subprocess
    import sys

    code = ("import minikeras\nminikeras.hook.install()\nns = {}\n"
            "exec('from keras.layers import *\\nfrom keras.models import *\\nfrom keras.utils import *', ns)\n"
            "print(ns['np'].__name__, callable(ns['K'].clear_session), callable(ns['np_utils'].to_categorical), "
            "callable(ns['pad_sequences']), ns['Input'].__module__, ns['Dense'].__module__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["numpy", "True", "True", "True", "minikeras.layers.input_layer",
                                     "minikeras.layers.core"], result.stderr

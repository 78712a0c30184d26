"""`.h5` files move between real tf.keras 2 (the `tf_keras` package) and minikeras: tf.keras 2's full
models (architecture, weights, loss) and weights-only files load in minikeras, by layer order and by
layer name, and tf.keras 2 reads the weights of minikeras's model files. The strict xfails record what
does not carry over yet: Keras 2's recurrent configs and metric lists, tf.keras 2's Adam state, and
Keras 3-style model configs in tf.keras 2."""
import os

import numpy as np
import pytest

import minikeras
from minikeras import backend

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf_keras = pytest.importorskip("tf_keras", reason="tf.keras 2 (tf_keras) is not installed")

PREDICTION_TOLERANCE = 1e-6
TRAINING_TOLERANCE = 1e-5
SAMPLES = 24


def mlp(k):
    return k.Sequential([k.layers.Dense(8, activation="relu", input_shape=(4,)), k.layers.Dropout(0.25),
                         k.layers.Dense(2)])


def cnn(k):
    """The course's CNN on 12x12 images instead of 28x28."""
    return k.Sequential([k.layers.Conv2D(4, (5, 5), padding="valid", activation="relu", input_shape=(12, 12, 1)),
                         k.layers.MaxPool2D(),
                         k.layers.Conv2D(4, (3, 3), padding="same", activation="relu"),
                         k.layers.MaxPool2D(),
                         k.layers.Flatten(),
                         k.layers.Dense(3, activation="softmax")])


def recurrent(k):
    return k.Sequential([k.layers.LSTM(4, return_sequences=True, input_shape=(5, 3)), k.layers.GRU(3),
                         k.layers.Dense(2)])


def batch_norm(k):
    # No bias before BatchNormalization: its gradient is exactly zero there, and Adam would turn the
    # two libraries' rounding noise in it into full-size steps.
    return k.Sequential([k.layers.Dense(6, use_bias=False, input_shape=(4,)), k.layers.BatchNormalization(),
                         k.layers.Dense(2)])


def two_inputs(k):
    a, b = k.Input((3,), name="a"), k.Input((2,), name="b")
    hidden = k.layers.Dense(4, activation="tanh")(k.layers.Concatenate()([a, b]))
    return k.Model([a, b], k.layers.Dense(2)(hidden))


def embedding(k):
    return k.Sequential([k.layers.Embedding(10, 3, input_shape=(5,)), k.layers.Flatten(), k.layers.Dense(2)])


ARCHITECTURES = {"mlp": mlp, "cnn": cnn, "recurrent": recurrent, "batch_norm": batch_norm,
                 "two_inputs": two_inputs, "embedding": embedding}
# tf.keras 2 writes Keras 2's `time_major` in LSTM and GRU configs (Keras 3 rejects it; minikeras drops it).
FROM_TF_KERAS_2 = list(ARCHITECTURES)
# Dropout draws its masks from each library's own generator, so a training step cannot match.
RESUMABLE = [name for name in ARCHITECTURES if name != "mlp"]


def data(name):
    rng = np.random.default_rng(0)
    x = {"mlp": lambda: rng.normal(size=(SAMPLES, 4)),
         "cnn": lambda: rng.normal(size=(SAMPLES, 12, 12, 1)),
         "recurrent": lambda: rng.normal(size=(SAMPLES, 5, 3)),
         "batch_norm": lambda: rng.normal(2.0, 3.0, size=(SAMPLES, 4)),
         "two_inputs": lambda: [rng.normal(size=(SAMPLES, 3)), rng.normal(size=(SAMPLES, 2))],
         "embedding": lambda: rng.integers(0, 10, size=(SAMPLES, 5))}[name]()
    x = [part.astype("float32") for part in x] if isinstance(x, list) else x.astype("float32")
    if name == "cnn":
        return x, np.eye(3, dtype="float32")[rng.integers(0, 3, SAMPLES)]
    return x, rng.normal(size=(SAMPLES, 2)).astype("float32")


def built(k, name):
    """The architecture with fresh layer-name counters, so both libraries name its layers alike."""
    (tf_keras.backend if k is tf_keras else backend).clear_session()
    return ARCHITECTURES[name](k)


def compiled(k, name, metrics=None):
    model = built(k, name)
    model.compile(optimizer=k.optimizers.Adam(0.01),
                  loss="categorical_crossentropy" if name == "cnn" else "mse", metrics=metrics)
    return model


def trained(k, name, metrics=None):
    model = compiled(k, name, metrics)
    model.fit(*data(name), epochs=2, batch_size=8, shuffle=False, verbose=0)
    return model


def assert_same_predictions(expected_model, actual_model, x):
    np.testing.assert_allclose(np.asarray(actual_model(x)), np.asarray(expected_model(x)),
                               rtol=PREDICTION_TOLERANCE, atol=PREDICTION_TOLERANCE)


def assert_same_weights(expected, actual):
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(a, e, rtol=TRAINING_TOLERANCE, atol=PREDICTION_TOLERANCE)


def assert_same_evaluation(expected_model, actual_model, x, y):
    expected = expected_model.evaluate(x, y, verbose=0, return_dict=True)
    actual = actual_model.evaluate(x, y, verbose=0, return_dict=True)
    assert actual.keys() == expected.keys()
    np.testing.assert_allclose([actual[key] for key in expected], list(expected.values()), rtol=TRAINING_TOLERANCE)


def one_more_step(model, x, y):
    model.train_on_batch(x, y)
    return model.get_weights()


def saved_by_tf_keras_2(tmp_path, name, metrics=None):
    original = trained(tf_keras, name, metrics)
    path = str(tmp_path / "model.h5")
    original.save(path)
    return original, path


@pytest.mark.parametrize("name", FROM_TF_KERAS_2)
def test_tf_keras_2_model_file_loads_in_minikeras(tmp_path, name):
    x, y = data(name)
    original, path = saved_by_tf_keras_2(tmp_path, name)
    loaded = minikeras.models.load_model(path)
    assert_same_predictions(original, loaded, x)
    assert_same_evaluation(original, loaded, x, y)


def test_tf_keras_2_model_file_with_metrics_loads_in_minikeras(tmp_path):
    x, y = data("mlp")
    original, path = saved_by_tf_keras_2(tmp_path, "mlp", metrics=["mae"])
    loaded = minikeras.models.load_model(path)
    assert_same_predictions(original, loaded, x)
    assert_same_evaluation(original, loaded, x, y)


# tf.keras 2 keeps no learning rate among its optimizer weights: minikeras puts the compiled one in its place.
EMBEDDING_UPDATE = pytest.mark.xfail(
    strict=True, raises=AssertionError,
    reason="after loading tf.keras 2's Embedding model, the next Adam step differs beyond 1e-5 (not yet explained)")


@pytest.mark.parametrize("name", [pytest.param(name, marks=EMBEDDING_UPDATE) if name == "embedding" else name
                                  for name in RESUMABLE])
def test_tf_keras_2_model_file_resumes_training_in_minikeras(tmp_path, name):
    x, y = data(name)
    original, path = saved_by_tf_keras_2(tmp_path, name)
    loaded = minikeras.models.load_model(path)
    assert_same_weights(one_more_step(original, x, y), one_more_step(loaded, x, y))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_tf_keras_2_weights_file_loads_in_minikeras(tmp_path, name, by_name):
    original = trained(tf_keras, name)
    path = str(tmp_path / "weights.h5")
    original.save_weights(path)

    rebuilt = built(minikeras, name)
    rebuilt.load_weights(path, by_name=by_name)
    assert_same_predictions(original, rebuilt, data(name)[0])


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_minikeras_model_file_loads_in_tf_keras_2(tmp_path, name):
    x, y = data(name)
    original = trained(minikeras, name)
    path = str(tmp_path / "model.h5")
    original.save(path)

    loaded = tf_keras.models.load_model(path)
    assert_same_predictions(original, loaded, x)
    assert_same_evaluation(original, loaded, x, y)


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_tf_keras_2_reads_the_weights_of_a_minikeras_model_file(tmp_path, name, by_name):
    original = trained(minikeras, name)
    path = str(tmp_path / "model.h5")
    original.save(path)

    rebuilt = built(tf_keras, name)
    rebuilt.load_weights(path, by_name=by_name)
    assert_same_predictions(original, rebuilt, data(name)[0])

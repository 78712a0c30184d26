"""`.keras` and `.weights.h5` files move both ways between minikeras and real Keras 3: same predictions,
and the optimizer state travels too (the next training step after loading equals the step the saved
model takes itself)."""
import numpy as np
import pytest

import minikeras
from minikeras.saving import load_model, load_weights, save_model, save_weights

PREDICTION_TOLERANCE = 1e-6


def mlp(k):
    return k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"), k.layers.Dense(2)])


def cnn(k):
    return k.Sequential([k.Input((8, 8, 1)), k.layers.Conv2D(4, 3, activation="relu"), k.layers.MaxPool2D(),
                         k.layers.Flatten(), k.layers.Dense(3, activation="softmax")])


def recurrent(k):
    return k.Sequential([k.Input((5, 3)), k.layers.LSTM(4, return_sequences=True), k.layers.GRU(3),
                         k.layers.Dense(2)])


def batch_norm(k):
    # No bias before BatchNormalization: its gradient is exactly zero there, and Adam would turn the
    # two libraries' rounding noise in it into full-size steps.
    return k.Sequential([k.Input((4,)), k.layers.Dense(6, use_bias=False), k.layers.BatchNormalization(),
                         k.layers.Dense(2)])


def two_inputs(k):
    a, b = k.Input((3,), name="a"), k.Input((2,), name="b")
    hidden = k.layers.Dense(4, activation="tanh")(k.layers.Concatenate()([a, b]))
    return k.Model([a, b], k.layers.Dense(2)(hidden))


def embedding(k):
    return k.Sequential([k.Input((5,)), k.layers.Embedding(10, 3), k.layers.Flatten(), k.layers.Dense(2)])


def nested(k):
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Dense(3)], name="inner")
    x = k.Input((4,))
    merged = k.layers.Concatenate()([inner(x), k.layers.Dense(3)(x)])
    functional = k.Model(x, k.layers.Dense(2)(merged))
    return k.Sequential([k.Input((4,)), functional, k.layers.Dense(1)])


def wrappers(k):
    return k.Sequential([k.Input((5, 3)), k.layers.Bidirectional(k.layers.LSTM(2, return_sequences=True)),
                         k.layers.TimeDistributed(k.layers.Dense(2)), k.layers.SimpleRNN(2)])


def data(name):
    rng = np.random.default_rng(0)
    n = 24
    x = {"mlp": lambda: rng.normal(size=(n, 4)),
         "nested": lambda: rng.normal(size=(n, 4)),
         "wrappers": lambda: rng.normal(size=(n, 5, 3)),
         "cnn": lambda: rng.normal(size=(n, 8, 8, 1)),
         "recurrent": lambda: rng.normal(size=(n, 5, 3)),
         "batch_norm": lambda: rng.normal(2.0, 3.0, size=(n, 4)),
         "two_inputs": lambda: [rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")],
         "embedding": lambda: rng.integers(0, 10, size=(n, 5)).astype("float32")}[name]()
    x = x if isinstance(x, list) else x.astype("float32")
    if name == "cnn":
        return x, np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, rng.normal(size=(n, 1 if name == "nested" else 2)).astype("float32")


ARCHITECTURES = {"mlp": mlp, "cnn": cnn, "recurrent": recurrent, "batch_norm": batch_norm,
                 "two_inputs": two_inputs, "embedding": embedding, "nested": nested, "wrappers": wrappers}


def compiled(k, name):
    model = ARCHITECTURES[name](k)
    model.compile(optimizer=k.optimizers.Adam(0.01),
                  loss="categorical_crossentropy" if name == "cnn" else "mse", metrics=["mae"])
    return model


def next_step(model, x, y):
    """Weights after one more full-batch training step."""
    model.fit(x, y, epochs=1, batch_size=len(y), shuffle=False, verbose=0)
    return model.get_weights()


def assert_same_predictions(expected_model, actual_model, x):
    # Calling the model (inference mode) gives predict's values without tracing Keras's predict function.
    np.testing.assert_allclose(np.asarray(actual_model(x)), np.asarray(expected_model(x)),
                               rtol=PREDICTION_TOLERANCE, atol=PREDICTION_TOLERANCE)


def assert_same_weights(expected, actual):
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=PREDICTION_TOLERANCE)


def library_calls(k):
    """save_model, save_weights, load_model, load_weights for one library (minikeras's until wired)."""
    if k is minikeras:
        return save_model, save_weights, load_model, load_weights
    return (lambda m, p: m.save(p), lambda m, p: m.save_weights(p), k.models.load_model,
            lambda m, p: m.load_weights(p))


# The wrappers' recurrent layers make Keras's training functions slow to trace; their files are checked
# without training (test_weights_file_layout_is_keras) to keep this module fast.
CROSS_OVER = [name for name in ARCHITECTURES if name != "wrappers"]


@pytest.mark.parametrize("direction", ["keras_to_minikeras", "minikeras_to_keras"])
@pytest.mark.parametrize("name", CROSS_OVER)
def test_files_cross_over(keras, tmp_path, name, direction):
    source, target = (keras, minikeras) if direction == "keras_to_minikeras" else (minikeras, keras)
    save, save_w, _, _ = library_calls(source)
    _, _, load, load_w = library_calls(target)
    x, y = data(name)
    original = compiled(source, name)
    original.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    save(original, str(tmp_path / "model.keras"))
    save_w(original, str(tmp_path / "model.weights.h5"))

    loaded = load(str(tmp_path / "model.keras"))
    assert_same_predictions(original, loaded, x)

    rebuilt = compiled(target, name)
    rebuilt.optimizer.build(rebuilt.trainable_variables)
    load_w(rebuilt, str(tmp_path / "model.weights.h5"))
    assert_same_predictions(original, rebuilt, x)

    expected = next_step(original, x, y)
    assert_same_weights(expected, next_step(loaded, x, y))
    assert_same_weights(expected, next_step(rebuilt, x, y))


def test_keras_reads_the_optimizer_groups_minikeras_writes(keras, tmp_path):
    x, y = data("mlp")
    ours = compiled(minikeras, "mlp")
    ours.fit(x, y, epochs=1, batch_size=8, verbose=0)
    save_model(ours, str(tmp_path / "m.keras"))
    theirs = keras.models.load_model(str(tmp_path / "m.keras"))
    assert int(theirs.optimizer.iterations) == ours.optimizer.iterations == 3
    for expected, actual in zip(ours.optimizer.variables, theirs.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(actual), expected.value)


def without_shared_object_ids(config):
    """Keras marks repeated objects (the dtype policy) with `shared_object_id`, an id() of the saving process."""
    if isinstance(config, dict):
        return {key: without_shared_object_ids(value) for key, value in config.items() if key != "shared_object_id"}
    if isinstance(config, list):
        return [without_shared_object_ids(value) for value in config]
    return config



@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_config_json_is_keras_for_the_same_model(keras, tmp_path, name):
    import json
    import zipfile

    def config_of(k):
        path = str(tmp_path / f"{k.__name__}.keras")
        library_calls(k)[0](compiled(k, name), path)
        with zipfile.ZipFile(path) as archive:
            assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
            assert list(json.loads(archive.read("metadata.json"))) == ["keras_version", "date_saved"]
            return without_shared_object_ids(json.loads(archive.read("config.json")))

    theirs, ours = config_of(keras), config_of(minikeras)
    assert list(ours) == list(theirs)
    assert ours == theirs


def h5_layout(path):
    """Every group and dataset of an HDF5 file: path -> (dataset shape and dtype, or the group's attributes)."""
    import h5py

    items = {}

    def visit(name, item):
        items[name] = (item.shape, str(item.dtype)) if isinstance(item, h5py.Dataset) else dict(item.attrs).keys()

    with h5py.File(path, "r") as file:
        file.visititems(visit)
    return items


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_weights_file_layout_is_keras(keras, tmp_path, name):
    """The same groups, dataset names, shapes and dtypes as Keras writes, optimizer slots included; and
    each library's untrained weights give the same predictions in the other."""
    theirs, ours = compiled(keras, name), compiled(minikeras, name)
    theirs.optimizer.build(theirs.trainable_variables)
    ours.optimizer.build(ours.trainable_weights)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    save_weights(ours, str(tmp_path / "minikeras.weights.h5"))
    assert h5_layout(tmp_path / "minikeras.weights.h5") == h5_layout(tmp_path / "keras.weights.h5")
    x = data(name)[0]
    theirs.load_weights(str(tmp_path / "minikeras.weights.h5"))
    assert_same_predictions(ours, theirs, x)
    theirs.load_weights(str(tmp_path / "keras.weights.h5"))
    load_weights(ours, str(tmp_path / "keras.weights.h5"))
    assert_same_predictions(theirs, ours, x)


def subclassed(k):
    class TwoDense(k.Model):
        def __init__(self):
            super().__init__()
            self.hidden = k.layers.Dense(3, activation="relu")
            self.out = k.layers.Dense(1)  # sorts after "layers": Keras saves it as layers/dense_1

        def call(self, x):
            return self.out(self.hidden(x))

    model = TwoDense()
    model(np.zeros((1, 4), "float32"))
    return model


def test_subclassed_model_weights_layout_and_values(keras, tmp_path):
    theirs, ours = subclassed(keras), subclassed(minikeras)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    save_weights(ours, str(tmp_path / "minikeras.weights.h5"))
    assert h5_layout(tmp_path / "minikeras.weights.h5") == h5_layout(tmp_path / "keras.weights.h5")
    load_weights(ours, str(tmp_path / "keras.weights.h5"))
    x = data("mlp")[0]
    assert_same_predictions(theirs, ours, x)


@pytest.mark.parametrize("direction", ["keras_to_minikeras", "minikeras_to_keras"])
def test_loss_and_metric_objects_cross_over(keras, tmp_path, direction):
    """compile_config with objects (loss options, metric classes, a named metric) rebuilds the same evaluation."""
    source, target = (keras, minikeras) if direction == "keras_to_minikeras" else (minikeras, keras)
    model = source.Sequential([source.Input((4,)), source.layers.Dense(3)])
    model.compile(source.optimizers.SGD(0.1, momentum=0.9),
                  source.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                  metrics=[source.metrics.CategoricalAccuracy(), "accuracy", source.metrics.AUC(name="auc")])
    x = np.random.default_rng(0).random((12, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(12) % 3]
    model.fit(x, y, epochs=1, verbose=0)
    library_calls(source)[0](model, str(tmp_path / "m.keras"))
    loaded = library_calls(target)[2](str(tmp_path / "m.keras"))
    assert loaded.loss.get_config() == model.loss.get_config()
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    actual = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert list(actual) == list(expected)
    np.testing.assert_allclose(list(actual.values()), list(expected.values()), rtol=1e-6)

"""The legacy Keras 2 `.h5` formats (full model and weights only) and the JSON architecture format within
minikeras: round trips, exact resumption, Keras 2's spellings, atomic writes, and clear errors for bad files."""
import json
import os
import re

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.saving import json_format, legacy_h5, load_model, load_weights, save_model
from tests.test_saving import assert_same_state, data, mlp, trained, two_inputs


def batch_norm_model():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, use_bias=False), layers.BatchNormalization(),
                              layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mae")
    return model


def attributes(path):
    with h5py.File(path, "r") as file:
        return {key: value.decode() if isinstance(value, bytes) else value for key, value in file.attrs.items()}


# ------------------------------------------------------------------------------- hand-built Keras 2 files
def keras2_dense(name, units, activation="linear", **extra):
    """A Dense entry as tf.keras 2 wrote it: string dtype, initializers without module keys."""
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, **extra, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def keras2_batch_norm(name):
    """tf.keras 2 wrote BatchNormalization's axis as a one-element list."""
    initializers = {f"{weight}_initializer": {"class_name": kind, "config": {}} for weight, kind in
                    (("beta", "Zeros"), ("gamma", "Ones"), ("moving_mean", "Zeros"), ("moving_variance", "Ones"))}
    return {"class_name": "BatchNormalization", "config": {
        "name": name, "trainable": True, "dtype": "float32", "axis": [1], "momentum": 0.99, "epsilon": 0.001,
        "center": True, "scale": True, **initializers, "beta_regularizer": None, "gamma_regularizer": None,
        "beta_constraint": None, "gamma_constraint": None}}


def keras2_input(name, width, functional=False):
    entry = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, width], "dtype": "float32",
                                                    "sparse": False, "ragged": False, "name": name}}
    return {**entry, "name": name, "inbound_nodes": []} if functional else entry


def keras2_sequential():
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        keras2_input("dense_input", 4), keras2_dense("dense", 8, "relu", batch_input_shape=[None, 4]),
        {"class_name": "Dropout", "config": {"name": "dropout", "trainable": True, "dtype": "float32", "rate": 0.5,
                                             "noise_shape": None, "seed": None}},
        keras2_batch_norm("batch_normalization"), keras2_dense("dense_1", 2, "softmax")]}}


def keras2_functional():
    """Two inputs, Keras 2's list-style inbound nodes and [[name, node, tensor]] inputs and outputs."""
    def called(entry, *inputs):
        return {**entry, "name": entry["config"]["name"], "inbound_nodes": [[[name, 0, 0, {}] for name in inputs]]}

    concatenate = {"class_name": "Concatenate", "config": {"name": "concatenate", "trainable": True,
                                                           "dtype": "float32", "axis": -1}}
    return {"class_name": "Functional", "config": {"name": "model", "layers": [
        keras2_input("a", 3, functional=True), keras2_input("b", 2, functional=True),
        called(concatenate, "a", "b"), called(keras2_dense("dense", 4, "tanh"), "concatenate"),
        called(keras2_batch_norm("batch_normalization"), "dense"),
        called(keras2_dense("dense_1", 2), "batch_normalization")],
        "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}


# tf.keras 2.11+: a "Custom>" optimizer with keys Keras 3 dropped, reduction "auto", wrapped metrics.
KERAS2_TRAINING_CONFIG = {
    "loss": {"class_name": "CategoricalCrossentropy", "config": {
        "reduction": "auto", "name": "categorical_crossentropy", "from_logits": False, "label_smoothing": 0.0,
        "axis": -1}},
    "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", "dtype": "float32",
                                                                "fn": "categorical_accuracy"}}]],
    "weighted_metrics": None, "loss_weights": None,
    "optimizer_config": {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
        "is_legacy_optimizer": False, "learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
        "amsgrad": False}}}


def keras2_weights(config, seed=0):
    """{layer name: [(Keras 2 weight name, array)]} for the Dense and BatchNormalization layers of a config."""
    rng = np.random.default_rng(seed)
    weights, width = {}, 0
    for entry in config["config"]["layers"]:
        options = entry["config"]
        if entry["class_name"] == "InputLayer":
            width = (width if config["class_name"] == "Functional" else 0) + options["batch_input_shape"][-1]
        elif entry["class_name"] == "Dense":
            weights[options["name"]] = [("kernel:0", (width, options["units"])), ("bias:0", (options["units"],))]
            width = options["units"]
        elif entry["class_name"] == "BatchNormalization":
            weights[options["name"]] = [(f"{name}:0", (width,)) for name in
                                        ("gamma", "beta", "moving_mean", "moving_variance")]
    return {layer: [(name, rng.uniform(0.5, 1.5, shape).astype("float32")) for name, shape in entries]
            for layer, entries in weights.items()}


def write_keras2_weights(group, config, weights):
    """Keras 2's `save_weights('w.h5')` layout in `group` (a Sequential's InputLayer is not in its layers)."""
    names = [entry["config"]["name"] for entry in config["config"]["layers"]
             if not (entry["class_name"] == "InputLayer" and config["class_name"] == "Sequential")]
    group.attrs["layer_names"] = [name.encode() for name in names]
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.13.1"
    for name in names:
        layer_group = group.create_group(name)
        layer_group.attrs["weight_names"] = [f"{name}/{weight}".encode() for weight, _ in weights.get(name, [])]
        for weight, value in weights.get(name, []):
            layer_group[f"{name}/{weight}"] = value


def write_keras2_model(path, config, weights, training_config=KERAS2_TRAINING_CONFIG):
    with h5py.File(path, "w") as file:
        file.attrs["keras_version"] = b"2.13.1"
        file.attrs["backend"] = b"tensorflow"
        file.attrs["model_config"] = json.dumps(config).encode()
        if training_config is not None:
            file.attrs["training_config"] = json.dumps(training_config).encode()
        write_keras2_weights(file.create_group("model_weights"), config, weights)


def write_keras2_weights_file(path, config, weights):
    with h5py.File(path, "w") as file:
        write_keras2_weights(file, config, weights)


def assert_has_weights(model, weights):
    for name, entries in weights.items():
        for variable, (_, value) in zip(model.get_layer(name).weights, entries):
            np.testing.assert_array_equal(variable.value, value)


# ------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("build, inputs", [(mlp, 1), (two_inputs, 2), (batch_norm_model, 1)],
                         ids=["sequential", "functional_nested", "batch_norm"])
def test_h5_round_trip_and_exact_resumption(tmp_path, build, inputs):
    x, y = data(inputs)
    model = trained(build(), inputs)
    save_model(model, tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5")
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert_same_state(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for resumed in (model, loaded):
        resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert_same_state(model, loaded)


def test_h5_layout_is_keras_2s(tmp_path):
    model = trained(mlp())
    save_model(model, tmp_path / "m.hdf5")
    root = attributes(tmp_path / "m.hdf5")
    assert sorted(root) == ["backend", "keras_version", "model_config", "training_config"]
    config = json.loads(root["model_config"])
    assert config["class_name"] == "Sequential"
    assert [list(entry) for entry in config["config"]["layers"]] == [["class_name", "config"]] * 3
    training = json.loads(root["training_config"])
    assert training["loss"] == "mean_squared_error"  # Keras 3 cannot read "mse" back; both Keras read this
    assert training["optimizer_config"]["class_name"] == "Adam"
    assert "optimizer" not in training
    with h5py.File(tmp_path / "m.hdf5", "r") as file:
        group = file["model_weights"]
        assert legacy_h5._strings(group, "layer_names") == ["dense", "dense_1"]
        assert sorted(group) == ["dense", "dense_1", "top_level_model_weights"]
        kernel, bias = (group["dense"][name] for name in legacy_h5._strings(group["dense"], "weight_names"))
        np.testing.assert_array_equal(kernel, model.layers[0].kernel.value)
        np.testing.assert_array_equal(bias, model.layers[0].bias.value)
        names = legacy_h5._strings(file["optimizer_weights"], "weight_names")
        assert len(names) == len(model.optimizer.variables) == 10
        assert file["optimizer_weights"][names[0]][()] == model.optimizer.iterations == 6


def test_batch_norm_weights_are_in_keras_2_order(tmp_path):
    model = batch_norm_model()
    save_model(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as file:
        names = legacy_h5._strings(file["model_weights/batch_normalization"], "weight_names")
    assert [name.split("/")[-1] for name in names] == ["gamma", "beta", "moving_mean", "moving_variance"]


def test_uncompiled_model_include_optimizer_and_compile_false(tmp_path):
    plain = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    save_model(plain, tmp_path / "plain.h5")
    assert "training_config" not in attributes(tmp_path / "plain.h5")
    assert not load_model(tmp_path / "plain.h5").compiled
    save_model(trained(mlp()), tmp_path / "bare.h5", include_optimizer=False)
    with h5py.File(tmp_path / "bare.h5", "r") as file:
        assert "optimizer_weights" not in file and "training_config" not in file.attrs
    save_model(trained(mlp()), tmp_path / "full.h5")
    loaded = load_model(tmp_path / "full.h5", compile=False)
    assert not loaded.compiled


def test_load_weights_from_a_full_model_file(tmp_path):
    model = trained(mlp())
    save_model(model, tmp_path / "m.h5")
    other = mlp()
    load_weights(other, tmp_path / "m.h5")
    for expected, actual in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(actual, expected)


def test_long_name_lists_are_split_as_keras_splits_them(tmp_path):
    names = [f"layer_{index:05d}" for index in range(6000)]
    with h5py.File(tmp_path / "w.h5", "w") as file:
        legacy_h5._write_strings(file, "layer_names", names)
        assert "layer_names" not in file.attrs and "layer_names1" in file.attrs
        assert legacy_h5._strings(file, "layer_names") == names


# ----------------------------------------------------------------------------- Keras 2's own files
@pytest.mark.parametrize("config, inputs", [(keras2_sequential, 1), (keras2_functional, 2)],
                         ids=["sequential", "functional"])
def test_keras_2_model_file_loads(tmp_path, config, inputs):
    config = config()
    weights = keras2_weights(config)
    write_keras2_model(tmp_path / "k2.h5", config, weights)
    model = load_model(tmp_path / "k2.h5")
    assert model.get_layer("batch_normalization").axis == 1
    assert_has_weights(model, weights)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    assert model.loss.get_config()["reduction"] == "sum_over_batch_size"
    x = data(2)[0] if inputs == 2 else data()[0]
    assert model.predict(x, verbose=0).shape == (20, 2)


def test_keras_2_weights_file_loads_by_order_and_by_name(tmp_path):
    config = keras2_sequential()
    weights = keras2_weights(config)
    write_keras2_weights_file(tmp_path / "w.h5", config, weights)
    model = keras.models.Sequential.from_config(legacy_h5.normalize_config(config)["config"])
    load_weights(model, tmp_path / "w.h5")
    assert_has_weights(model, weights)

    renamed = keras.Sequential([keras.Input((4,)), layers.Dense(8, name="dense"), layers.Dense(5, name="other"),
                                layers.BatchNormalization(name="batch_normalization")])
    with pytest.raises(ValueError, match=r"w.h5' into layer 'other' \(saved as 'batch_normalization'\)"):
        load_weights(renamed, tmp_path / "w.h5")
    before = renamed.get_layer("other").get_weights()
    # By name, a layer the file does not name keeps its weights; a mismatched one is skipped with a warning.
    renamed.pop()
    renamed.add(layers.BatchNormalization(name="batch_normalization"))
    renamed.get_layer("batch_normalization").build((None, 5))
    with pytest.warns(UserWarning, match="Skipping loading weights .* 'batch_normalization'"):
        legacy_h5.load_weights(renamed, tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(renamed.get_layer("dense").kernel.value, weights["dense"][0][1])
    for expected, actual in zip(before, renamed.get_layer("other").get_weights()):
        np.testing.assert_array_equal(actual, expected)


def test_normalize_config_leaves_keras_3_entries_alone():
    entry = {"module": "keras.layers", "class_name": "LayerNormalization", "config": {"axis": [-1]},
             "registered_name": None}
    assert legacy_h5.normalize_config(entry) == entry


# ------------------------------------------------------------------------------------ atomic writes
def test_failed_h5_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.h5"
    save_model(mlp(), path)
    good = path.read_bytes()

    def crash(group, model):
        raise OSError("No space left on device")

    monkeypatch.setattr(legacy_h5, "write_weights_group", crash)
    with pytest.raises(OSError, match="No space"):
        save_model(mlp(), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.h5"]


def test_overwrite_false(tmp_path):
    save_model(mlp(), tmp_path / "m.h5")
    with pytest.raises(FileExistsError):
        save_model(mlp(), tmp_path / "m.h5", overwrite=False)


# --------------------------------------------------------------------------------------- bad files
@pytest.fixture
def saved_h5(tmp_path):
    save_model(trained(mlp()), tmp_path / "m.h5")
    return tmp_path / "m.h5"


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="File not found"):
        load_model(tmp_path / "nothing.h5")
    with pytest.raises(ValueError, match="File not found.*nothing.h5"):
        load_weights(mlp(), tmp_path / "nothing.h5")


@pytest.mark.parametrize("damage", ["truncated", "text"])
def test_damaged_h5_file(saved_h5, damage):
    content = saved_h5.read_bytes()
    saved_h5.write_bytes(content[: len(content) // 2] if damage == "truncated" else b"not a model at all")
    with pytest.raises(ValueError, match=r"m.h5.*(not a readable HDF5 file|corrupted)"):
        load_model(saved_h5)
    with pytest.raises(ValueError, match=r"m.h5.*(not a readable HDF5 file|corrupted)"):
        load_weights(mlp(), saved_h5)


def test_hdf5_file_that_is_not_a_keras_model(tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as file:
        file["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="No model config found in the file at .*data.h5"):
        load_model(tmp_path / "data.h5")
    with pytest.raises(ValueError, match="data.h5' holds no Keras 2 weights"):
        load_weights(mlp(), tmp_path / "data.h5")


def rewrite_attribute(path, name, value):
    with h5py.File(path, "a") as file:
        file.attrs[name] = value


@pytest.mark.parametrize("value, message", [
    (b"{not json", "'model_config' attribute is not valid JSON"),
    (b"[1, 2]", "model_config is not a Keras model config"),
    (json.dumps({"class_name": "Sequential", "config": {"layers": [{"class_name": "os.system", "config": {}}]}}),
     "Could not locate class 'os.system'"),
    (np.zeros(3), "'model_config' attribute is not a JSON text"),
])
def test_bad_model_config(saved_h5, value, message):
    rewrite_attribute(saved_h5, "model_config", value)
    with pytest.raises(ValueError, match=f"m.h5.*{message}|{message}.*m.h5"):
        load_model(saved_h5)


def test_config_asking_for_absurd_memory(saved_h5):
    config = json.loads(attributes(saved_h5)["model_config"])
    config["config"]["layers"][1]["config"]["units"] = 10**13
    rewrite_attribute(saved_h5, "model_config", json.dumps(config))
    with pytest.raises(ValueError, match="Cannot rebuild the model saved in '.*m.h5'"):
        load_model(saved_h5)


def test_shape_mismatch_leaves_the_model_unchanged(saved_h5):
    keras.backend.clear_session()
    model = mlp(units=5)
    before = model.get_weights()
    with pytest.raises(ValueError, match=re.escape("m.h5' into layer 'dense' (saved as 'dense'): variable "
                                                   "'kernel' has shape (4, 5), but the file's has shape (4, 3)")):
        load_weights(model, saved_h5)
    for expected, actual in zip(before, model.get_weights()):
        np.testing.assert_array_equal(actual, expected)


def test_layer_count_mismatch(saved_h5):
    bigger = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(3), layers.Dense(2)])
    with pytest.raises(ValueError, match="m.h5': layer count mismatch. The model has 3 layers with weights"):
        load_weights(bigger, saved_h5)


def test_listed_weight_missing(saved_h5):
    with h5py.File(saved_h5, "a") as file:
        group = file["model_weights/dense"]
        del group[group.attrs["weight_names"][1]]
    with pytest.raises(ValueError, match="m.h5': '/model_weights/dense' lists weight '.*bias', but has no dataset"):
        load_model(saved_h5)


def test_listed_layer_missing(saved_h5):
    with h5py.File(saved_h5, "a") as file:
        del file["model_weights/dense_1"]
    with pytest.raises(ValueError, match="lists layer 'dense_1', but has no group of that name"):
        load_model(saved_h5)


def test_text_stored_as_weights_is_refused(saved_h5):
    with h5py.File(saved_h5, "a") as file:
        group = file["model_weights/dense"]
        name = group.attrs["weight_names"][1]
        del group[name]
        group[name] = np.array([b"a", b"b", b"c"])
    with pytest.raises(ValueError, match=re.escape("'bias' is stored as |S1, not as numbers")):
        load_model(saved_h5)


def test_top_level_weights_the_model_does_not_have(saved_h5):
    with h5py.File(saved_h5, "a") as file:
        group = file["model_weights/top_level_model_weights"]
        group.attrs["weight_names"] = [b"extra"]
        group["extra"] = np.zeros(2)
    with pytest.raises(ValueError, match="holds weights of the model itself"):
        load_model(saved_h5)


# ------------------------------------------------------------------------------------------- JSON
def test_json_round_trip(tmp_path):
    model = trained(two_inputs(), 2)
    text = json_format.model_to_json(model)
    loaded = json_format.model_from_json(text)
    assert loaded.get_config() == model.get_config()
    assert loaded.compiled and type(loaded.optimizer) is type(model.optimizer)
    assert json_format.model_to_json(loaded) == text
    assert json_format.model_to_json(model, indent=2) == json.dumps(json.loads(text), indent=2)


def test_json_of_an_uncompiled_model_and_of_keras_2():
    plain = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    config = json.loads(json_format.model_to_json(plain))
    assert list(config) == ["module", "class_name", "config", "registered_name", "build_config", "compile_config"]
    assert config["compile_config"] == {}
    assert not json_format.model_from_json(json.dumps(config)).compiled
    keras2 = json_format.model_from_json(json.dumps({**keras2_functional(), "keras_version": "2.13.1",
                                                      "backend": "tensorflow"}))
    assert keras2.input_names == ["a", "b"]
    assert keras2.get_layer("batch_normalization").axis == 1


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "does not describe a Keras model"),
    (json.dumps({"class_name": "Evil", "config": {}}), "Could not locate class 'Evil'"),
    ("x" * (2**26 + 1), "too large"),
])
def test_bad_json(text, message):
    with pytest.raises(ValueError, match=f"Cannot .*the model.*{message}|{message}"):
        json_format.model_from_json(text)

"""Legacy `.h5` files (full model and Keras 2 weights only) and `to_json` move both ways between minikeras
and real Keras 3: the same files and texts, the same predictions, and the optimizer state travels too."""
import json

import h5py
import numpy as np
import pytest

import minikeras
from minikeras.saving import json_format, load_model, load_weights, save_model
from minikeras.saving.legacy_h5 import KERAS3_OPTIMIZER_DEFAULTS, keras2_spelling
from tests.compat.test_saving_compat import (ARCHITECTURES, CROSS_OVER, assert_same_predictions,
                                             assert_same_weights, compiled, data, next_step,
                                             without_shared_object_ids)
from tests.test_legacy_saving import (keras2_functional, keras2_sequential, keras2_weights, write_keras2_model,
                                      write_keras2_weights_file)


def save_h5(k, model, path):
    save_model(model, path) if k is minikeras else model.save(path)


def load_h5(k, path, **kwargs):
    return load_model(path, **kwargs) if k is minikeras else k.models.load_model(path, **kwargs)


def load_weights_h5(k, model, path):
    load_weights(model, path) if k is minikeras else model.load_weights(path)


@pytest.mark.parametrize("direction", ["keras_to_minikeras", "minikeras_to_keras"])
@pytest.mark.parametrize("name", CROSS_OVER)
def test_h5_files_cross_over(keras, tmp_path, name, direction):
    source, target = (keras, minikeras) if direction == "keras_to_minikeras" else (minikeras, keras)
    x, y = data(name)
    original = compiled(source, name)
    original.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    path = str(tmp_path / "model.h5")
    save_h5(source, original, path)
    if source is keras:
        # Keras 3 writes loss aliases as given and cannot read "mse" back itself; minikeras reads it.
        with h5py.File(path, "r") as file:
            assert json.loads(file.attrs["training_config"])["loss"] in ("mse", "categorical_crossentropy")

    loaded = load_h5(target, path)
    assert_same_predictions(original, loaded, x)
    rebuilt = compiled(target, name)
    load_weights_h5(target, rebuilt, path)
    assert_same_predictions(original, rebuilt, x)
    if target is minikeras:
        assert_same_weights(next_step(original, x, y), next_step(loaded, x, y))
    else:
        # Keras 3 builds a legacy file's optimizer for no variables, so it restores no optimizer state and
        # cannot train the loaded model (not even from its own `.h5` files); the compile settings do travel.
        assert loaded.optimizer.get_config() == original.optimizer.get_config() | {"name": "adam"}
        expected = original.evaluate(x, y, verbose=0, return_dict=True)
        actual = loaded.evaluate(x, y, verbose=0, return_dict=True)
        np.testing.assert_allclose(list(actual.values()), list(expected.values()), rtol=1e-5)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_h5_file_is_keras_for_the_same_model(keras, tmp_path, name):
    """The same root attributes and config, the same layer groups with the same weight shapes (dataset
    names may differ: both Keras read weights by order), and each library's file loads in the other."""
    theirs, ours = compiled(keras, name), compiled(minikeras, name)
    theirs.save(str(tmp_path / "keras.h5"))
    save_model(ours, str(tmp_path / "minikeras.h5"))

    def contents(path):
        with h5py.File(path, "r") as file:
            root = {key: json.loads(value) if key.endswith("config") else value for key, value in file.attrs.items()}
            group = file["model_weights"]
            layers = {name: [group[name][weight].shape for weight in group[name].attrs["weight_names"]]
                      for name in group}
            return without_shared_object_ids(root), list(group.attrs["layer_names"]), layers

    (keras_root, keras_names, keras_layers) = contents(tmp_path / "keras.h5")
    (root, names, layers) = contents(tmp_path / "minikeras.h5")
    assert keras_root["training_config"].pop("loss") in ("mse", "categorical_crossentropy")
    assert root["training_config"].pop("loss") in ("mean_squared_error", "categorical_crossentropy")
    # minikeras writes the config in the spelling both tf.keras 2 and Keras 3 read (Keras 3 writes its own)
    keras_root["model_config"] = keras2_spelling(keras_root["model_config"])
    optimizer = keras_root["training_config"]["optimizer_config"]["config"]
    for key, default in KERAS3_OPTIMIZER_DEFAULTS.items():
        if key in optimizer and optimizer[key] == default:
            del optimizer[key]
    assert root == keras_root
    assert names == keras_names
    assert layers == keras_layers

    x = data(name)[0]
    assert_same_predictions(ours, load_h5(keras, str(tmp_path / "minikeras.h5"), compile=False), x)
    assert_same_predictions(theirs, load_model(str(tmp_path / "keras.h5")), x)


@pytest.mark.parametrize("config, inputs", [(keras2_sequential, 1), (keras2_functional, 2)],
                         ids=["sequential", "functional"])
def test_keras_2_files_load_as_keras_3_loads_them(keras, tmp_path, config, inputs):
    """Hand-built tf.keras 2 files, full model and weights only. Keras 3 itself trips on two Keras 2
    spellings (a one-element `axis` list inside a layer, a Dense's own `batch_input_shape`), so its copy
    of the model is read from the same file with those two written the Keras 3 way."""
    config = config()
    weights = keras2_weights(config)
    write_keras2_model(tmp_path / "keras2.h5", config, weights)
    write_keras2_weights_file(tmp_path / "keras2_weights.h5", config, weights)
    keras3_config = json.loads(json.dumps(config))
    for entry in keras3_config["config"]["layers"]:
        if isinstance(entry["config"].get("axis"), list):
            entry["config"]["axis"] = entry["config"]["axis"][0]
        if entry["class_name"] != "InputLayer":
            entry["config"].pop("batch_input_shape", None)
    write_keras2_model(tmp_path / "keras3_spelling.h5", keras3_config, weights, training_config=None)
    theirs = keras.models.load_model(str(tmp_path / "keras3_spelling.h5"), compile=False)

    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 4)).astype("float32") if inputs == 1 else \
        [rng.normal(size=(12, 3)).astype("float32"), rng.normal(size=(12, 2)).astype("float32")]
    assert_same_predictions(theirs, load_model(tmp_path / "keras2.h5"), x)

    rebuilt = minikeras.saving.legacy_h5.load_model(tmp_path / "keras2.h5", compile=False)
    for layer in rebuilt.layers:
        for variable in layer.weights:
            variable.value[...] = 0
    load_weights(rebuilt, tmp_path / "keras2_weights.h5")
    theirs.load_weights(str(tmp_path / "keras2_weights.h5"))
    assert_same_predictions(theirs, rebuilt, x)


def test_keras_reads_a_weights_group_minikeras_writes(keras, tmp_path):
    """Keras 2's weights-only layout as minikeras writes it loads with Keras 3's `load_weights`."""
    ours, theirs = compiled(minikeras, "two_inputs"), compiled(keras, "two_inputs")
    with h5py.File(tmp_path / "weights.h5", "w") as file:
        minikeras.saving.legacy_h5.write_weights_group(file, ours)
    theirs.load_weights(str(tmp_path / "weights.h5"))
    assert_same_predictions(ours, theirs, data("two_inputs")[0])
    theirs.load_weights(str(tmp_path / "weights.h5"), by_name=True)
    assert_same_predictions(ours, theirs, data("two_inputs")[0])


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_json_is_keras_and_loads_both_ways(keras, name):
    theirs, ours = compiled(keras, name), compiled(minikeras, name)
    keras_text, our_text = theirs.to_json(), json_format.model_to_json(ours)
    assert without_shared_object_ids(json.loads(our_text)) == without_shared_object_ids(json.loads(keras_text))

    x = data(name)[0]
    from_keras = json_format.model_from_json(keras_text)
    assert from_keras.compiled and from_keras.get_config() == ours.get_config()
    from_keras.set_weights(theirs.get_weights())
    assert_same_predictions(theirs, from_keras, x)
    from_minikeras = keras.models.model_from_json(our_text)
    assert from_minikeras.compiled
    from_minikeras.set_weights(ours.get_weights())
    assert_same_predictions(ours, from_minikeras, x)


def test_uncompiled_json_is_keras(keras):
    theirs = keras.Sequential([keras.layers.Dense(2)])
    ours = minikeras.Sequential([minikeras.layers.Dense(2)])
    assert json.loads(json_format.model_to_json(ours)) == without_shared_object_ids(json.loads(theirs.to_json()))

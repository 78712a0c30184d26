"""`.keras` and `.weights.h5` files within minikeras: round trips, exact resumption of training, atomic
writes, and clear errors for every kind of bad file."""
import json
import os
import re
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.saving import h5_weights, load_model, load_weights, save_model, save_weights


def mlp(units=3):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(units, activation="relu"), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def two_inputs():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    inner = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="tanh")], name="inner")
    model = keras.Model([a, b], layers.Dense(2)(inner(layers.Concatenate()([a, b]))))
    model.compile(optimizer="rmsprop", loss=keras.losses.MeanSquaredError(),
                  metrics=[keras.metrics.MeanAbsoluteError()])
    return model


def data(inputs=1):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 5 if inputs == 2 else 4)).astype("float32")
    return ([x[:, :3], x[:, 3:]] if inputs == 2 else x), rng.normal(size=(20, 2)).astype("float32")


def trained(model, inputs=1):
    x, y = data(inputs)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    return model


def assert_same_state(expected, actual):
    for e, a in zip(expected.get_weights(), actual.get_weights()):
        np.testing.assert_array_equal(a, e)
    if expected.optimizer is not None:
        for e, a in zip(expected.optimizer.variables, actual.optimizer.variables):
            np.testing.assert_array_equal(a.value, e.value)


# ------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("build, inputs", [(mlp, 1), (two_inputs, 2)], ids=["sequential", "functional_nested"])
def test_keras_file_round_trip_and_exact_resumption(tmp_path, build, inputs):
    x, y = data(inputs)
    model = trained(build(), inputs)
    save_model(model, tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    assert_same_state(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    expected = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    assert loaded.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history == expected
    assert_same_state(model, loaded)


def test_weights_file_round_trip_builds_the_optimizer_to_resume(tmp_path):
    x, y = data()
    model = trained(mlp())
    save_weights(model, tmp_path / "m.weights.h5")
    fresh = mlp()
    assert not fresh.optimizer.built
    load_weights(fresh, tmp_path / "m.weights.h5")
    assert_same_state(model, fresh)
    model.fit(x, y, epochs=1, batch_size=20, verbose=0)
    fresh.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert_same_state(model, fresh)


def test_keras_file_weights_load_into_a_model(tmp_path):
    model = trained(mlp())
    save_model(model, tmp_path / "m.keras")
    other = mlp()
    load_weights(other, tmp_path / "m.keras")
    assert_same_state(model, other)


def test_uncompiled_model_and_compile_false(tmp_path):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    save_model(model, tmp_path / "plain.keras")
    loaded = load_model(tmp_path / "plain.keras")
    assert loaded.optimizer is None and not loaded.compiled
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    save_model(trained(mlp()), tmp_path / "compiled.keras")
    assert not load_model(tmp_path / "compiled.keras", compile=False).compiled


def test_compile_config_is_written_as_keras_writes_it(tmp_path):
    save_model(two_inputs(), tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
    assert list(metadata) == ["keras_version", "date_saved"]
    assert list(config) == ["module", "class_name", "config", "registered_name", "build_config", "compile_config"]
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras.src.models.functional", "Functional", "Functional")
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "RMSprop"
    assert compile_config["loss"]["class_name"] == "MeanSquaredError"
    assert compile_config["metrics"][0]["class_name"] == "MeanAbsoluteError"
    assert compile_config["jit_compile"] is False


def test_shared_layer_is_saved_once(tmp_path):
    shared = layers.Dense(2)
    a, b = keras.Input((2,)), keras.Input((2,))
    model = keras.Model([a, b], layers.Add()([shared(a), shared(b)]))
    save_weights(model, tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as file:
        assert "layers/dense/vars/0" in file and "layers/dense_1" not in file
    other_shared = layers.Dense(2)
    c, d = keras.Input((2,)), keras.Input((2,))
    other = keras.Model([c, d], layers.Add()([other_shared(c), other_shared(d)]))
    load_weights(other, tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])


# ------------------------------------------------------------------------------------ atomic writes
def test_failed_weights_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    model = mlp()
    save_weights(model, path)
    good = path.read_bytes()

    def crash(model, target):
        with open(target, "wb") as file:
            file.write(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(h5_weights, "write_weights", crash)
    with pytest.raises(OSError, match="No space"):
        save_weights(mlp(), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.weights.h5"]


def test_failed_model_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    save_model(mlp(), path)
    good = path.read_bytes()
    original_writestr = zipfile.ZipFile.writestr

    def crash_on_weights(archive, name, data, *args, **kwargs):
        if name == "model.weights.h5":
            raise KeyboardInterrupt
        return original_writestr(archive, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash_on_weights)
    with pytest.raises(KeyboardInterrupt):
        save_model(mlp(), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.keras"]


def test_saved_files_get_ordinary_permissions(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    save_model(mlp(), tmp_path / "m.keras")
    save_weights(mlp(), tmp_path / "m.weights.h5")
    mode = os.stat(tmp_path / "plain").st_mode
    assert os.stat(tmp_path / "m.keras").st_mode == os.stat(tmp_path / "m.weights.h5").st_mode == mode


def test_overwrite_false_and_wrong_extensions(tmp_path):
    save_model(mlp(), tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        save_model(mlp(), tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match="Invalid filepath extension for saving"):
        save_model(mlp(), tmp_path / "m.model")
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        save_weights(mlp(), tmp_path / "m.h5")


# --------------------------------------------------------------------------------------- bad files
def rewrite_member(path, member, transform):
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents[member] = transform(contents[member])
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            if data is not None:
                archive.writestr(name, data)


@pytest.fixture
def saved(tmp_path):
    model = trained(mlp())
    save_model(model, tmp_path / "m.keras")
    save_weights(model, tmp_path / "m.weights.h5")
    return tmp_path


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="File not found"):
        load_model(tmp_path / "nothing.keras")
    with pytest.raises(ValueError, match="does not exist"):
        load_weights(mlp(), tmp_path / "nothing.weights.h5")


@pytest.mark.parametrize("damage", ["truncated", "not_a_zip", "corrupted_member"])
def test_damaged_keras_file(saved, damage):
    path = saved / "m.keras"
    content = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "not_a_zip":
        path.write_bytes(b"just some text, not a model")
    else:
        offset = content.index(b"HDF") + 2000  # inside the stored (uncompressed) weights member
        flipped = bytes(b ^ 0xFF for b in content[offset:offset + 64])
        path.write_bytes(content[:offset] + flipped + content[offset + 64:])
    with pytest.raises(ValueError, match="m.keras") as error:
        load_model(path)
    assert "not a readable `.keras` zip" in str(error.value)


def test_zip_without_model_members(saved):
    with zipfile.ZipFile(saved / "other.keras", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"other.keras.*not a `.keras` model .*config.json"):
        load_model(saved / "other.keras")


def test_config_that_is_not_json(saved):
    rewrite_member(saved / "m.keras", "config.json", lambda _: b"{not json")
    with pytest.raises(ValueError, match="m.keras.*config.json is not valid JSON"):
        load_model(saved / "m.keras")


@pytest.mark.parametrize("class_name", ["MysteryLayer", "system"])
def test_unknown_layer_class_is_refused(saved, class_name):
    def rename(data):
        config = json.loads(data)
        config["config"]["layers"][1]["class_name"] = class_name
        config["config"]["layers"][1]["module"] = "os"
        return json.dumps(config).encode()

    rewrite_member(saved / "m.keras", "config.json", rename)
    with pytest.raises(ValueError, match=f"m.keras.*Could not locate class '{class_name}'"):
        load_model(saved / "m.keras")


def test_weights_member_that_is_not_hdf5(saved):
    rewrite_member(saved / "m.keras", "model.weights.h5", lambda _: b"\x00" * 100)
    with pytest.raises(ValueError, match="m.keras/model.weights.h5.*not a readable HDF5 file"):
        load_model(saved / "m.keras")


@pytest.mark.parametrize("damage", ["truncated", "not_hdf5"])
def test_damaged_weights_file(saved, damage):
    path = saved / "m.weights.h5"
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2] if damage == "truncated" else b"hello world" * 100)
    with pytest.raises(ValueError, match="m.weights.h5.*not a readable HDF5 file"):
        load_weights(mlp(), path)


def test_shape_mismatch_leaves_the_model_unchanged(saved):
    model = mlp(units=5)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"m.weights.h5.*layer 'dense.*'layers/dense/vars'.*'kernel' has shape "
                                         r"\(4, 5\), but the file's has shape \(4, 3\)"):
        load_weights(model, saved / "m.weights.h5")
    for b, a in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_missing_weight(saved):
    with h5py.File(saved / "m.weights.h5", "a") as file:
        del file["layers/dense_1/vars/1"]
    expected = r"m.weights.h5.*expected 2 variables \['kernel', 'bias'\], but the file has 1"
    with pytest.raises(ValueError, match=expected):
        load_weights(mlp(), saved / "m.weights.h5")


def test_missing_layer(saved):
    with h5py.File(saved / "m.weights.h5", "a") as file:
        del file["layers/dense_1"]
    with pytest.raises(ValueError, match="weights are missing from the file"):
        load_weights(mlp(), saved / "m.weights.h5")


def test_file_of_a_bigger_model_is_refused(saved):
    bigger = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2), layers.Dense(2)])
    save_weights(bigger, saved / "bigger.weights.h5")
    with pytest.raises(ValueError, match=r"no layer for, in groups \['layers/dense_2/vars'\]"):
        load_weights(mlp(), saved / "bigger.weights.h5")


def test_skip_mismatch_warns_and_loads_the_rest(saved):
    model = mlp(units=5)
    with pytest.warns(UserWarning) as caught:
        load_weights(model, saved / "m.weights.h5", skip_mismatch=True)
    messages = [str(warning.message) for warning in caught]
    assert any("Skipping loading weights for layer 'dense" in message for message in messages)
    assert any("because its variable 'sequential" in message and "has shape (4, 5) whereas the saved one has "
               "shape (4, 3)" in message for message in messages)
    assert model.optimizer.iterations == 0


def test_optimizer_with_other_variables_is_skipped_with_keras_warning(saved):
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer 'sgd'"):
        load_weights(model, saved / "m.weights.h5")
    assert model.optimizer.iterations == 0


def test_malformed_group_is_refused(saved):
    with h5py.File(saved / "m.weights.h5", "a") as file:
        file["layers/dense/vars/7"] = np.zeros(3)
    with pytest.raises(ValueError, match="'layers/dense/vars' is not a group of datasets named 0, 1, 2"):
        load_weights(mlp(), saved / "m.weights.h5")


def test_text_stored_as_weights_is_refused(saved):
    with h5py.File(saved / "m.weights.h5", "a") as file:
        del file["layers/dense/vars/1"]
        file["layers/dense/vars/1"] = np.array([b"a", b"b", b"c"])
    with pytest.raises(ValueError, match=re.escape("'bias' is stored as |S1, not as numbers")):
        load_weights(mlp(), saved / "m.weights.h5")


def test_config_asking_for_absurd_memory(saved):
    def enlarge(data):
        config = json.loads(data)
        config["config"]["layers"][1]["config"]["units"] = 10**13
        return json.dumps(config).encode()

    rewrite_member(saved / "m.keras", "config.json", enlarge)
    with pytest.raises(ValueError, match="Cannot rebuild the model saved in '.*m.keras'"):
        load_model(saved / "m.keras")


def test_keras_2_weights_file_is_named_as_such(tmp_path):
    with h5py.File(tmp_path / "old.weights.h5", "w") as file:
        file.attrs["layer_names"] = [b"dense"]
    with pytest.raises(ValueError, match="old.weights.h5' is a legacy Keras 2 `.h5` file"):
        load_weights(mlp(), tmp_path / "old.weights.h5")


def test_hdf5_file_without_keras_weights(tmp_path):
    with h5py.File(tmp_path / "other.weights.h5", "w") as file:
        file["data"] = np.zeros(3)
    with pytest.raises(ValueError, match="other.weights.h5' holds no Keras 3 weights"):
        load_weights(mlp(), tmp_path / "other.weights.h5")

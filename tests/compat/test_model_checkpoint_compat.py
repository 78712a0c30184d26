"""ModelCheckpoint, BackupAndRestore and registered custom classes side by side with real Keras: same files
for the same logs, same messages, and files each library writes that the other loads."""
import json
import os
import warnings

import numpy as np
import pytest

import minikeras
from minikeras.callbacks.backup_and_restore import BackupAndRestore
from minikeras.callbacks.model_checkpoint import ModelCheckpoint
from minikeras.saving import load_model, object_registration, save_model
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin
from tests.test_model_checkpoint import InterruptAt, drive
from tests.test_object_registration import scale_layer


def build(library):
    return library.Sequential([library.Input((3,)), library.layers.Dense(4, activation="tanh"),
                               library.layers.Dense(1)])


def compile_kwargs(library):
    return {"optimizer": library.optimizers.Adam(0.01), "loss": "mse"}


def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 3)).astype("float32")
    return x, np.tanh(x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")


def observe(folder, make_callback, model, epoch_logs, batches, capsys, monkeypatch):
    """Files written (relative names, so messages compare too), printed text and warnings."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(make_callback(), epoch_logs, model=model, batches=batches)
    files = sorted(os.path.relpath(os.path.join(root, name), folder)
                   for root, _, names in os.walk(folder) for name in names)
    return {"files": files, "stdout": capsys.readouterr().out,
            "warnings": [str(w.message) for w in caught if w.category is UserWarning]}


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": value, "val_accuracy": 1 - value} for value in values]


SCENARIOS = {
    "template": ({"filepath": "out/w.{epoch:02d}-{val_loss:.2f}.keras", "verbose": 1},
                 val_losses(0.51234, 0.4, 0.45), 1),
    "best_only_min": ({"filepath": "best.{epoch}.keras", "save_best_only": True, "verbose": 1},
                      val_losses(0.5, 0.7, 0.25, 0.25), 1),
    "best_only_max_threshold": ({"filepath": "m.weights.h5", "save_weights_only": True, "monitor": "val_accuracy",
                                 "mode": "max", "save_best_only": True, "initial_value_threshold": 0.6,
                                 "verbose": 1}, val_losses(0.5, 0.3, 0.35, 0.1), 1),
    "missing_monitor": ({"filepath": "m.keras", "monitor": "val_acc", "mode": "max", "save_best_only": True,
                         "verbose": 1}, val_losses(0.5, 0.4), 1),
    "batch_frequency": ({"filepath": "{epoch}-{batch}.weights.h5", "save_freq": 3, "save_weights_only": True,
                         "verbose": 1}, val_losses(0.5, 0.4, 0.3), 4),
    "silent": ({"filepath": "s.keras"}, val_losses(0.5), 2),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_files_messages_and_warnings_for_the_same_logs(keras, tmp_path, capsys, monkeypatch, name):
    options, epoch_logs, batches = SCENARIOS[name]
    reference, ours = twin(keras, build, compile_kwargs)
    theirs = observe(tmp_path / "keras", lambda: keras.callbacks.ModelCheckpoint(**options), reference,
                     epoch_logs, batches, capsys, monkeypatch)
    mine = observe(tmp_path / "minikeras", lambda: ModelCheckpoint(**options), ours, epoch_logs, batches,
                   capsys, monkeypatch)
    assert mine == theirs
    assert theirs["files"] and bool(theirs["stdout"]) == (options.get("verbose", 0) > 0)
    assert bool(theirs["warnings"]) == (name == "missing_monitor")


@pytest.mark.parametrize("options", [{"filepath": "m.h5", "save_weights_only": True}, {"filepath": "m.weights"},
                                     {"filepath": "m.keras", "save_freq": "batch"}])
def test_same_argument_errors(keras, options):
    with pytest.raises(ValueError) as theirs:
        keras.callbacks.ModelCheckpoint(**options)
    with pytest.raises(ValueError) as mine:
        ModelCheckpoint(**options)
    assert str(mine.value) == str(theirs.value)


def test_fit_side_by_side_writes_the_same_checkpoints_which_load_in_keras(keras, tmp_path, capsys, monkeypatch):
    x, y = data()
    reference, ours = twin(keras, build, compile_kwargs)
    options = {"filepath": "w.{epoch:02d}-{val_loss:.2f}.keras", "save_best_only": True, "verbose": 1}
    outputs = {}
    for label, model, module in (("keras", reference, keras.callbacks), ("minikeras", ours, None)):
        (tmp_path / label).mkdir()
        monkeypatch.chdir(tmp_path / label)
        capsys.readouterr()
        callback = module.ModelCheckpoint(**options) if module else ModelCheckpoint(**options)
        model.fit(x[:16], y[:16], epochs=4, batch_size=8, shuffle=False, verbose=0,
                  validation_data=(x[16:], y[16:]), callbacks=[callback])
        outputs[label] = (sorted(os.listdir()), capsys.readouterr().out)
    assert outputs["minikeras"] == outputs["keras"]
    assert_same_history(reference.history, ours.history)
    assert_same_weights(reference, ours)
    latest = os.path.join(tmp_path, "minikeras", outputs["minikeras"][0][-1])
    loaded = keras.models.load_model(latest)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------ BackupAndRestore
def interrupted_fit(model, callback, x, y):
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0, callbacks=[callback, InterruptAt(2)])


class KerasInterruptAt:
    """InterruptAt for Keras's callback list (a Keras Callback subclass, built on demand)."""

    def __new__(cls, keras, epoch):
        class Interrupt(keras.callbacks.Callback):
            def on_epoch_begin(self, index, logs=None):
                if index == epoch:
                    raise RuntimeError("interrupted")

        return Interrupt()


def test_keras_resumes_from_a_minikeras_backup(keras, tmp_path):
    x, y = data()
    reference, ours = twin(keras, build, compile_kwargs)
    expected = reference.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)

    _, fresh = twin(keras, build, compile_kwargs)
    fresh.set_weights(ours.get_weights())
    interrupted_fit(fresh, BackupAndRestore(str(tmp_path / "b")), x, y)
    metadata = json.loads((tmp_path / "b" / "training_metadata.json").read_text())

    keras_side, _ = twin(keras, build, compile_kwargs)
    keras_fit = keras_side.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                               callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "b"))])
    assert metadata == {"epoch": 2, "batch": 0}
    assert keras_fit.epoch == [2, 3]
    np.testing.assert_allclose(keras_fit.history["loss"], expected.history["loss"][2:], rtol=1e-4)
    assert_same_weights(reference, keras_side)
    assert not (tmp_path / "b").exists()


def test_same_backup_files_as_keras(keras, tmp_path):
    x, y = data()
    reference, ours = twin(keras, build, compile_kwargs)
    with pytest.raises(RuntimeError):
        reference.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(tmp_path / "keras"), save_freq=2, double_checkpoint=True),
            KerasInterruptAt(keras, 2)])
    interrupted_fit(ours, BackupAndRestore(str(tmp_path / "mine"), save_freq=2, double_checkpoint=True), x, y)
    assert sorted(os.listdir(tmp_path / "mine")) == sorted(os.listdir(tmp_path / "keras"))
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        assert (tmp_path / "mine" / name).read_text() == (tmp_path / "keras" / name).read_text()


def test_minikeras_resumes_from_a_keras_backup(keras, tmp_path):
    x, y = data()
    reference, ours = twin(keras, build, compile_kwargs)
    expected = reference.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    interrupted, _ = twin(keras, build, compile_kwargs)
    interrupted.set_weights(ours.get_weights())
    with pytest.raises(RuntimeError):
        interrupted.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(tmp_path / "b")), KerasInterruptAt(keras, 2)])
    history = ours.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                       callbacks=[BackupAndRestore(str(tmp_path / "b"))])
    assert history.epoch == [2, 3]
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"][2:], rtol=1e-4)
    assert_same_weights(reference, ours)


# ------------------------------------------------------------------------------ registered classes

@pytest.fixture
def scaled_models(keras):
    keras_scale = scale_layer(keras.layers.Layer, keras.saving.register_keras_serializable, "MiniCompat")
    our_scale = scale_layer(minikeras.layers.Layer, object_registration.register_keras_serializable, "MiniCompat")

    def make(library, scale):
        model = library.Sequential([library.Input((3,)), scale(3.0), library.layers.Dense(2)])
        model.compile(optimizer="adam", loss="mse")
        return model

    reference = make(keras, keras_scale)
    ours = make(minikeras, our_scale)
    ours.set_weights(reference.get_weights())
    return reference, ours


def test_registered_layer_config_matches_keras(scaled_models):
    reference, ours = scaled_models
    assert ours.get_config()["layers"][1] == reference.get_config()["layers"][1]
    assert ours.get_config()["layers"][1]["registered_name"] == "MiniCompat>Scale"


def test_registered_layer_files_load_in_either_library(keras, scaled_models, tmp_path):
    reference, ours = scaled_models
    x = data()[0]
    save_model(ours, tmp_path / "ours.keras")
    reference.save(tmp_path / "theirs.keras")
    in_keras = keras.models.load_model(tmp_path / "ours.keras")
    in_minikeras = load_model(tmp_path / "theirs.keras")
    assert type(in_keras.layers[0]).__name__ == type(in_minikeras.layers[0]).__name__ == "Scale"
    expected = reference.predict(x, verbose=0)
    np.testing.assert_allclose(in_keras.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(in_minikeras.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_registered_activation_functions_load_in_either_library(keras, tmp_path):
    """A function registered with `register_keras_serializable` and used as an activation: each library
    writes it as "package>name" and finds it again in its own registry."""

    @keras.saving.register_keras_serializable(package="MiniCompat", name="doubled_relu")
    def keras_doubled_relu(x):
        return keras.ops.relu(x) * 2

    @object_registration.register_keras_serializable(package="MiniCompat", name="doubled_relu")
    def doubled_relu(x):
        return np.maximum(x, 0) * 2

    reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=keras_doubled_relu)])
    ours = minikeras.Sequential([minikeras.Input((3,)), minikeras.layers.Dense(2, activation=doubled_relu)])
    ours.set_weights(reference.get_weights())
    assert ours.get_config()["layers"][1]["config"]["activation"] == \
        reference.get_config()["layers"][1]["config"]["activation"]
    save_model(ours, tmp_path / "ours.keras")
    reference.save(tmp_path / "theirs.keras")
    x = data()[0]
    expected = reference.predict(x, verbose=0)
    in_minikeras = load_model(tmp_path / "theirs.keras")
    assert in_minikeras.layers[0].activation is doubled_relu
    for model in (keras.models.load_model(tmp_path / "ours.keras"), in_minikeras):
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)

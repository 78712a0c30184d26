"""ModelCheckpoint and BackupAndRestore within minikeras: file names, best-only logic, batch-frequency
saves, messages, and resuming a fit interrupted by an exception."""
import json
import os
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.callbacks import Callback
from minikeras.callbacks.backup_and_restore import BackupAndRestore
from minikeras.callbacks.model_checkpoint import ModelCheckpoint
from minikeras.saving import load_model


def small_model(optimizer="adam"):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def data(samples=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")


def drive(callback, epoch_logs, model=None, batches=1):
    """The hooks fit calls, with given epoch logs (`batches` batches per epoch)."""
    callback.set_model(model or small_model())
    callback.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch)
        for batch in range(batches):
            callback.on_train_batch_begin(batch)
            callback.on_train_batch_end(batch, {"loss": 1.0})
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


# ------------------------------------------------------------------------------ ModelCheckpoint
@pytest.mark.parametrize("options, message", [
    ({"filepath": "m.h5", "save_weights_only": True}, "must end in `.weights.h5`"),
    ({"filepath": "m.weights"}, "must end in `.keras` (Keras model format). Received: filepath=m.weights"),
    ({"filepath": "m.keras", "save_freq": "batch"}, "Unrecognized save_freq: batch."),
])
def test_invalid_arguments_raise_keras_errors(options, message):
    with pytest.raises(ValueError) as error:
        ModelCheckpoint(**options)
    assert message in str(error.value)


def test_filepath_template_uses_epoch_and_logs(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "out" / "w.{epoch:02d}-{val_loss:.2f}.keras"))
    drive(callback, [{"val_loss": 0.51234}, {"val_loss": 0.4}])
    assert sorted(os.listdir(tmp_path / "out")) == ["w.01-0.51.keras", "w.02-0.40.keras"]


def test_missing_template_key_raises_keras_error(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "{foo}.keras"))
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        drive(callback, [{"loss": 1.0}])


def test_save_best_only_saves_improvements_and_prints_keras_messages(tmp_path, capsys):
    path = str(tmp_path / "best.{epoch}.keras")
    callback = ModelCheckpoint(path, save_best_only=True, verbose=1)
    drive(callback, [{"val_loss": 0.5}, {"val_loss": 0.7}, {"val_loss": 0.25}])
    assert sorted(os.listdir(tmp_path)) == ["best.1.keras", "best.3.keras"]
    saved = os.path.join(tmp_path, "best.{}.keras")
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from None to 0.50000, saving model to {saved.format(1)}\n"
        f"\nEpoch 1: finished saving model to {saved.format(1)}\n"
        "\nEpoch 2: val_loss did not improve from 0.50000\n"
        f"\nEpoch 3: val_loss improved from 0.50000 to 0.25000, saving model to {saved.format(3)}\n"
        f"\nEpoch 3: finished saving model to {saved.format(3)}\n"
    )
    assert callback.best == 0.25


def test_max_mode_and_initial_value_threshold(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "{epoch}.keras"), monitor="acc", mode="max", save_best_only=True,
                               initial_value_threshold=0.6)
    drive(callback, [{"acc": 0.5}, {"acc": 0.7}, {"acc": 0.65}])
    assert os.listdir(tmp_path) == ["2.keras"]


def test_auto_mode_follows_the_metric_direction(tmp_path):
    model = small_model()
    model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    model.fit(*data(), verbose=0)  # the model's metrics exist once it has trained
    callback = ModelCheckpoint(str(tmp_path / "{epoch}.keras"), monitor="val_accuracy", save_best_only=True)
    drive(callback, [{"val_accuracy": 0.5}, {"val_accuracy": 0.4}, {"val_accuracy": 0.7}], model)
    assert sorted(os.listdir(tmp_path)) == ["1.keras", "3.keras"]


def test_missing_monitor_warns_and_saves(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "m.keras"), monitor="val_acc", mode="max", save_best_only=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(callback, [{"loss": 1.0}])
    assert [str(w.message) for w in caught] == ["Can save best model only with val_acc available."]
    assert os.listdir(tmp_path) == ["m.keras"]


def test_integer_save_freq_counts_batches_across_epochs(tmp_path, capsys):
    callback = ModelCheckpoint(str(tmp_path / "{epoch}-{batch}.weights.h5"), save_freq=3, save_weights_only=True,
                               verbose=1)
    drive(callback, [{"loss": 1.0}] * 2, batches=4)
    assert sorted(os.listdir(tmp_path)) == ["1-3.weights.h5", "2-2.weights.h5"]
    assert capsys.readouterr().out.count("finished saving") == 2


def test_best_only_with_batch_frequency_compares_batch_logs(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "{epoch}-{batch}.keras"), monitor="loss", save_best_only=True,
                               save_freq=1)
    callback.set_model(small_model())
    callback.on_epoch_begin(0)
    for batch, loss in enumerate([0.5, 0.7, 0.4]):
        callback.on_train_batch_end(batch, {"loss": loss})
    assert sorted(os.listdir(tmp_path)) == ["1-1.keras", "1-3.keras"]


def test_saved_model_and_weights_load_back(tmp_path):
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[
        ModelCheckpoint(str(tmp_path / "m.keras"), monitor="loss"),
        ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True),
    ])
    np.testing.assert_array_equal(load_model(str(tmp_path / "m.keras")).predict(x, verbose=0),
                                  model.predict(x, verbose=0))
    other = small_model()
    other.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_existing_directory_as_filepath_raises(tmp_path):
    (tmp_path / "m.keras").mkdir()
    with pytest.raises(OSError, match="Please specify a non-directory filepath for ModelCheckpoint"):
        drive(ModelCheckpoint(str(tmp_path / "m.keras")), [{"loss": 1.0}])


# ------------------------------------------------------------------------------ BackupAndRestore
class InterruptAt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def test_backup_and_restore_arguments():
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="Invalid value for argument `save_freq`. Received: save_freq=x."):
        BackupAndRestore("b", save_freq="x")


def test_backup_holds_weights_optimizer_state_and_epoch_until_success(tmp_path):
    x, y = data()
    backup = tmp_path / "backup"
    model = small_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[BackupAndRestore(str(backup)), InterruptAt(2)])
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json"]
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 2, "batch": 0}

    restored = small_model()
    callback = BackupAndRestore(str(backup), delete_checkpoint=False)
    callback.set_model(restored)
    callback.on_train_begin()
    assert restored._initial_epoch == 2
    for ours, theirs in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(restored.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(ours.value, theirs.value)
    callback.on_train_end()
    assert backup.exists()
    BackupAndRestore(str(backup)).on_train_end()
    assert not backup.exists()


def test_interrupted_fit_resumes_where_it_stopped(tmp_path):
    x, y = data()
    backup = str(tmp_path / "backup")
    uninterrupted = small_model()
    initial = uninterrupted.get_weights()
    expected = uninterrupted.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)

    model = small_model()
    model.set_weights(initial)
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[BackupAndRestore(backup), InterruptAt(2)])
    resumed = small_model()
    history = resumed.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                          callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"][2:], rtol=1e-6)
    for ours, theirs in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert not os.path.exists(backup)


def test_batch_frequency_backup_records_last_batch(tmp_path):
    callback = BackupAndRestore(str(tmp_path / "b"), save_freq=3, delete_checkpoint=False)
    model = small_model()
    callback.set_model(model)
    callback.on_train_begin()
    for batch in range(4):
        callback.on_train_batch_end(batch)
    metadata = json.loads((tmp_path / "b" / "training_metadata.json").read_text())
    assert metadata == {"epoch": 0, "batch": 2}


def test_double_checkpoint_falls_back_on_the_previous_backup(tmp_path):
    backup = tmp_path / "b"
    model = small_model()
    model.optimizer.build(model.trainable_weights)
    callback = BackupAndRestore(str(backup), double_checkpoint=True, delete_checkpoint=False)
    callback.set_model(model)
    callback.on_epoch_end(0)
    first = model.get_weights()
    model.set_weights([w + 1 for w in first])
    callback.on_epoch_end(1)
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "latest.weights.h5.bkp", "training_metadata.json",
                                          "training_metadata.json.bkp"]
    (backup / "latest.weights.h5").write_bytes(b"truncated")
    restored = small_model()
    again = BackupAndRestore(str(backup), double_checkpoint=True, delete_checkpoint=False)
    again.set_model(restored)
    again.on_train_begin()
    assert restored._initial_epoch == 1
    for ours, theirs in zip(restored.get_weights(), first):
        np.testing.assert_array_equal(ours, theirs)


def test_unbuilt_model_is_refused(tmp_path):
    model = keras.Sequential([layers.Dense(1)])
    callback = BackupAndRestore(str(tmp_path))
    callback.set_model(model)
    with pytest.raises(ValueError, match="you model must be built before you call `fit\\(\\)`"):
        callback.on_train_begin()

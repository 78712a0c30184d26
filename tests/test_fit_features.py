"""fit/evaluate features of the training loop, checked against values Keras 3 was seen to produce."""
import numpy as np
import pytest

import minikeras
from minikeras import layers


def small_model(metrics=None, weighted_metrics=None):
    model = minikeras.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"),
                                  layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=metrics, weighted_metrics=weighted_metrics)
    return model


def data(n=40):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.float32)


def test_stop_training_set_in_a_batch_hook_ends_the_epoch_at_that_batch():
    class StopAtThirdBatch(minikeras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = batch == 2

    model = small_model()
    history = model.fit(*data(), batch_size=8, epochs=3, callbacks=[StopAtThirdBatch()], verbose=0)
    assert history.epoch == [0]
    assert model.optimizer.iterations == 3


def test_validation_freq_as_a_list_names_the_1_based_epochs():
    x, y = data()
    history = small_model().fit(x, y, epochs=4, validation_split=0.25, validation_freq=[1, 4], verbose=0)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2


@pytest.mark.parametrize("validation_freq", [1.5, "2", None])
def test_validation_freq_of_another_type_is_rejected_in_keras_words(validation_freq):
    with pytest.raises(ValueError, match="Expected `validation_freq` to be a list or int. Received: "):
        small_model().fit(*data(), validation_freq=validation_freq, verbose=0)


def test_repeated_metric_names_get_keras_log_keys_and_evaluate_order():
    x, y = data()
    model = small_model(metrics=["accuracy", "accuracy", "mse"], weighted_metrics=["accuracy", "mse"])
    history = model.fit(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert list(history.history) == ["accuracy", "accuracy_1", "loss", "mse", "val_accuracy", "val_accuracy_1",
                                     "val_loss", "val_mse", "val_weighted_accuracy", "val_weighted_mse",
                                     "weighted_accuracy", "weighted_mse"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    values = model.evaluate(x, y, verbose=0)
    # Keras looks each metric up by its own name (a repeated name repeats), then adds the others, sorted.
    assert values == [logs["loss"], logs["accuracy"], logs["accuracy"], logs["mse"], logs["accuracy"], logs["mse"],
                      logs["accuracy_1"], logs["weighted_accuracy"], logs["weighted_mse"]]


def test_zero_epochs_trains_nothing_and_returns_an_empty_history():
    model = small_model()
    before = model.get_weights()
    history = model.fit(*data(), epochs=0, verbose=0)
    assert history.history == {} and history.epoch == [] and model.history is history
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_get_dummies_frame_of_float_int_and_bool_columns_is_taken_as_floats():
    pandas = pytest.importorskip("pandas")
    frame = pandas.get_dummies(pandas.DataFrame({"age": [0.3, 0.4, 0.5, 0.6], "n": [1, 2, 3, 4],
                                                 "sex": ["a", "b", "a", "b"]}))
    assert frame.to_numpy().dtype == object
    model = minikeras.Sequential([layers.Input((4,)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(frame, pandas.Series([0.0, 1.0, 0.0, 1.0]), verbose=0)
    np.testing.assert_allclose(model.predict(frame, verbose=0),
                               model.predict(frame.to_numpy(dtype=np.float32), verbose=0))


def test_a_frame_with_a_text_column_is_rejected_naming_the_argument():
    pandas = pytest.importorskip("pandas")
    model = minikeras.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(TypeError, match="Argument `x` must contain numbers or booleans"):
        model.predict(pandas.DataFrame({"age": [0.3, 0.4], "sex": ["a", "b"]}), verbose=0)

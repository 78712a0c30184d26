"""Long runs do not grow memory: 200 epochs of fit, 200 predict() and evaluate() calls, and repeated
save/load_model, measured with tracemalloc in a fresh interpreter.

tracemalloc sees every Python allocation and NumPy's array buffers (NumPy reports them to it); HDF5's
own C allocations are not traced, so save/load also checks the process's open files and prints its
resident size. Each measurement is taken after `gc.collect()`, so garbage waiting for the cycle collector
does not count as growth. History's per-epoch floats are expected growth and are subtracted explicitly.

This file is also the measuring script: `python test_memory_growth.py OUTPUT.json SAVE_DIR`.
"""
import functools
import gc
import json
import os
import subprocess
import sys
import tracemalloc
import types

import numpy as np
import pytest

# Growth allowed between the early and the late measurement, beyond History's own lists: a few
# interpreter caches (method caches, interned strings) settle late; anything kept per epoch or per call
# would pass this within a few dozen epochs (the smallest model's weights alone are ~1 KiB).
GROWTH_LIMIT_BYTES = 64 * 1024
EARLY_EPOCH, LAST_EPOCH = 20, 200
EARLY_CALLS, LAST_CALLS = 20, 200
EARLY_SAVES, LAST_SAVES = 5, 40
MEASURING_TIMEOUT_SECONDS = 150


def _traced_bytes():
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _resident_bytes():
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _open_file_count():
    return len(os.listdir("/proc/self/fd"))


def history_bytes(history):
    """What History holds: one list per logged name of one float per epoch, and the epoch list."""
    lists = list(history.history.values()) + [history.epoch]
    return sum(sys.getsizeof(values) + sum(sys.getsizeof(value) for value in values) for values in lists)


def _models(keras):
    rng = np.random.RandomState(0)
    tabular = rng.rand(32, 8).astype("float32")
    sequences = rng.rand(32, 6, 3).astype("float32")
    labels = rng.randint(0, 2, (32, 1)).astype("float32")
    mlp = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                            keras.layers.Dropout(0.2), keras.layers.Dense(1, activation="sigmoid")])
    lstm = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(8), keras.layers.Dense(1, activation="sigmoid")])
    for model in (mlp, lstm):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return {"mlp": (mlp, tabular, labels), "lstm": (lstm, sequences, labels)}


def _measure_fit(keras, model, x, y):
    """Traced bytes after EARLY_EPOCH and LAST_EPOCH epochs (History's own growth subtracted)."""
    readings = {}

    class Measure(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in (EARLY_EPOCH, LAST_EPOCH):
                readings[epoch + 1] = (_traced_bytes(), history_bytes(self.model.history))

    model.fit(x, y, epochs=LAST_EPOCH, batch_size=16, validation_split=0.25, verbose=0, callbacks=[Measure()])
    (early, early_history), (late, late_history) = readings[EARLY_EPOCH], readings[LAST_EPOCH]
    return {"growth": late - early - (late_history - early_history), "traced_growth": late - early,
            "history_growth": late_history - early_history}


def _measure_calls(call):
    """Traced bytes grown between the EARLY_CALLS-th and the LAST_CALLS-th call."""
    for _ in range(EARLY_CALLS):
        call()
    early = _traced_bytes()
    for _ in range(LAST_CALLS - EARLY_CALLS):
        call()
    return {"growth": _traced_bytes() - early}


def _measure_save_load(keras, model, x, save_dir):
    path = os.path.join(save_dir, "model.keras")

    def round_trip():
        model.save(path)
        keras.backend.clear_session()
        loaded = keras.models.load_model(path)
        loaded.predict(x, verbose=0)

    for _ in range(EARLY_SAVES):
        round_trip()
    early, early_resident, early_files = _traced_bytes(), _resident_bytes(), _open_file_count()
    for _ in range(LAST_SAVES - EARLY_SAVES):
        round_trip()
    return {"growth": _traced_bytes() - early, "resident_growth": _resident_bytes() - early_resident,
            "open_files_growth": _open_file_count() - early_files}


def measure_all(save_dir):
    import minikeras as keras

    tracemalloc.start()
    kept = []
    # A control that keeps 1 KiB per call, as a leak would: the measurement must see it.
    measurements = {"leaking control": _measure_calls(lambda: kept.append(np.zeros(128)))}
    for name, (model, x, y) in _models(keras).items():
        measurements[f"{name} fit"] = _measure_fit(keras, model, x, y)
        measurements[f"{name} predict"] = _measure_calls(functools.partial(model.predict, x, verbose=0))
        measurements[f"{name} evaluate"] = _measure_calls(functools.partial(model.evaluate, x, y, verbose=0))
        measurements[f"{name} save/load"] = _measure_save_load(keras, model, x, save_dir)
    return measurements


@pytest.fixture(scope="module")
def measurements(tmp_path_factory):
    folder = tmp_path_factory.mktemp("memory")
    output = folder / "measurements.json"
    completed = subprocess.run([sys.executable, os.path.abspath(__file__), str(output), str(folder)],
                               check=False, capture_output=True, text=True,
                               timeout=MEASURING_TIMEOUT_SECONDS)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(output.read_text())
    for name, numbers in result.items():
        print(f"{name}: {numbers}")
    return result


def test_the_measurement_sees_a_leak_of_1_kib_per_call(measurements):
    assert measurements["leaking control"]["growth"] >= (LAST_CALLS - EARLY_CALLS) * 1024 > GROWTH_LIMIT_BYTES


@pytest.mark.parametrize("model_name", ["mlp", "lstm"])
def test_200_epochs_of_fit_do_not_grow_memory(measurements, model_name):
    numbers = measurements[f"{model_name} fit"]
    assert numbers["growth"] < GROWTH_LIMIT_BYTES, numbers
    # History did grow by its floats (4 logged values over 180 epochs): the subtraction is not of nothing.
    assert numbers["history_growth"] >= 4 * (LAST_EPOCH - EARLY_EPOCH) * sys.getsizeof(0.0), numbers


@pytest.mark.parametrize("model_name", ["mlp", "lstm"])
@pytest.mark.parametrize("method", ["predict", "evaluate"])
def test_200_predict_and_evaluate_calls_do_not_grow_memory(measurements, model_name, method):
    assert measurements[f"{model_name} {method}"]["growth"] < GROWTH_LIMIT_BYTES, measurements[f"{model_name} {method}"]


@pytest.mark.parametrize("model_name", ["mlp", "lstm"])
def test_repeated_save_and_load_model_do_not_grow_memory_or_leak_files(measurements, model_name):
    numbers = measurements[f"{model_name} save/load"]
    assert numbers["growth"] < GROWTH_LIMIT_BYTES, numbers
    assert numbers["open_files_growth"] == 0, numbers


def test_history_bytes_counts_each_epoch_float():
    history = types.SimpleNamespace(history={"loss": [0.5, 0.25], "val_loss": [1.5, 1.25]}, epoch=[0, 1])
    assert history_bytes(history) == (3 * sys.getsizeof([0.5, 0.25]) + 4 * sys.getsizeof(0.5)
                                          + 2 * sys.getsizeof(0))


if __name__ == "__main__":
    with open(sys.argv[1], "w") as file:
        json.dump(measure_all(sys.argv[2]), file)

"""After `set_random_seed(s)`, training is bit-for-bit reproducible: across processes (whatever
PYTHONHASHSEED says), within one process after `clear_session()`, and under `import keras` through the
import hook; a different seed gives different weights and History.

The seeding idioms learners use were measured on real Keras 3.15.1 (TensorFlow backend) with an MLP with
Dropout trained with shuffle=True, repeating each idiom in a fresh process and in one process:
- `keras.utils.set_random_seed(s)`: same initial weights, same trained weights (with or without
  `clear_session()`).
- `np.random.seed(s)` alone, and `np.random.seed(s)` + `tf.random.set_seed(s)` (Keras 2 idiom): different
  initial weights each run. minikeras behaves the same (its generator is not NumPy's global one).
- `random.seed(s)` alone (after `clear_session()` or in a fresh process): Keras gives the same *initial*
  weights (its global SeedGenerator takes its seed from Python's `random` when first used) but different
  trained weights (TensorFlow shuffles with its own, unseeded generator). minikeras's generator, too, takes
  its seed from Python's `random` on first use, so its initial weights repeat as well.

Bit-identical results hold for a given BLAS thread count, which the runs here leave as the machine sets
it: NumPy's OpenBLAS (0.3.31) rounds a float32 product such as (128, 784) @ (784, 128) differently with 1
and with 2 threads (up to 6e-5 apart; 2 threads twice agree bit for bit), so the MNIST-sized MLP below
trained under OPENBLAS_NUM_THREADS=1 differs from the 2-thread run in the last bits (3.8e-7), as
TensorFlow's oneDNN kernels make real Keras runs differ between machines.

This file is also the training script its subprocesses run: `python test_reproducibility.py SEED OUT MODULE`.
"""
import importlib
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import minikeras

SEED = 3
MODEL_NAMES = ("mlp", "cnn", "rnn", "embedding", "batch_norm", "mnist_mlp")
TRAINING_TIMEOUT_SECONDS = 120


def _data():
    """Fixed data, drawn from its own generator so that no seeding idiom changes it."""
    rng = np.random.RandomState(0)
    return {
        "tabular": rng.rand(48, 6).astype("float32"),
        "classes": rng.randint(0, 3, 48),
        "images": rng.rand(16, 8, 8, 1).astype("float32"),
        "sequences": rng.rand(16, 5, 3).astype("float32"),
        "tokens": rng.randint(0, 20, (16, 6)),
        "targets": rng.rand(16, 1).astype("float32"),
        "pixels": rng.rand(256, 784).astype("float32"),
        "digits": rng.randint(0, 10, 256),
    }


def _models(keras):
    """(name, model, x, y, fit options): every layer whose weights or training draw random numbers, and
    every default initializer family (glorot_uniform kernels, orthogonal recurrent kernels, zeros
    biases, ones/zeros BatchNormalization parameters, uniform embeddings)."""
    layers = keras.layers
    data = _data()
    mlp = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                            layers.Dense(3, activation="softmax")])
    cnn = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                            layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(1)])
    rnn = keras.Sequential([keras.Input((5, 3)),
                            layers.LSTM(4, dropout=0.2, recurrent_dropout=0.2, return_sequences=True),
                            layers.GRU(3, dropout=0.2, recurrent_dropout=0.2), layers.Dense(1)])
    embedding = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4),
                                  layers.GlobalAveragePooling1D(), layers.Dense(1)])
    batch_norm = keras.Sequential([keras.Input((6,)), layers.Dense(8), layers.BatchNormalization(),
                                   layers.Activation("relu"), layers.Dense(1)])
    # The course's MNIST MLP size: matrix products large enough for the BLAS library to split over threads.
    mnist_mlp = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"), layers.Dropout(0.2),
                                  layers.Dense(10, activation="softmax")])
    regression = {"epochs": 2, "batch_size": 4, "shuffle": True}
    return [
        ("mlp", mlp, data["tabular"], data["classes"],
         {"epochs": 3, "batch_size": 8, "shuffle": True, "validation_split": 0.25}),
        ("cnn", cnn, data["images"], data["targets"], regression),
        ("rnn", rnn, data["sequences"], data["targets"], regression),
        ("embedding", embedding, data["tokens"], data["targets"], regression),
        ("batch_norm", batch_norm, data["tabular"][:16], data["targets"], regression),
        ("mnist_mlp", mnist_mlp, data["pixels"], data["digits"],
         {"epochs": 2, "batch_size": 128, "shuffle": True, "validation_split": 0.25}),
    ]


def train_all(keras):
    """Initial and trained weights (name -> array) and Histories (name -> dict) of every model."""
    weights, histories = {}, {}
    for name, model, x, y, fit_options in _models(keras):
        for index, value in enumerate(model.get_weights()):
            weights[f"{name}/initial/{index}"] = value
        classifies = name in ("mlp", "mnist_mlp")
        loss = "sparse_categorical_crossentropy" if classifies else "mse"
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"] if classifies else None)
        histories[name] = model.fit(x, y, verbose=0, **fit_options).history
        for index, value in enumerate(model.get_weights()):
            weights[f"{name}/trained/{index}"] = value
    return weights, histories


def _weights_fingerprint(keras):
    """The initial and trained weights of one small Dropout MLP, the model the Keras idioms were measured on."""
    rng = np.random.RandomState(0)
    x = rng.rand(64, 4).astype("float32")
    y = (x.sum(axis=1) > 2).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1, activation="sigmoid")])
    initial = model.get_weights()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=True)
    return initial, model.get_weights()


def _main(seed, output_path, module_name):
    keras = importlib.import_module(module_name)
    keras.utils.set_random_seed(seed)
    weights, histories = train_all(keras)
    np.savez(output_path + ".npz", **weights)
    with open(output_path + ".json", "w") as file:
        json.dump({"histories": histories, "keras_module": keras.__name__}, file)


def _run_in_subprocess(tmp_path, seed, hash_seed, label, through_hook=False):
    """Weights and the JSON record of `_main` run in a fresh interpreter."""
    output = str(tmp_path / label)
    command = [sys.executable, *(["-m", "minikeras"] if through_hook else []), os.path.abspath(__file__),
               str(seed), output, "keras" if through_hook else "minikeras"]
    # The hash seed is the only variable changed: the threading variables stay as the machine has them.
    environment = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    completed = subprocess.run(command, env=environment, check=False, capture_output=True, text=True,
                               timeout=TRAINING_TIMEOUT_SECONDS)
    assert completed.returncode == 0, completed.stderr[-3000:]
    with np.load(output + ".npz") as stored:
        weights = {key: stored[key] for key in stored.files}
    with open(output + ".json") as file:
        record = json.load(file)
    return weights, record


def _assert_bit_identical(first, second):
    assert first.keys() == second.keys()
    different = [key for key in first if first[key].dtype != second[key].dtype
                 or not np.array_equal(first[key], second[key])]
    assert not different, f"weights differ bitwise: {different}"


def _differing(first, second):
    return [key for key in first if not np.array_equal(first[key], second[key])]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three processes: seed SEED twice (different hash seeds, the second through `import keras` under
    the import hook) and seed SEED + 1."""
    tmp_path = tmp_path_factory.mktemp("reproducibility")
    return {
        "first": _run_in_subprocess(tmp_path, SEED, hash_seed=0, label="first"),
        "second": _run_in_subprocess(tmp_path, SEED, hash_seed=4242, label="second", through_hook=True),
        "other_seed": _run_in_subprocess(tmp_path, SEED + 1, hash_seed=0, label="other"),
    }


def test_the_hook_run_trained_with_keras_names_mapped_to_minikeras(runs):
    assert runs["first"][1]["keras_module"] == "minikeras"
    assert runs["second"][1]["keras_module"] == "minikeras"  # `import keras` resolved to minikeras


def test_same_seed_in_two_processes_gives_bit_identical_weights(runs):
    weights, _ = runs["first"]
    _assert_bit_identical(weights, runs["second"][0])
    assert all(value.dtype == np.float32 for value in weights.values())
    # Every model's weights were recorded before and after training.
    assert {key.split("/")[0] for key in weights} == set(MODEL_NAMES)


def test_same_seed_in_two_processes_gives_identical_histories(runs):
    first, second = runs["first"][1]["histories"], runs["second"][1]["histories"]
    assert first == second
    assert sorted(first["mlp"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(values) == 3 for values in first["mlp"].values())


def test_training_changed_every_model(runs):
    weights, _ = runs["first"]
    for name in MODEL_NAMES:
        initial = {key.split("/")[2]: value for key, value in weights.items() if key.startswith(f"{name}/initial/")}
        trained = {key.split("/")[2]: value for key, value in weights.items() if key.startswith(f"{name}/trained/")}
        assert any(not np.array_equal(initial[index], trained[index]) for index in initial), name


def test_a_different_seed_gives_different_initial_weights_training_and_history(runs):
    weights, record = runs["first"]
    other_weights, other_record = runs["other_seed"]
    differing = _differing(weights, other_weights)
    # Zeros/ones-initialized biases and BatchNormalization parameters start equal whatever the seed; every
    # randomly initialized kernel and every trained weight differs.
    for name in MODEL_NAMES:
        assert f"{name}/initial/0" in differing, name
        trained = [key for key in weights if key.startswith(f"{name}/trained/")]
        assert sum(key in differing for key in trained) >= len(trained) - 1, name
    for name, history in record["histories"].items():
        assert history["loss"] != other_record["histories"][name]["loss"], name


def test_same_seed_twice_in_one_process_after_clear_session(runs):
    minikeras.backend.clear_session()
    minikeras.utils.set_random_seed(SEED)
    first_weights, first_histories = train_all(minikeras)
    minikeras.backend.clear_session()
    minikeras.utils.set_random_seed(SEED)
    second_weights, second_histories = train_all(minikeras)
    _assert_bit_identical(first_weights, second_weights)
    assert first_histories == second_histories
    # And the same numbers as a fresh process: nothing earlier in the process leaks into the run.
    _assert_bit_identical(first_weights, runs["first"][0])
    assert json.loads(json.dumps(first_histories)) == runs["first"][1]["histories"]


def test_set_random_seed_without_clear_session_also_repeats():
    minikeras.utils.set_random_seed(SEED)
    first = _weights_fingerprint(minikeras)
    minikeras.utils.set_random_seed(SEED)
    second = _weights_fingerprint(minikeras)
    for before, after in zip(first, second):
        _assert_bit_identical(dict(enumerate(before)), dict(enumerate(after)))


def test_set_random_seed_seeds_python_and_numpy_as_keras_does():
    minikeras.utils.set_random_seed(SEED)
    drawn = (random.random(), np.random.rand())
    random.seed(SEED)
    np.random.seed(SEED)
    assert drawn == (random.random(), np.random.rand())


@pytest.mark.parametrize("numpy_seeding", [
    pytest.param(lambda: np.random.seed(1), id="np.random.seed"),
    pytest.param(lambda: (minikeras.backend.clear_session(), np.random.seed(1)), id="clear_session+np.random.seed"),
])
def test_numpy_seed_alone_does_not_make_training_reproducible_as_in_keras(numpy_seeding):
    numpy_seeding()
    first_initial, first_trained = _weights_fingerprint(minikeras)
    numpy_seeding()
    second_initial, second_trained = _weights_fingerprint(minikeras)
    # Keras 3 draws its initial weights and Dropout masks from its own SeedGenerator, so NumPy's seed
    # (with or without Keras 2's `tf.random.set_seed`) repeats neither; minikeras's generator is its own too.
    assert not np.array_equal(first_initial[0], second_initial[0])
    assert not np.array_equal(first_trained[0], second_trained[0])


def test_python_random_seed_after_clear_session_repeats_initial_weights_as_in_keras():
    minikeras.backend.clear_session()
    random.seed(1)
    first_initial, _ = _weights_fingerprint(minikeras)
    minikeras.backend.clear_session()
    random.seed(1)
    second_initial, _ = _weights_fingerprint(minikeras)
    _assert_bit_identical(dict(enumerate(first_initial)), dict(enumerate(second_initial)))


if __name__ == "__main__":
    _main(int(sys.argv[1]), sys.argv[2], sys.argv[3])

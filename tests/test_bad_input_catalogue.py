"""A catalogue of bad calls across the public API (issue 8, "Reliability").

Each case makes one bad call and must get a ValueError/TypeError raised by minikeras's own validation (the
innermost traceback frame is a minikeras file, not NumPy/h5py/zipfile), whose message names the argument
and what was received. Model-level cases also check the model is unchanged afterwards: its weights, its
optimizer's iterations and its History are those of before the call.

Cases real Keras 3.15.1 itself gets wrong (no error, a raw TensorFlow/h5py error, a silent wrong answer)
are listed in KERAS_GETS_WRONG with what Keras does; minikeras does better there. A case minikeras still
fails is a strict xfail whose reason names the fix it needs (file and function).
"""
import copy
import os
import traceback
import zipfile

import numpy as np
import pytest

import minikeras
from minikeras import callbacks, constraints, datasets, initializers, layers, losses, metrics, optimizers
from minikeras import regularizers, saving, utils
from minikeras.preprocessing import sequence, text
from minikeras.utils import file_utils

MINIKERAS_DIR = os.path.dirname(os.path.abspath(minikeras.__file__)) + os.sep

# What real Keras 3.15.1 (TensorFlow backend) does with the cases it gets wrong, observed by running the same
# calls on it (the Tokenizer cases on tf.keras 2's, Keras 3 having none): case ids of the tables below, grouped
# by Keras's behaviour.
KERAS_GETS_WRONG = {
    "no error: the bad value is used or ignored, or fails later": {
        "fit-batch_size-0", "fit-epochs--1", "fit-initial_epoch--1", "fit-validation_split-1.5",
        "fit-validation_freq-0", "fit-validation_freq-str", "fit-validation_batch_size-0", "fit-verbose-3",
        "fit-verbose-str", "fit-shuffle-str", "fit-steps_per_epoch-arrays", "fit-empty-x",
        "fit-class_weight-str-key", "evaluate-batch_size-0", "evaluate-verbose-bad", "evaluate-empty",
        "predict-batch_size-0", "predict-verbose-bad", "compile-unknown-loss", "compile-unknown-metric",
        "compile-loss-int", "compile-loss-list-too-long", "fit-sparse-float-labels",
        "fit-sparse-class_weight-unknown-class", "fit-binary-labels-out-of-range", "fit-binary-one-hot-labels",
        "fit-binary-negative-labels", "fit-negative-token", "MaxPooling2D-padding-unknown",
        "UpSampling2D-interpolation-unknown", "ZeroPadding2D-padding-negative", "LSTM-units-float",
        "LSTM-dropout-1.5", "LSTM-recurrent_dropout--1", "BatchNormalization-momentum-str", "Concatenate-axis-str",
        "Adam-learning_rate-negative", "Adam-beta_1-1.5", "Adam-beta_2--0.1", "Adam-epsilon-negative",
        "RMSprop-rho-2", "Adam-clipnorm-negative", "CategoricalCrossentropy-label_smoothing-str",
        "RandomNormal-stddev-negative", "RandomUniform-minval-above-maxval", "Constant-value-str",
        "Orthogonal-gain-str", "MaxNorm-max_value-negative", "MinMaxNorm-min-above-max",
        "EarlyStopping-patience-negative", "EarlyStopping-patience-str", "EarlyStopping-start_from_epoch-negative",
        "EarlyStopping-monitor-int", "ModelCheckpoint-save_freq-0", "ReduceLROnPlateau-factor-negative",
        "ReduceLROnPlateau-patience-negative", "ReduceLROnPlateau-min_lr-negative",
        "ReduceLROnPlateau-cooldown-negative", "LearningRateScheduler-not-callable", "CSVLogger-separator-long",
        "CSVLogger-filename-None", "LambdaCallback-not-callable", "TerminateOnNaN-raise_error-str",
        "to_categorical-num_classes-0", "normalize-order-0", "Tokenizer-num_words-negative",
        "predict-two-arrays-for-one-input", "Input-batch_size-0", "LSTM-return_sequences-str", "Adam-amsgrad-str",
        "AdamW-weight_decay-negative", "Huber-delta-negative", "TopKCategoricalAccuracy-k-0",
        "SparseTopKCategoricalAccuracy-k-str", "load_weights-skip_mismatch-str", "save-overwrite-str",
        "EarlyStopping-restore_best_weights-str", "EarlyStopping-baseline-str",
        "ModelCheckpoint-initial_value_threshold-str", "ModelCheckpoint-save_best_only-str", "CSVLogger-append-str",
        "load_model-compile-str",
    },
    "a raw TensorFlow error (InvalidArgumentError, graph execution error) from inside the computation": {
        "fit-batch_size--1", "fit-batch_size-float", "fit-wrong-feature-count", "fit-categorical-wrong-class-count",
        "fit-sample_weight-2d", "fit-sparse-label-out-of-range", "fit-sparse-label-negative",
        "evaluate-sparse-label-out-of-range", "fit-sparse-validation-label-out-of-range", "fit-mse-target-shape",
        "fit-second-input-wrong-features", "fit-token-out-of-vocabulary", "predict-token-out-of-vocabulary",
        "loss-call-shape-mismatch", "Dropout-noise_shape-incompatible", "sparse-loss-label-out-of-range",
        "CategoricalAccuracy-sample-count-mismatch", "Mean-update-str",
    },
    "an error from NumPy, h5py, zipfile or optree, naming no argument": {
        "fit-string-x", "fit-object-x", "fit-string-y", "fit-sample_weight-str", "load_weights-missing-file",
        "load_weights-foreign-file", "fit-mse-target-rank", "load_model-foreign-zip", "load_model-foreign-h5",
        "normalize-axis-out-of-range", "normalize-order-str", "normalize-strings", "set_random_seed-negative",
        "pad_sequences-maxlen-negative", "pad_sequences-maxlen-str", "pad_sequences-dtype-unknown",
        "load_weights-corrupt-h5", "load_model-corrupt-h5", "BackupAndRestore-dir-int", "pad_sequences-value-list",
    },
    "a Python error (AttributeError, IndexError, KeyError, ZeroDivisionError, ...) from Keras's internals": {
        "fit-scalar-x", "fit-class_weight-list", "fit-callbacks-not-callback", "predict-empty", "predict-None",
        "BatchNormalization-axis-out-of-range", "LayerNormalization-axis-out-of-range",
        "Concatenate-axis-out-of-range", "ModelCheckpoint-filepath-None", "save_model-not-a-model",
        "save_model-no-overwrite", "to_categorical-label-too-large", "to_categorical-only-negative-labels",
        "Sequential-pop-empty", "register_keras_serializable-not-callable", "fit-callbacks-class-not-instance",
        "load_model-custom_objects-list", "Tokenizer-fit_on_texts-int", "text_to_word_sequence-int", "one_hot-n-1",
    },
    "a clear error, but only after fit replaced the History (or compile the optimizer)": {
        "fit-epochs-str", "fit-epochs-float", "fit-validation_data-1-tuple", "fit-validation_data-str",
        "fit-validation_data-length-mismatch", "fit-validation_data-wrong-features", "fit-x-None", "fit-y-None",
        "fit-wrong-rank", "fit-dict-x", "fit-categorical-sparse-labels", "compile-metrics-int",
        "fit-sparse-one-hot-labels", "fit-one-array-for-two-inputs", "fit-three-arrays-for-two-inputs",
        "fit-dict-unknown-input-name",
    },
    "the file is downloaded before the argument is looked at": {
        "california_housing-version-unknown", "imdb-num_words-negative", "imdb-maxlen-0", "reuters-test_split-2",
        "reuters-skip_top-negative", "get_file-hash_algorithm-unknown", "imdb-seed-str", "reuters-index_from-float",
    },
}

FEATURES, CLASSES, SAMPLES = 4, 3, 8
X = np.linspace(-1, 1, SAMPLES * FEATURES, dtype="float32").reshape(SAMPLES, FEATURES)
SPARSE_Y = np.arange(SAMPLES) % CLASSES
ONE_HOT_Y = np.eye(CLASSES, dtype="float32")[SPARSE_Y]
BINARY_Y = (np.arange(SAMPLES) % 2).reshape(SAMPLES, 1).astype("float32")
VOCABULARY, STEPS = 10, 5
TOKENS = (np.arange(SAMPLES * STEPS) % VOCABULARY).reshape(SAMPLES, STEPS)
X_B = X[:, :2]


def fitted_model(kind):
    """A small classifier trained for one epoch: a Dense softmax (or sigmoid) head on 4 features, on two
    inputs (`two_inputs`), or on an Embedding of 5 tokens (`embedding`)."""
    loss = {"two_inputs": "categorical_crossentropy", "embedding": "sparse_categorical_crossentropy"}.get(kind, kind)
    head = layers.Dense(1, activation="sigmoid") if loss == "binary_crossentropy" else layers.Dense(
        CLASSES, activation="softmax")
    if kind == "two_inputs":
        input_a, input_b = layers.Input((FEATURES,), name="a"), layers.Input((2,), name="b")
        model, x = minikeras.Model([input_a, input_b], head(layers.Concatenate()([input_a, input_b]))), [X, X_B]
    elif kind == "embedding":
        model = sequential(layers.Input((STEPS,)), layers.Embedding(VOCABULARY, 4), layers.GlobalAveragePooling1D(),
                           head)
        x = TOKENS
    else:
        model, x = sequential(layers.Input((FEATURES,)), head), X
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    targets = {"sparse_categorical_crossentropy": SPARSE_Y, "binary_crossentropy": BINARY_Y}.get(loss, ONE_HOT_Y)
    model.fit(x, targets, epochs=1, batch_size=4, verbose=0)
    return model


def snapshot(model):
    return {"weights": [w.copy() for w in model.get_weights()], "optimizer": model.optimizer,
            "iterations": model.optimizer.iterations, "compile_config": model.get_compile_config(),
            "history": copy.deepcopy(dict(model.history.history)), "epochs": list(model.history.epoch)}


def assert_unchanged(before, after):
    assert len(after["weights"]) == len(before["weights"])
    for old, new in zip(before["weights"], after["weights"]):
        np.testing.assert_array_equal(new, old)
    assert after["optimizer"] is before["optimizer"]
    for key in ("iterations", "compile_config", "history", "epochs"):
        assert after[key] == before[key], key


def assert_own_error(excinfo, fragments):
    """Raised by minikeras's own code (innermost frame), with every fragment in the message."""
    innermost = traceback.extract_tb(excinfo.tb)[-1].filename
    assert os.path.abspath(innermost).startswith(MINIKERAS_DIR), f"raised from {innermost}: {excinfo.value!r}"
    message = str(excinfo.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def case(case_id, call, error, *fragments, needs=None):
    marks = [pytest.mark.xfail(strict=True, reason=f"needs: {needs}")] if needs else []
    return pytest.param(call, error, fragments, id=case_id, marks=marks)


def sequential(*stack):
    return minikeras.Sequential(list(stack))


# ---------------------------------------------------------------- model-level cases: call(model)
MODEL_CASES = {
    "categorical_crossentropy": [
        # fit arguments
        case("fit-batch_size-0", lambda m: m.fit(X, ONE_HOT_Y, batch_size=0, verbose=0), ValueError,
             "batch_size", "0"),
        case("fit-batch_size--1", lambda m: m.fit(X, ONE_HOT_Y, batch_size=-1, verbose=0), ValueError,
             "batch_size", "-1"),
        case("fit-batch_size-float", lambda m: m.fit(X, ONE_HOT_Y, batch_size=1.5, verbose=0), ValueError,
             "batch_size", "1.5"),
        case("fit-batch_size-str", lambda m: m.fit(X, ONE_HOT_Y, batch_size="32", verbose=0), ValueError,
             "batch_size", "'32'"),
        case("fit-epochs--1", lambda m: m.fit(X, ONE_HOT_Y, epochs=-1, verbose=0), ValueError, "epochs", "-1"),
        case("fit-epochs-str", lambda m: m.fit(X, ONE_HOT_Y, epochs="3", verbose=0), ValueError, "epochs", "'3'"),
        case("fit-epochs-float", lambda m: m.fit(X, ONE_HOT_Y, epochs=2.5, verbose=0), ValueError, "epochs", "2.5"),
        case("fit-initial_epoch--1", lambda m: m.fit(X, ONE_HOT_Y, initial_epoch=-1, verbose=0), ValueError,
             "initial_epoch", "-1"),
        case("fit-validation_split-1.5", lambda m: m.fit(X, ONE_HOT_Y, validation_split=1.5, verbose=0),
             ValueError, "validation_split", "1.5"),
        case("fit-validation_split--0.1", lambda m: m.fit(X, ONE_HOT_Y, validation_split=-0.1, verbose=0),
             ValueError, "validation_split", "-0.1"),
        case("fit-validation_split-1", lambda m: m.fit(X, ONE_HOT_Y, validation_split=1.0, verbose=0),
             ValueError, "validation_split", "1.0"),
        case("fit-validation_split-str", lambda m: m.fit(X, ONE_HOT_Y, validation_split="0.2", verbose=0),
             ValueError, "validation_split", "'0.2'"),
        case("fit-validation_split-too-few", lambda m: m.fit(X[:1], ONE_HOT_Y[:1], validation_split=0.5, verbose=0),
             ValueError, "validation_split=0.5", "1 samples"),
        case("fit-validation_data-1-tuple", lambda m: m.fit(X, ONE_HOT_Y, validation_data=(X,), verbose=0),
             ValueError, "validation_data"),
        case("fit-validation_data-4-tuple",
             lambda m: m.fit(X, ONE_HOT_Y, validation_data=(X, ONE_HOT_Y, None, None), verbose=0),
             ValueError, "validation_data"),
        case("fit-validation_data-str", lambda m: m.fit(X, ONE_HOT_Y, validation_data="val", verbose=0),
             ValueError, "validation_data"),
        case("fit-validation_data-length-mismatch",
             lambda m: m.fit(X, ONE_HOT_Y, validation_data=(X, ONE_HOT_Y[:5]), verbose=0),
             ValueError, "x_val", "y_val", "8", "5"),
        case("fit-validation_data-wrong-features",
             lambda m: m.fit(X, ONE_HOT_Y, validation_data=(X[:, :2], ONE_HOT_Y), verbose=0),
             ValueError, "(None, 2)", "4"),
        case("fit-validation_freq-0", lambda m: m.fit(X, ONE_HOT_Y, validation_freq=0, verbose=0), ValueError,
             "validation_freq", "0"),
        case("fit-validation_freq-str", lambda m: m.fit(X, ONE_HOT_Y, validation_freq="1", verbose=0), ValueError,
             "validation_freq", "1"),
        case("fit-validation_batch_size-0", lambda m: m.fit(X, ONE_HOT_Y, validation_batch_size=0, verbose=0),
             ValueError, "validation_batch_size", "0"),
        case("fit-verbose-3", lambda m: m.fit(X, ONE_HOT_Y, verbose=3), ValueError, "verbose", "3"),
        case("fit-verbose-str", lambda m: m.fit(X, ONE_HOT_Y, verbose="loud"), ValueError, "verbose", "'loud'"),
        case("fit-shuffle-str", lambda m: m.fit(X, ONE_HOT_Y, shuffle="yes", verbose=0), ValueError,
             "shuffle", "'yes'"),
        case("fit-unknown-kwarg", lambda m: m.fit(X, ONE_HOT_Y, learning_rate=0.1, verbose=0), TypeError,
             "learning_rate"),
        case("fit-nb_epoch", lambda m: m.fit(X, ONE_HOT_Y, nb_epoch=2, verbose=0), TypeError, "nb_epoch", "epochs"),
        case("fit-steps_per_epoch-arrays", lambda m: m.fit(X, ONE_HOT_Y, steps_per_epoch=2, verbose=0),
             ValueError, "steps_per_epoch"),
        # fit data
        case("fit-x-None", lambda m: m.fit(None, ONE_HOT_Y, verbose=0), ValueError, "`x`", "None"),
        case("fit-y-None", lambda m: m.fit(X, None, verbose=0), ValueError, "`y`", "None"),
        case("fit-x-y-length-mismatch", lambda m: m.fit(X, ONE_HOT_Y[:5], verbose=0), ValueError,
             "x", "y", "8", "5"),
        case("fit-wrong-feature-count", lambda m: m.fit(X[:, :3], ONE_HOT_Y, verbose=0), ValueError,
             "(None, 3)", "4"),
        case("fit-wrong-rank", lambda m: m.fit(X.reshape(SAMPLES, 2, 2), ONE_HOT_Y, verbose=0), ValueError,
             "(None, 4)", "(8, 2, 2)"),
        case("fit-scalar-x", lambda m: m.fit(np.float32(1.0), ONE_HOT_Y, verbose=0), ValueError, "x"),
        case("fit-empty-x", lambda m: m.fit(X[:0], ONE_HOT_Y[:0], verbose=0), ValueError, "x", "(0, 4)"),
        case("fit-string-x", lambda m: m.fit(X.astype(str), ONE_HOT_Y, verbose=0), TypeError, "x"),
        case("fit-object-x", lambda m: m.fit(X.astype(object), ONE_HOT_Y, verbose=0), TypeError, "x"),
        case("fit-ragged-x", lambda m: m.fit([[1.0, 2.0], [3.0]], ONE_HOT_Y[:2], verbose=0), ValueError, "x"),
        case("fit-string-y", lambda m: m.fit(X, ONE_HOT_Y.astype(str), verbose=0), TypeError, "y"),
        case("fit-dict-x", lambda m: m.fit({"a": X}, ONE_HOT_Y, verbose=0), ValueError, "x"),
        case("fit-set-x", lambda m: m.fit({1, 2}, ONE_HOT_Y, verbose=0), TypeError, "x"),
        case("fit-categorical-sparse-labels", lambda m: m.fit(X, SPARSE_Y, verbose=0), ValueError,
             "target.shape=(8,)", "output.shape=(8, 3)"),
        case("fit-categorical-wrong-class-count", lambda m: m.fit(X, np.eye(5)[SPARSE_Y], verbose=0), ValueError,
             "target.shape=(8, 5)", "output.shape=(8, 3)"),
        case("fit-sample_weight-length", lambda m: m.fit(X, ONE_HOT_Y, sample_weight=np.ones(5), verbose=0),
             ValueError, "sample_weight", "5", "8"),
        case("fit-sample_weight-2d", lambda m: m.fit(X, ONE_HOT_Y, sample_weight=np.ones((SAMPLES, 2)), verbose=0),
             ValueError, "sample_weight", "(8, 2)"),
        case("fit-sample_weight-str", lambda m: m.fit(X, ONE_HOT_Y, sample_weight=np.array(["a"] * SAMPLES),
                                                      verbose=0), TypeError, "sample_weight"),
        case("fit-class_weight-list", lambda m: m.fit(X, ONE_HOT_Y, class_weight=[1.0, 2.0, 3.0], verbose=0),
             TypeError, "class_weight"),
        case("fit-class_weight-str-key", lambda m: m.fit(X, ONE_HOT_Y, class_weight={"a": 1.0, 1: 1.0, 2: 1.0},
                                                         verbose=0), ValueError, "class_weight", "'a'"),
        case("fit-class_weight-and-sample_weight",
             lambda m: m.fit(X, ONE_HOT_Y, class_weight={0: 1, 1: 1, 2: 1}, sample_weight=np.ones(SAMPLES),
                             verbose=0), ValueError, "class_weight", "sample_weight"),
        case("fit-callbacks-not-callback", lambda m: m.fit(X, ONE_HOT_Y, callbacks=["early"], verbose=0),
             TypeError, "callbacks", "'early'"),
        # evaluate / predict / *_on_batch
        case("evaluate-batch_size-0", lambda m: m.evaluate(X, ONE_HOT_Y, batch_size=0, verbose=0), ValueError,
             "batch_size", "0"),
        case("evaluate-verbose-bad", lambda m: m.evaluate(X, ONE_HOT_Y, verbose=-1), ValueError, "verbose", "-1"),
        case("evaluate-length-mismatch", lambda m: m.evaluate(X, ONE_HOT_Y[:3], verbose=0), ValueError,
             "x", "y", "8", "3"),
        case("evaluate-wrong-features", lambda m: m.evaluate(X[:, :1], ONE_HOT_Y, verbose=0), ValueError,
             "(None, 1)"),
        case("evaluate-empty", lambda m: m.evaluate(X[:0], ONE_HOT_Y[:0], verbose=0), ValueError, "x", "(0, 4)"),
        case("evaluate-y-None", lambda m: m.evaluate(X, verbose=0), ValueError, "`y`", "None"),
        case("evaluate-unknown-kwarg", lambda m: m.evaluate(X, ONE_HOT_Y, epochs=2, verbose=0), TypeError, "epochs"),
        case("evaluate-sample_weight-length", lambda m: m.evaluate(X, ONE_HOT_Y, sample_weight=np.ones(3),
                                                                   verbose=0), ValueError, "sample_weight", "3"),
        case("predict-batch_size-0", lambda m: m.predict(X, batch_size=0, verbose=0), ValueError, "batch_size", "0"),
        case("predict-batch_size-str", lambda m: m.predict(X, batch_size="8", verbose=0), ValueError,
             "batch_size", "'8'"),
        case("predict-verbose-bad", lambda m: m.predict(X, verbose="yes"), ValueError, "verbose", "'yes'"),
        case("predict-wrong-features", lambda m: m.predict(X[:, :2], verbose=0), ValueError, "(None, 2)"),
        case("predict-empty", lambda m: m.predict(X[:0], verbose=0), ValueError, "x", "(0, 4)"),
        case("predict-None", lambda m: m.predict(None, verbose=0), ValueError, "`x`", "None"),
        case("predict-string", lambda m: m.predict(X.astype(str), verbose=0), TypeError, "x"),
        case("predict-1d", lambda m: m.predict(X[0], verbose=0), ValueError, "(None, 4)", "(4,)"),
        case("train_on_batch-length-mismatch", lambda m: m.train_on_batch(X, ONE_HOT_Y[:2]), ValueError,
             "x", "y", "8", "2"),
        case("train_on_batch-wrong-labels", lambda m: m.train_on_batch(X, SPARSE_Y), ValueError, "(8,)"),
        case("test_on_batch-wrong-features", lambda m: m.test_on_batch(X[:, :3], ONE_HOT_Y), ValueError,
             "(None, 3)"),
        case("predict_on_batch-wrong-features", lambda m: m.predict_on_batch(X[:, :3]), ValueError, "(None, 3)"),
        # compile on an already trained model: a bad compile must leave the old configuration usable
        case("compile-unknown-optimizer", lambda m: m.compile(optimizer="adamm", loss="mse"), ValueError, "adamm"),
        case("compile-unknown-loss", lambda m: m.compile(optimizer="adam", loss="cross_entropy"), ValueError,
             "cross_entropy"),
        case("compile-unknown-metric", lambda m: m.compile(optimizer="adam", loss="mse", metrics=["acuracy"]),
             ValueError, "acuracy"),
        case("compile-optimizer-int", lambda m: m.compile(optimizer=3, loss="mse"), ValueError, "3"),
        case("compile-loss-int", lambda m: m.compile(optimizer="adam", loss=3), ValueError, "3"),
        case("compile-metrics-int", lambda m: m.compile(optimizer="adam", loss="mse", metrics=3), ValueError, "3"),
        case("compile-loss-list-too-long", lambda m: m.compile(optimizer="adam", loss=["mse", "mae"]), ValueError,
             "loss", "1", "2"),
        # saving a trained model
        case("save-unknown-extension", lambda m: m.save("model.pkl"), ValueError, "model.pkl", ".keras"),
        case("save-no-extension", lambda m: m.save("model"), ValueError, "model", ".keras"),
        case("save-unknown-kwarg", lambda m: m.save("model.keras", compression=True), ValueError, "compression"),
        case("save_weights-wrong-extension", lambda m: m.save_weights("weights.h5"), ValueError, "weights.h5",
             ".weights.h5"),
        case("load_weights-corrupt-h5", lambda m: m.load_weights(corrupt_h5("bad.weights.h5")), ValueError,
             "bad.weights.h5", "HDF5"),
        case("load_weights-skip_mismatch-str", lambda m: m.load_weights(own_weights(m), skip_mismatch="yes"),
             TypeError, "skip_mismatch", "'yes'"),
        case("save-overwrite-str", lambda m: m.save("again.keras", overwrite="no"), TypeError, "overwrite", "'no'"),
        case("fit-callbacks-class-not-instance", lambda m: m.fit(X, ONE_HOT_Y, callbacks=[callbacks.EarlyStopping],
                                                                 verbose=0), TypeError, "callbacks", "EarlyStopping"),
        case("load_weights-missing-file", lambda m: m.load_weights("missing.weights.h5"), ValueError,
             "missing.weights.h5"),
        case("load_weights-unknown-extension", lambda m: m.load_weights("weights.bin"), ValueError, "weights.bin"),
        case("load_weights-foreign-file", lambda m: m.load_weights(foreign_file("foreign.weights.h5")), ValueError,
             "foreign.weights.h5"),
        case("load_weights-wrong-architecture", lambda m: m.load_weights(other_architecture_weights()), ValueError,
             "dense"),
        case("set_weights-wrong-count", lambda m: m.set_weights(m.get_weights()[:1]), ValueError, "1", "2"),
        case("set_weights-wrong-shape", lambda m: m.set_weights([np.zeros((5, 3)), np.zeros(3)]), ValueError,
             "(5, 3)", "(4, 3)"),
        case("layer-set_weights-wrong-shape", lambda m: m.layers[0].set_weights([np.zeros((4, 2)), np.zeros(3)]),
             ValueError, "(4, 2)", "(4, 3)"),
    ],
    "sparse_categorical_crossentropy": [
        case("fit-sparse-label-out-of-range", lambda m: m.fit(X, SPARSE_Y + 1, verbose=0), ValueError, "3"),
        case("fit-sparse-label-negative", lambda m: m.fit(X, SPARSE_Y - 1, verbose=0), ValueError, "-1"),
        case("fit-sparse-one-hot-labels", lambda m: m.fit(X, ONE_HOT_Y, verbose=0), ValueError, "(8, 3)"),
        case("fit-sparse-float-labels", lambda m: m.fit(X, SPARSE_Y + 0.5, verbose=0), ValueError, "0.5"),
        case("evaluate-sparse-label-out-of-range", lambda m: m.evaluate(X, SPARSE_Y * 5, verbose=0), ValueError,
             "10"),
        case("fit-sparse-validation-label-out-of-range",
             lambda m: m.fit(X, SPARSE_Y, validation_data=(X, SPARSE_Y + 7), verbose=0), ValueError, "7"),
        case("fit-sparse-class_weight-unknown-class",
             lambda m: m.fit(X, SPARSE_Y, class_weight={0: 1.0, 1: 1.0, 2: 1.0, 7: 1.0}, verbose=0), ValueError,
             "class_weight", "7"),
    ],
    "binary_crossentropy": [
        case("fit-binary-labels-out-of-range", lambda m: m.fit(X, BINARY_Y * 3, verbose=0), ValueError, "3"),
        case("fit-binary-one-hot-labels", lambda m: m.fit(X, ONE_HOT_Y, verbose=0), ValueError, "(8, 3)"),
        case("fit-binary-negative-labels", lambda m: m.fit(X, -BINARY_Y, verbose=0), ValueError, "-1"),
    ],
    "mse": [
        case("fit-mse-target-shape", lambda m: m.fit(X, ONE_HOT_Y[:, :2], verbose=0), ValueError, "(8, 2)"),
        case("fit-mse-target-rank", lambda m: m.fit(X, ONE_HOT_Y[:, :, None], verbose=0), ValueError, "(8, 3, 1)"),
    ],
    "two_inputs": [
        case("fit-one-array-for-two-inputs", lambda m: m.fit(X, ONE_HOT_Y, verbose=0), ValueError, "2", "input"),
        case("fit-three-arrays-for-two-inputs", lambda m: m.fit([X, X_B, X_B], ONE_HOT_Y, verbose=0), ValueError,
             "2", "3"),
        case("fit-inputs-length-mismatch", lambda m: m.fit([X, X_B[:5]], ONE_HOT_Y, verbose=0), ValueError,
             "'x' sizes: 8, 5"),
        case("fit-second-input-wrong-features", lambda m: m.fit([X, X], ONE_HOT_Y, verbose=0), ValueError,
             "(None, 2)", "(8, 4)"),
        case("fit-dict-unknown-input-name", lambda m: m.fit({"a": X, "c": X_B}, ONE_HOT_Y, verbose=0), ValueError,
             "c"),
        case("predict-one-array-for-two-inputs", lambda m: m.predict([X], verbose=0), ValueError, "2", "1"),
        case("evaluate-swapped-inputs", lambda m: m.evaluate([X_B, X], ONE_HOT_Y, verbose=0), ValueError,
             "(None, 4)", "(8, 2)"),
    ],
    "embedding": [
        case("fit-token-out-of-vocabulary", lambda m: m.fit(TOKENS + 1, SPARSE_Y, verbose=0), ValueError,
             "10", "input_dim"),
        case("fit-negative-token", lambda m: m.fit(TOKENS - 1, SPARSE_Y, verbose=0), ValueError, "-1"),
        case("predict-token-out-of-vocabulary", lambda m: m.predict(TOKENS * 3, verbose=0), ValueError, "index",
             "outside [0, 10)"),
    ],
}


def foreign_file(name):
    """A file with the right extension that is not what it claims (a zip of junk)."""
    with zipfile.ZipFile(name, "w") as archive:
        archive.writestr("junk.txt", "not a keras file")
    return name


def other_architecture_weights():
    other = sequential(layers.Input((7,)), layers.Dense(2))
    other.save_weights("other.weights.h5")
    return "other.weights.h5"


@pytest.mark.parametrize("kind, call, error, fragments", [
    pytest.param(kind, *param.values, id=param.id, marks=param.marks)
    for kind, params in MODEL_CASES.items() for param in params])
def test_bad_model_call_raises_own_error_and_leaves_model_unchanged(kind, call, error, fragments, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = fitted_model(kind)
    before = snapshot(model)
    with pytest.raises(error) as excinfo:
        call(model)
    assert_own_error(excinfo, fragments)
    assert_unchanged(before, snapshot(model))


# ---------------------------------------------------------------- everything else: call()
def built_dense_model():
    return sequential(layers.Input((FEATURES,)), layers.Dense(2))


PLAIN_CASES = [
    # models
    case("Sequential-layers-not-layer", lambda: minikeras.Sequential(["dense"]), ValueError, "dense", "str"),
    case("Sequential-add-not-layer", lambda: minikeras.Sequential().add(3), ValueError, "3"),
    case("Sequential-add-class-not-instance", lambda: minikeras.Sequential().add(layers.Dense), ValueError, "Dense"),
    case("Sequential-add-incompatible-layer", lambda: sequential(layers.Input((4,)), layers.Flatten()).add(
        layers.Conv2D(2, 3)), ValueError, "conv2d", "(None, 4)"),
    case("Model-inputs-not-tensors", lambda: minikeras.Model(inputs=np.zeros((2, 3)), outputs=np.zeros((2, 3))),
         ValueError, "inputs", "KerasTensor"),
    case("Model-disconnected-output", lambda: minikeras.Model(layers.Input((3,)), layers.Dense(2)(layers.Input((3,)))),
         ValueError, "input"),
    case("Model-unknown-kwarg", lambda: minikeras.Model(layers.Input((3,)), layers.Dense(2)(layers.Input((3,))),
                                                         foo=1), TypeError, "foo"),
    case("Model-outputs-not-tensor", lambda: minikeras.Model(layers.Input((2,)), "out"), ValueError, "outputs",
         "'out'"),
    case("Sequential-pop-empty", lambda: minikeras.Sequential().pop(), TypeError, "no layers"),
    case("get_layer-unknown-name", lambda: built_dense_model().get_layer("nope"), ValueError, "nope"),
    case("get_layer-index-out-of-range", lambda: built_dense_model().get_layer(index=5), ValueError, "index 5", "1"),
    case("count_params-unbuilt", lambda: sequential(layers.Dense(2)).count_params(), ValueError, "count_params",
         "built"),
    case("set_weights-unbuilt-layer", lambda: layers.Dense(2).set_weights([np.zeros((2, 2))]), ValueError,
         "length 1", "0 weights"),
    case("compile-loss_weights-str", lambda: built_dense_model().compile("adam", "mse", loss_weights="x"),
         ValueError, "loss_weights", "x"),
    case("predict-two-arrays-for-one-input", lambda: built_dense_model().predict([X, X], verbose=0), ValueError,
         "(None, 4)", "(2, 8, 4)"),
    case("Input-batch_size-0", lambda: layers.Input((2,), batch_size=0), ValueError, "batch_size", "0"),
    case("Input-shape-and-batch_shape", lambda: layers.Input((2,), batch_shape=(None, 2)), ValueError, "shape",
         "batch_shape"),
    case("layers-deserialize-unknown-class", lambda: layers.deserialize({"class_name": "Dense2", "config": {}}),
         TypeError, "Dense2"),
    case("register_keras_serializable-not-callable", lambda: saving.register_keras_serializable()(3), TypeError,
         "3", "int"),
    case("fit-before-compile", lambda: built_dense_model().fit(X, ONE_HOT_Y[:, :2], verbose=0), ValueError, "compile"),
    case("evaluate-before-compile", lambda: built_dense_model().evaluate(X, ONE_HOT_Y[:, :2], verbose=0), ValueError,
         "compile"),
    case("compile-no-loss-then-fit", lambda: (lambda m: (m.compile("adam"), m.fit(X, ONE_HOT_Y[:, :2], verbose=0)))(
        built_dense_model()), ValueError, "loss"),
    case("Input-shape-negative", lambda: layers.Input((-1, 3)), ValueError, "-1"),
    case("Input-shape-str", lambda: layers.Input("abc"), ValueError, "abc"),
    case("Input-shape-float", lambda: layers.Input((2.5,)), ValueError, "2.5"),
    case("Input-no-shape", lambda: layers.Input(), ValueError, "shape"),
    case("Input-unknown-dtype", lambda: layers.Input((3,), dtype="float33"), ValueError, "dtype", "float33"),
    case("Dense-unknown-dtype", lambda: layers.Dense(2, dtype="float33"), ValueError, "dtype", "float33"),
    # Dense and core layers
    case("Dense-units-0", lambda: layers.Dense(0), ValueError, "units", "0"),
    case("Dense-units--1", lambda: layers.Dense(-1), ValueError, "units", "-1"),
    case("Dense-units-float", lambda: layers.Dense(2.5), ValueError, "units", "2.5"),
    case("Dense-units-str", lambda: layers.Dense("8"), ValueError, "units", "8"),
    case("Dense-units-None", lambda: layers.Dense(None), ValueError, "units", "None"),
    case("Dense-activation-unknown", lambda: layers.Dense(2, activation="relux"), ValueError, "relux"),
    case("Dense-activation-int", lambda: layers.Dense(2, activation=3), ValueError, "3"),
    case("Dense-kernel_initializer-unknown", lambda: layers.Dense(2, kernel_initializer="glorot"), ValueError,
         "glorot"),
    case("Dense-bias_initializer-int", lambda: layers.Dense(2, bias_initializer=5), ValueError, "5"),
    case("Dense-kernel_regularizer-unknown", lambda: layers.Dense(2, kernel_regularizer="l3"), ValueError, "l3"),
    case("Dense-kernel_constraint-unknown", lambda: layers.Dense(2, kernel_constraint="positive"), ValueError,
         "positive"),
    case("Dense-unknown-kwarg", lambda: layers.Dense(2, unit=3), ValueError, "Dense", "'unit': 3"),
    case("Dense-call-scalar", lambda: layers.Dense(2)(np.float32(3.0)), ValueError, "dense"),
    case("Dense-call-wrong-features", lambda: (lambda d: (d(np.zeros((1, 3))), d(np.zeros((1, 5)))))(layers.Dense(2)),
         ValueError, "(1, 5)", "3"),
    case("Dense-activity_regularizer-unknown", lambda: layers.Dense(2, activity_regularizer="l5"), ValueError, "l5"),
    case("Dense-call-strings", lambda: layers.Dense(2)(np.array([["a", "b"]])), ValueError, "dense", "<U1"),
    case("Dropout-noise_shape-incompatible", lambda: layers.Dropout(0.5, noise_shape=(1, 5))(np.ones((2, 3)),
                                                                                              training=True),
         ValueError, "noise_shape", "(1, 5)", "(2, 3)"),
    case("Dropout-seed-str", lambda: layers.Dropout(0.5, seed="x"), ValueError, "seed", "x"),
    case("Activation-unknown", lambda: layers.Activation("sigmoidd"), ValueError, "sigmoidd"),
    case("Dropout-rate-1.5", lambda: layers.Dropout(1.5), ValueError, "rate", "1.5"),
    case("Dropout-rate--0.1", lambda: layers.Dropout(-0.1), ValueError, "rate", "-0.1"),
    case("Dropout-rate-str", lambda: layers.Dropout("0.5"), ValueError, "rate", "0.5"),
    case("Reshape-two-unknowns", lambda: layers.Reshape((-1, -1)), ValueError, "-1"),
    case("Reshape-incompatible", lambda: sequential(layers.Input((6,)), layers.Reshape((4, 2))), ValueError,
         "(4, 2)", "6"),
    case("Reshape-negative", lambda: layers.Reshape((-2, 3)), ValueError, "target_shape", "-2"),
    case("RepeatVector-n-str", lambda: layers.RepeatVector("3"), TypeError, "n"),
    case("RepeatVector-n-0", lambda: layers.RepeatVector(0), ValueError, "n", "0"),
    case("RepeatVector-wrong-rank", lambda: sequential(layers.Input((2, 3)), layers.RepeatVector(2)), ValueError,
         "(None, 2, 3)"),
    case("Permute-bad-dims", lambda: layers.Permute((1, 3)), ValueError, "dims", "(1, 3)"),
    case("Permute-wrong-rank", lambda: sequential(layers.Input((2, 3)), layers.Permute((2, 1, 3))), ValueError,
         "ndim=4", "(None, 2, 3)"),
    case("Flatten-data_format-bad", lambda: layers.Flatten(data_format="channels_middle"), ValueError,
         "data_format", "channels_middle"),
    # convolution and pooling
    case("Conv2D-filters-0", lambda: layers.Conv2D(0, 3), ValueError, "filters", "0"),
    case("Conv2D-filters-float", lambda: layers.Conv2D(2.5, 3), ValueError, "filters", "2.5"),
    case("Conv2D-kernel_size-0", lambda: layers.Conv2D(2, 0), ValueError, "kernel_size", "0"),
    case("Conv2D-kernel_size-3-tuple", lambda: layers.Conv2D(2, (3, 3, 3)), ValueError, "kernel_size", "(3, 3, 3)"),
    case("Conv2D-kernel_size-str", lambda: layers.Conv2D(2, "3"), ValueError, "kernel_size", "3"),
    case("Conv2D-strides-0", lambda: layers.Conv2D(2, 3, strides=0), ValueError, "strides", "0"),
    case("Conv2D-strides--1", lambda: layers.Conv2D(2, 3, strides=-1), ValueError, "strides", "-1"),
    case("Conv2D-padding-unknown", lambda: layers.Conv2D(2, 3, padding="full"), ValueError, "padding", "full"),
    case("Conv2D-data_format-unknown", lambda: layers.Conv2D(2, 3, data_format="nhwc"), ValueError, "nhwc"),
    case("Conv2D-dilation_rate-0", lambda: layers.Conv2D(2, 3, dilation_rate=0), ValueError, "dilation_rate", "0"),
    case("Conv2D-groups-not-dividing", lambda: sequential(layers.Input((5, 5, 3)), layers.Conv2D(4, 3, groups=2)),
         ValueError, "groups", "2"),
    case("Conv2D-activation-unknown", lambda: layers.Conv2D(2, 3, activation="rleu"), ValueError, "rleu"),
    case("Conv2D-wrong-input-rank", lambda: sequential(layers.Input((5, 5)), layers.Conv2D(2, 3)), ValueError,
         "(None, 5, 5)", "4"),
    case("Conv2D-kernel-larger-than-input", lambda: sequential(layers.Input((2, 2, 1)), layers.Conv2D(2, 3)),
         ValueError, "(None, 2, 2, 1)"),
    case("Conv2D-kernel_regularizer-int", lambda: layers.Conv2D(2, 3, kernel_regularizer=3), ValueError,
         "regularizer", "3"),
    case("Conv2D-bias_constraint-unknown", lambda: layers.Conv2D(2, 3, bias_constraint="nonneg2"), ValueError,
         "nonneg2"),
    case("DepthwiseConv1D-kernel_size-0", lambda: layers.DepthwiseConv1D(0), ValueError, "kernel_size", "0"),
    case("Conv1D-kernel_size-2-tuple", lambda: layers.Conv1D(2, (3, 3)), ValueError, "kernel_size", "(3, 3)"),
    case("Conv1D-wrong-input-rank", lambda: sequential(layers.Input((5,)), layers.Conv1D(2, 3)), ValueError,
         "(None, 5)", "3"),
    case("Conv2DTranspose-filters-0", lambda: layers.Conv2DTranspose(0, 3), ValueError, "filters", "0"),
    case("Conv2DTranspose-output_padding-too-large", lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2),
         ValueError, "output_padding", "2"),
    case("Conv1DTranspose-padding-unknown", lambda: layers.Conv1DTranspose(2, 3, padding="causal"), ValueError,
         "padding", "causal"),
    case("DepthwiseConv2D-depth_multiplier-0", lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), ValueError,
         "depth_multiplier", "0"),
    case("DepthwiseConv2D-kernel_size-0", lambda: layers.DepthwiseConv2D(0), ValueError, "kernel_size", "0"),
    case("SeparableConv2D-filters--1", lambda: layers.SeparableConv2D(-1, 3), ValueError, "filters", "-1"),
    case("SeparableConv1D-strides-0", lambda: layers.SeparableConv1D(2, 3, strides=0), ValueError, "strides", "0"),
    case("MaxPooling2D-pool_size-0", lambda: layers.MaxPooling2D(0), ValueError, "pool_size", "0"),
    case("MaxPooling2D-pool_size-3-tuple", lambda: layers.MaxPooling2D((2, 2, 2)), ValueError, "pool_size",
         "(2, 2, 2)"),
    case("MaxPooling2D-strides--1", lambda: layers.MaxPooling2D(2, strides=-1), ValueError, "strides", "-1"),
    case("MaxPooling2D-padding-unknown", lambda: layers.MaxPooling2D(2, padding="full"), ValueError, "padding",
         "full"),
    case("MaxPooling2D-wrong-input-rank", lambda: sequential(layers.Input((4, 4)), layers.MaxPooling2D()), ValueError,
         "(None, 4, 4)"),
    case("AveragePooling1D-pool_size-float", lambda: layers.AveragePooling1D(1.5), ValueError, "pool_size", "1.5"),
    case("AveragePooling2D-pool-larger-than-input", lambda: sequential(layers.Input((1, 1, 2)),
                                                                       layers.AveragePooling2D(2)), ValueError,
         "[None 1 1 2]", "pool_size=[2 2]"),
    case("GlobalMaxPooling2D-wrong-input-rank", lambda: sequential(layers.Input((4,)), layers.GlobalMaxPooling2D()),
         ValueError, "(None, 4)"),
    case("GlobalAveragePooling2D-wrong-input-rank", lambda: sequential(layers.Input((4, 4)),
                                                                       layers.GlobalAveragePooling2D()), ValueError,
         "ndim=4", "(None, 4, 4)"),
    case("GlobalAveragePooling1D-data_format-unknown", lambda: layers.GlobalAveragePooling1D(data_format="x"),
         ValueError, "x"),
    case("UpSampling2D-size-0", lambda: layers.UpSampling2D(0), ValueError, "size", "0"),
    case("UpSampling2D-interpolation-unknown", lambda: sequential(layers.Input((2, 2, 1)),
                                                                  layers.UpSampling2D(interpolation="cubc")),
         ValueError, "interpolation", "cubc"),
    case("ZeroPadding2D-padding-negative", lambda: sequential(layers.Input((2, 2, 1)), layers.ZeroPadding2D(-1)),
         ValueError, "padding", "-1"),
    case("ZeroPadding2D-padding-str", lambda: layers.ZeroPadding2D("1"), ValueError, "padding", "1"),
    case("Cropping2D-cropping-negative", lambda: layers.Cropping2D(-1), ValueError, "cropping", "-1"),
    case("Cropping2D-crops-everything", lambda: sequential(layers.Input((2, 2, 1)), layers.Cropping2D(1)), ValueError,
         "(None, 2, 2, 1)"),
    # recurrent, embedding, wrappers
    case("LSTM-units-0", lambda: layers.LSTM(0), ValueError, "units", "0"),
    case("LSTM-units-float", lambda: layers.LSTM(2.5), ValueError, "units", "2.5"),
    case("LSTM-dropout-1.5", lambda: layers.LSTM(2, dropout=1.5), ValueError, "dropout", "1.5"),
    case("LSTM-recurrent_dropout--1", lambda: layers.LSTM(2, recurrent_dropout=-1.0), ValueError,
         "recurrent_dropout", "-1"),
    case("LSTM-activation-unknown", lambda: layers.LSTM(2, activation="tanhh"), ValueError, "tanhh"),
    case("LSTM-wrong-input-rank", lambda: sequential(layers.Input((4,)), layers.LSTM(2)), ValueError, "(None, 4)"),
    case("LSTM-return_sequences-str", lambda: layers.LSTM(2, return_sequences="yes"), TypeError, "return_sequences",
         "'yes'"),
    case("GRU-units--1", lambda: layers.GRU(-1), ValueError, "units", "-1"),
    case("GRU-recurrent_initializer-unknown", lambda: layers.GRU(2, recurrent_initializer="orthogonall"), ValueError,
         "orthogonall"),
    case("SimpleRNN-units-str", lambda: layers.SimpleRNN("4"), ValueError, "units", "4"),
    case("SimpleRNN-wrong-input-rank", lambda: sequential(layers.Input((2, 3, 4)), layers.SimpleRNN(2)), ValueError,
         "(None, 2, 3, 4)"),
    case("Embedding-input_dim-0", lambda: layers.Embedding(0, 4), ValueError, "input_dim", "0"),
    case("Embedding-output_dim--1", lambda: layers.Embedding(10, -1), ValueError, "output_dim", "-1"),
    case("Embedding-input_dim-float", lambda: layers.Embedding(10.5, 4), ValueError, "input_dim", "10.5"),
    case("Embedding-embeddings_initializer-unknown", lambda: layers.Embedding(10, 4, embeddings_initializer="unif"),
         ValueError, "unif"),
    case("Bidirectional-not-layer", lambda: layers.Bidirectional("lstm"), ValueError, "lstm"),
    case("Bidirectional-merge_mode-unknown", lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"),
         ValueError, "merge mode", "max"),
    case("TimeDistributed-not-layer", lambda: layers.TimeDistributed(layers.Dense), ValueError, "Dense"),
    case("TimeDistributed-wrong-input-rank", lambda: sequential(layers.Input((4,)), layers.TimeDistributed(
        layers.Dense(2))), ValueError, "(None, 4)"),
    # normalization and merging
    case("BatchNormalization-axis-out-of-range", lambda: sequential(layers.Input((4,)),
                                                                    layers.BatchNormalization(axis=3)), ValueError,
         "axis", "3"),
    case("BatchNormalization-momentum-str", lambda: layers.BatchNormalization(momentum="0.9"), ValueError, "momentum"),
    case("BatchNormalization-unknown-initializer", lambda: layers.BatchNormalization(gamma_initializer="onez"),
         ValueError, "onez"),
    case("LayerNormalization-axis-out-of-range", lambda: sequential(layers.Input((4,)),
                                                                    layers.LayerNormalization(axis=5)), ValueError,
         "axis", "5"),
    case("LayerNormalization-axis-str", lambda: layers.LayerNormalization(axis="last"), TypeError, "axis", "last"),
    case("BatchNormalization-call-wrong-features", lambda: (lambda b: (b(np.zeros((2, 3))), b(np.zeros((2, 4)))))(
        layers.BatchNormalization()), ValueError, "value 3", "(2, 4)"),
    case("Concatenate-incompatible-shapes", lambda: layers.Concatenate()([layers.Input((2, 3)), layers.Input((4, 5))]),
         ValueError, "(None, 2, 3)", "(None, 4, 5)"),
    case("Concatenate-axis-out-of-range", lambda: layers.Concatenate(axis=3)([layers.Input((2,)), layers.Input((2,))]),
         ValueError, "axis", "3"),
    case("Concatenate-axis-str", lambda: layers.Concatenate(axis="1"), TypeError, "axis", "'1'"),
    case("Add-shape-mismatch", lambda: layers.Add()([layers.Input((2,)), layers.Input((3,))]), ValueError,
         "(2,)", "(3,)"),
    case("Add-not-a-list", lambda: layers.Add()(layers.Input((2,))), ValueError, "list"),
    case("Subtract-three-inputs", lambda: layers.Subtract()([layers.Input((2,))] * 3), ValueError, "exactly 2",
         "[(None, 2), (None, 2), (None, 2)]"),
    case("Average-shape-mismatch", lambda: layers.Average()([layers.Input((2,)), layers.Input((3,))]), ValueError,
         "(2,)", "(3,)"),
    case("Maximum-not-a-list", lambda: layers.Maximum()(layers.Input((2,))), ValueError, "list", "(None, 2)"),
    case("Dot-axes-str", lambda: layers.Dot(axes="1"), TypeError, "axes", "1"),
    case("Dot-incompatible", lambda: layers.Dot(axes=1)([layers.Input((2,)), layers.Input((3,))]), ValueError,
         "(None, 2)", "(None, 3)"),
    # optimizers
    case("Adam-learning_rate-negative", lambda: optimizers.Adam(learning_rate=-0.1), ValueError, "learning_rate",
         "-0.1"),
    case("SGD-learning_rate-str", lambda: optimizers.SGD(learning_rate="0.1"), ValueError, "learning_rate", "0.1"),
    case("Adam-beta_1-1.5", lambda: optimizers.Adam(beta_1=1.5), ValueError, "beta_1", "1.5"),
    case("Adam-beta_2--0.1", lambda: optimizers.Adam(beta_2=-0.1), ValueError, "beta_2", "-0.1"),
    case("Adam-epsilon-negative", lambda: optimizers.Adam(epsilon=-1e-7), ValueError, "epsilon", "-1e-07"),
    case("Adam-unknown-kwarg", lambda: optimizers.Adam(decay_rate=0.1), ValueError, "decay_rate"),
    case("SGD-momentum-negative", lambda: optimizers.SGD(momentum=-0.5), ValueError, "momentum"),
    case("RMSprop-rho-2", lambda: optimizers.RMSprop(rho=2.0), ValueError, "rho", "2.0"),
    case("Adam-clipnorm-and-clipvalue", lambda: optimizers.Adam(clipnorm=1.0, clipvalue=1.0), ValueError,
         "clipnorm", "clipvalue"),
    case("Adam-clipnorm-negative", lambda: optimizers.Adam(clipnorm=-1.0), ValueError, "clipnorm", "-1"),
    case("Adam-amsgrad-str", lambda: optimizers.Adam(amsgrad="yes"), TypeError, "amsgrad", "'yes'"),
    case("AdamW-weight_decay-negative", lambda: optimizers.AdamW(weight_decay=-1.0), ValueError, "weight_decay",
         "-1.0"),
    case("SGD-momentum-above-1", lambda: optimizers.SGD(momentum=1.5), ValueError, "momentum", "1.5"),
    case("optimizers-get-unknown", lambda: optimizers.get("adamw2"), ValueError, "adamw2"),
    # losses, metrics, activations, initializers, regularizers, constraints
    case("losses-get-unknown", lambda: losses.get("msee"), ValueError, "msee"),
    case("CategoricalCrossentropy-label_smoothing-str", lambda: losses.CategoricalCrossentropy(label_smoothing="0.1"),
         ValueError, "label_smoothing", "'0.1'"),
    case("Loss-reduction-unknown", lambda: losses.MeanSquaredError(reduction="average"), ValueError, "reduction",
         "average"),
    case("loss-call-shape-mismatch", lambda: losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 2))),
         ValueError, "(4, 3)", "(4, 2)"),
    case("Huber-delta-negative", lambda: losses.Huber(delta=-1.0), ValueError, "delta", "-1.0"),
    case("sparse-loss-label-out-of-range", lambda: losses.SparseCategoricalCrossentropy()(np.array([5]),
                                                                                          np.array([[0.5, 0.5]])),
         ValueError, "5", "[0, 2)"),
    case("metrics-get-unknown", lambda: metrics.get("precission"), ValueError, "precission"),
    case("Precision-thresholds-1.5", lambda: metrics.Precision(thresholds=1.5), ValueError, "Threshold", "1.5"),
    case("AUC-num_thresholds-1", lambda: metrics.AUC(num_thresholds=1), ValueError, "num_thresholds", "1"),
    case("CategoricalAccuracy-sample-count-mismatch",
         lambda: metrics.CategoricalAccuracy().update_state(np.zeros((2, 3)), np.zeros((3, 3))), ValueError,
         "y_true.shape=(2, 3)", "y_pred.shape=(3, 3)"),
    case("TopKCategoricalAccuracy-k-0", lambda: metrics.TopKCategoricalAccuracy(k=0), ValueError, "k", "0"),
    case("SparseTopKCategoricalAccuracy-k-str", lambda: metrics.SparseTopKCategoricalAccuracy(k="5"), ValueError,
         "k", "'5'"),
    case("Mean-update-str", lambda: metrics.Mean().update_state("a"), ValueError, "values", "'a'"),
    case("activations-get-unknown", lambda: minikeras.activations.get("swishh"), ValueError, "swishh"),
    case("initializers-get-unknown", lambda: initializers.get("he_normall"), ValueError, "he_normall"),
    case("VarianceScaling-scale-negative", lambda: initializers.VarianceScaling(scale=-1.0), ValueError, "scale",
         "-1"),
    case("VarianceScaling-mode-unknown", lambda: initializers.VarianceScaling(mode="fan"), ValueError, "mode", "fan"),
    case("VarianceScaling-distribution-unknown", lambda: initializers.VarianceScaling(distribution="gauss"),
         ValueError, "distribution", "gauss"),
    case("RandomNormal-stddev-negative", lambda: initializers.RandomNormal(stddev=-1.0), ValueError, "stddev", "-1"),
    case("RandomUniform-minval-above-maxval", lambda: initializers.RandomUniform(minval=1.0, maxval=0.0), ValueError,
         "minval", "maxval"),
    case("Constant-value-str", lambda: initializers.Constant("one"), ValueError, "value", "one"),
    case("Orthogonal-gain-str", lambda: initializers.Orthogonal(gain="1"), ValueError, "gain"),
    case("regularizers-get-unknown", lambda: regularizers.get("l3"), ValueError, "l3"),
    case("L2-negative", lambda: regularizers.L2(-0.1), ValueError, "l2", "-0.1"),
    case("L1-str", lambda: regularizers.L1("0.1"), ValueError, "l1", "0.1"),
    case("L1L2-nan", lambda: regularizers.L1L2(l1=float("nan")), ValueError, "l1", "nan"),
    case("L1L2-negative-l2", lambda: regularizers.L1L2(l2=-1.0), ValueError, "l2", "-1.0"),
    case("constraints-get-unknown", lambda: constraints.get("maxnorm3"), ValueError, "maxnorm3"),
    case("MaxNorm-max_value-negative", lambda: constraints.MaxNorm(max_value=-1), ValueError, "max_value", "-1"),
    case("MinMaxNorm-min-above-max", lambda: constraints.MinMaxNorm(min_value=2.0, max_value=1.0), ValueError,
         "min_value", "max_value"),
    # callbacks
    case("EarlyStopping-patience-negative", lambda: callbacks.EarlyStopping(patience=-1), ValueError, "patience",
         "-1"),
    case("EarlyStopping-patience-str", lambda: callbacks.EarlyStopping(patience="3"), ValueError, "patience", "3"),
    case("EarlyStopping-min_delta-str", lambda: callbacks.EarlyStopping(min_delta="0.1"), ValueError, "min_delta"),
    case("EarlyStopping-start_from_epoch-negative", lambda: callbacks.EarlyStopping(start_from_epoch=-1), ValueError,
         "start_from_epoch", "-1"),
    case("EarlyStopping-monitor-int", lambda: callbacks.EarlyStopping(monitor=3), TypeError, "monitor", "3"),
    case("ModelCheckpoint-wrong-extension", lambda: callbacks.ModelCheckpoint("ckpt.h6"), ValueError, "ckpt.h6"),
    case("ModelCheckpoint-weights-extension", lambda: callbacks.ModelCheckpoint("w.h5", save_weights_only=True),
         ValueError, "w.h5", ".weights.h5"),
    case("ModelCheckpoint-save_freq-str", lambda: callbacks.ModelCheckpoint("m.keras", save_freq="batch"), ValueError,
         "save_freq", "batch"),
    case("ModelCheckpoint-save_freq-0", lambda: callbacks.ModelCheckpoint("m.keras", save_freq=0), ValueError,
         "save_freq", "0"),
    case("ModelCheckpoint-filepath-None", lambda: callbacks.ModelCheckpoint(None), TypeError, "filepath", "None",
         "NoneType"),
    case("ReduceLROnPlateau-factor-1", lambda: callbacks.ReduceLROnPlateau(factor=1.0), ValueError, "factor", "1.0"),
    case("ReduceLROnPlateau-factor-negative", lambda: callbacks.ReduceLROnPlateau(factor=-0.5), ValueError, "factor",
         "-0.5"),
    case("ReduceLROnPlateau-patience-negative", lambda: callbacks.ReduceLROnPlateau(patience=-2), ValueError,
         "patience", "-2"),
    case("ReduceLROnPlateau-min_lr-negative", lambda: callbacks.ReduceLROnPlateau(min_lr=-1.0), ValueError, "min_lr",
         "-1"),
    case("ReduceLROnPlateau-cooldown-negative", lambda: callbacks.ReduceLROnPlateau(cooldown=-1), ValueError,
         "cooldown", "-1"),
    case("LearningRateScheduler-not-callable", lambda: callbacks.LearningRateScheduler(0.1), TypeError, "schedule",
         "0.1"),
    case("LearningRateScheduler-returns-str", lambda: fitted_with(callbacks.LearningRateScheduler(lambda e: "0.1")),
         ValueError, "0.1"),
    case("CSVLogger-separator-long", lambda: callbacks.CSVLogger("log.csv", separator=";;"), TypeError, "separator",
         "';;'"),
    case("CSVLogger-filename-None", lambda: callbacks.CSVLogger(None), TypeError, "filename", "None"),
    case("LambdaCallback-not-callable", lambda: callbacks.LambdaCallback(on_epoch_end=3), TypeError, "on_epoch_end",
         "3"),
    case("EarlyStopping-restore_best_weights-str", lambda: callbacks.EarlyStopping(restore_best_weights="yes"),
         TypeError, "restore_best_weights", "'yes'"),
    case("EarlyStopping-baseline-str", lambda: callbacks.EarlyStopping(baseline="0.5"), ValueError, "baseline",
         "'0.5'"),
    case("ModelCheckpoint-initial_value_threshold-str",
         lambda: callbacks.ModelCheckpoint("m.keras", initial_value_threshold="x"), ValueError,
         "initial_value_threshold", "'x'"),
    case("ModelCheckpoint-save_best_only-str", lambda: callbacks.ModelCheckpoint("m.keras", save_best_only="yes"),
         TypeError, "save_best_only", "'yes'"),
    case("CSVLogger-append-str", lambda: callbacks.CSVLogger("log.csv", append="yes"), TypeError, "append", "'yes'"),
    case("BackupAndRestore-dir-int", lambda: callbacks.BackupAndRestore(3), TypeError, "backup_dir", "3", "int"),
    case("BackupAndRestore-no-dir", lambda: callbacks.BackupAndRestore(None), ValueError, "backup_dir"),
    case("BackupAndRestore-save_freq-str", lambda: callbacks.BackupAndRestore("backup", save_freq="often"),
         ValueError, "save_freq", "often"),
    case("TerminateOnNaN-raise_error-str", lambda: callbacks.TerminateOnNaN(raise_error="yes"), TypeError,
         "raise_error", "yes"),
    # saving and loading
    case("load_model-missing-file", lambda: saving.load_model("missing.keras"), ValueError, "missing.keras"),
    case("load_model-unknown-extension", lambda: saving.load_model(text_file("model.txt")), ValueError, "model.txt"),
    case("load_model-foreign-zip", lambda: saving.load_model(foreign_file("foreign.keras")), ValueError,
         "foreign.keras"),
    case("load_model-not-a-zip", lambda: saving.load_model(text_file("fake.keras")), ValueError, "fake.keras"),
    case("load_model-foreign-h5", lambda: saving.load_model(text_file("fake.h5")), ValueError, "fake.h5"),
    case("load_model-custom_objects-list", lambda: saving.load_model(saved_model(), custom_objects=["Dense"]),
         TypeError, "custom_objects", "['Dense']"),
    case("load_model-compile-str", lambda: saving.load_model(saved_model(), compile="yes"), TypeError, "compile",
         "'yes'"),
    case("load_model-corrupt-h5", lambda: saving.load_model(corrupt_h5("bad.h5")), ValueError, "bad.h5", "HDF5"),
    case("save_weights-path-None", lambda: built_dense_model().save_weights(None), TypeError, "filepath", "None"),
    case("save-h5-unknown-kwarg", lambda: built_dense_model().save("m.h5", foo=1), TypeError, "foo"),
    case("load_model-path-int", lambda: saving.load_model(3), TypeError, "filepath", "3", "int"),
    case("save_model-not-a-model", lambda: saving.save_model("model", "m.keras"), TypeError, "model", "'model'",
         "str"),
    case("load_model-directory", lambda: saving.load_model(os.getcwd()), ValueError, "filepath="),
    case("save_model-no-overwrite", lambda: (built_dense_model().save("m.keras"), saving.save_model(
        built_dense_model(), "m.keras", overwrite=False)), FileExistsError, "m.keras"),
    # utils, preprocessing, datasets
    case("to_categorical-num_classes-0", lambda: utils.to_categorical([0, 1], num_classes=0), ValueError,
         "num_classes", "0"),
    case("to_categorical-num_classes-str", lambda: utils.to_categorical([0, 1], num_classes="2"), ValueError,
         "num_classes", "'2'"),
    case("to_categorical-label-too-large", lambda: utils.to_categorical([0, 5], num_classes=3), ValueError,
         "5", "num_classes=3"),
    case("to_categorical-only-negative-labels", lambda: utils.to_categorical([-2, -1]), ValueError, "-2",
         "num_classes=0"),
    case("to_categorical-string-labels", lambda: utils.to_categorical(["cat", "dog"]), ValueError, "<U3"),
    case("normalize-axis-out-of-range", lambda: utils.normalize(np.ones((2, 3)), axis=2), ValueError, "axis", "2"),
    case("normalize-order-0", lambda: utils.normalize(np.ones((2, 3)), order=0), ValueError, "order", "0"),
    case("normalize-order-str", lambda: utils.normalize(np.ones((2, 3)), order="2"), ValueError, "order", "'2'"),
    case("normalize-strings", lambda: utils.normalize(np.array(["a", "b"])), ValueError, "x"),
    case("set_random_seed-str", lambda: utils.set_random_seed("42"), ValueError, "seed", "42"),
    case("set_random_seed-float", lambda: utils.set_random_seed(4.2), ValueError, "seed", "4.2"),
    case("set_random_seed-negative", lambda: utils.set_random_seed(-1), ValueError, "seed", "-1"),
    case("pad_sequences-padding-unknown", lambda: utils.pad_sequences([[1]], padding="middle"), ValueError,
         "middle"),
    case("pad_sequences-truncating-unknown", lambda: utils.pad_sequences([[1]], truncating="end"), ValueError, "end"),
    case("pad_sequences-maxlen-negative", lambda: utils.pad_sequences([[1, 2]], maxlen=-1), ValueError, "maxlen",
         "-1"),
    case("pad_sequences-maxlen-str", lambda: utils.pad_sequences([[1, 2]], maxlen="3"), ValueError, "maxlen", "3"),
    case("pad_sequences-not-iterable", lambda: utils.pad_sequences(5), ValueError, "sequences"),
    case("pad_sequences-non-iterable-entry", lambda: utils.pad_sequences([[1], 2]), ValueError, "sequences", "2"),
    case("pad_sequences-dtype-unknown", lambda: utils.pad_sequences([[1]], dtype="int33"), ValueError, "dtype",
         "int33"),
    case("sequence-pad_sequences-string-value", lambda: sequence.pad_sequences([[1]], value="x"), ValueError,
         "dtype", "value"),
    case("Tokenizer-fit_on_texts-int", lambda: text.Tokenizer().fit_on_texts(3), TypeError, "texts", "3"),
    case("text_to_word_sequence-int", lambda: text.text_to_word_sequence(3), TypeError, "input_text", "3"),
    case("one_hot-n-1", lambda: text.one_hot("a b", 1), ValueError, "n", "1"),
    case("Tokenizer-num_words-negative", lambda: text.Tokenizer(num_words=-1), ValueError, "num_words", "-1"),
    case("Tokenizer-texts_to_matrix-mode-unknown", lambda: fitted_tokenizer().texts_to_matrix(["a b"], mode="counts"),
         ValueError, "mode", "counts"),
    case("get_file-hash_algorithm-unknown", lambda: utils.get_file("x.npz", origin="https://example.com/x.npz",
                                                                   hash_algorithm="sha1"), ValueError,
         "hash_algorithm", "'sha1'"),
    case("pad_sequences-value-list", lambda: utils.pad_sequences([[1]], value=[1, 2]), ValueError, "value",
         "[1, 2]"),
    case("get_file-no-origin", lambda: utils.get_file("data.npz"), ValueError, "origin"),
    case("mnist-path-int", lambda: datasets.mnist.load_data(path=3), TypeError, "path", "3"),
    case("boston_housing-test_split-1.5", lambda: datasets.boston_housing.load_data(test_split=1.5), ValueError,
         "test_split", "1.5"),
    case("boston_housing-test_split-str", lambda: datasets.boston_housing.load_data(test_split="0.2"), ValueError,
         "test_split", "0.2"),
    case("california_housing-version-unknown", lambda: datasets.california_housing.load_data(version="medium"),
         ValueError, "version", "medium"),
    case("cifar100-label_mode-unknown", lambda: datasets.cifar100.load_data(label_mode="super"), ValueError,
         "label_mode", "super"),
    case("imdb-num_words-negative", lambda: datasets.imdb.load_data(num_words=-1), ValueError, "num_words", "-1"),
    case("imdb-maxlen-0", lambda: datasets.imdb.load_data(maxlen=0), ValueError, "maxlen", "0"),
    case("reuters-test_split-2", lambda: datasets.reuters.load_data(test_split=2), ValueError, "test_split", "2"),
    case("imdb-seed-str", lambda: datasets.imdb.load_data(seed="113"), ValueError, "seed", "'113'"),
    case("reuters-index_from-float", lambda: datasets.reuters.load_data(index_from=2.5), ValueError, "index_from",
         "2.5"),
    case("reuters-skip_top-negative", lambda: datasets.reuters.load_data(skip_top=-1), ValueError, "skip_top", "-1"),
]


def saved_model():
    built_dense_model().save("saved.keras")
    return "saved.keras"


def own_weights(model):
    model.save_weights("own.weights.h5")
    return "own.weights.h5"


def corrupt_h5(name):
    """An HDF5 signature followed by junk, as a truncated download looks."""
    with open(name, "wb") as file:
        file.write(b"\x89HDF\r\n\x1a\n" + b"junk" * 10)
    return name


def text_file(name):
    with open(name, "w") as file:
        file.write("not a model")
    return name


def fitted_with(callback):
    model = built_dense_model()
    model.compile("sgd", "mse")
    model.fit(X, ONE_HOT_Y[:, :2], epochs=1, callbacks=[callback], verbose=0)


def fitted_tokenizer():
    tokenizer = text.Tokenizer()
    tokenizer.fit_on_texts(["a b c"])
    return tokenizer


def refuse_download(origin, target_path, report):
    raise AssertionError(f"a download of {origin} was tried before the arguments were checked")


@pytest.mark.parametrize("call, error, fragments", PLAIN_CASES)
def test_bad_call_raises_own_error_naming_the_argument(call, error, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a data set's bad argument must fail before any download is tried
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(file_utils, "download", refuse_download)
    with pytest.raises(error) as excinfo:
        call()
    assert_own_error(excinfo, fragments)


def test_keras_record_names_catalogue_cases():
    case_ids = {param.id for params in MODEL_CASES.values() for param in params} | {param.id for param in PLAIN_CASES}
    recorded = [case_id for ids in KERAS_GETS_WRONG.values() for case_id in ids]
    assert len(recorded) == len(set(recorded))
    assert set(recorded) <= case_ids

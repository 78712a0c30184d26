"""The same model trained in real Keras and in minikeras from the same weights, batch order fixed.

Each case is written once against the Keras API (`K` is either `keras` or `minikeras`), so both sides
run literally the same code.
"""
import re

import numpy as np
import pytest

import minikeras

FORWARD_RTOL = 1e-5
TRAINED_RTOL = 1e-4


def twin(keras, build, compile_kwargs):
    """The same architecture in both libraries, minikeras starting from Keras's initial weights."""
    reference = build(keras)
    reference.compile(**compile_kwargs(keras))
    ours = build(minikeras)
    ours.compile(**compile_kwargs(minikeras))
    ours.set_weights(reference.get_weights())
    return reference, ours


def assert_same_history(reference, ours, rtol=TRAINED_RTOL):
    assert list(reference.history) == list(ours.history)
    assert ours.epoch == reference.epoch
    for key in reference.history:
        np.testing.assert_allclose(ours.history[key], reference.history[key], rtol=rtol, atol=1e-6, err_msg=key)


def assert_same_weights(reference, ours, rtol=TRAINED_RTOL):
    for expected, actual in zip(reference.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-6)


def course_data():
    x = np.linspace(1, 10, 1000)
    return x, 2 * x + 1


def test_course_linear_regression(keras):
    x, y = course_data()
    reference, ours = twin(
        keras,
        lambda K: K.Sequential([K.layers.Input((1,)), K.layers.Dense(1, activation="linear")]),
        lambda K: {"loss": "mse", "optimizer": "sgd"},
    )
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=FORWARD_RTOL)
    expected = reference.fit(x, y, epochs=20, shuffle=False, verbose=0)
    actual = ours.fit(x, y, epochs=20, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    probe = np.append(np.append([], 12), 14)
    np.testing.assert_allclose(ours.predict(probe, verbose=0), reference.predict(probe, verbose=0), rtol=TRAINED_RTOL)
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(reference.evaluate(x, y, verbose=0), rel=TRAINED_RTOL)


def classification_data(classes, n=240, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    labels = (np.sin(3 * x[:, 0]) + x[:, 1] > 0).astype(int) if classes == 2 else np.argmax(x[:, :classes], axis=1)
    return x, labels


CLASSIFICATION_CASES = {
    "binary_sigmoid_adam": (1, "sigmoid", "binary_crossentropy", lambda K: K.optimizers.Adam(), ["accuracy"], "binary"),
    "softmax_cce_rmsprop": (3, "softmax", "categorical_crossentropy", lambda K: "rmsprop", ["acc"], "onehot"),
    "sparse_cce_nesterov": (3, "softmax", "sparse_categorical_crossentropy",
                            lambda K: K.optimizers.SGD(0.05, momentum=0.9, nesterov=True), ["accuracy"], "sparse"),
    "softmax_cce_adagrad_metrics": (3, "softmax", "categorical_crossentropy", lambda K: K.optimizers.Adagrad(0.05),
                                    ["categorical_accuracy", "mse"], "onehot"),
    "two_softmax_amsgrad": (2, "softmax", "categorical_crossentropy",
                            lambda K: K.optimizers.Adam(0.01, amsgrad=True), ["accuracy", "auc"], "onehot"),
}


@pytest.mark.parametrize("case", sorted(CLASSIFICATION_CASES))
def test_classification_training_matches(keras, case):
    units, activation, loss, optimizer, metrics, encoding = CLASSIFICATION_CASES[case]
    x, labels = classification_data(2 if units <= 2 else units)
    y = {"binary": labels.astype(np.float32), "sparse": labels, "onehot": np.eye(max(units, 2))[labels]}[encoding]
    reference, ours = twin(
        keras,
        lambda K: K.Sequential([K.layers.Input((4,)), K.layers.Dense(16, activation="relu"),
                                K.layers.Dense(8, activation="tanh"), K.layers.Dense(units, activation=activation)]),
        lambda K: {"loss": loss, "optimizer": optimizer(K), "metrics": list(metrics)},
    )
    expected = reference.fit(x, y, batch_size=20, epochs=4, validation_split=0.25, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=20, epochs=4, validation_split=0.25, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=TRAINED_RTOL)


def test_regression_with_metrics_weights_regularizers_and_validation_data(keras):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((150, 5)).astype(np.float32)
    y = (x @ rng.standard_normal((5, 2)) + 0.5).astype(np.float32)
    weights = rng.uniform(0.2, 2.0, 150).astype(np.float32)

    def build(K):
        return K.Sequential([
            K.layers.Input((5,)),
            K.layers.Dense(8, activation="elu", kernel_regularizer=K.regularizers.l2(0.01),
                           bias_regularizer="l1"),
            K.layers.Dense(2, kernel_regularizer=K.regularizers.l1_l2(0.001, 0.002),
                           kernel_constraint=K.constraints.MaxNorm(1.5)),
        ])

    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": K.optimizers.RMSprop(0.01, momentum=0.5),
                                                    "metrics": ["mae"]})
    kwargs = dict(batch_size=16, epochs=3, shuffle=False, verbose=0, sample_weight=weights,
                  validation_data=(x[:30], y[:30]))
    assert_same_history(reference.fit(x, y, **kwargs), ours.fit(x, y, **kwargs))
    assert_same_weights(reference, ours)


def test_class_weight_and_on_batch_calls(keras):
    x, labels = classification_data(2, n=64)
    reference, ours = twin(
        keras,
        lambda K: K.Sequential([K.layers.Input((4,)), K.layers.Dense(1, activation="sigmoid")]),
        lambda K: {"loss": "binary_crossentropy", "optimizer": "adam", "metrics": ["accuracy"]},
    )
    kwargs = dict(batch_size=10, epochs=2, shuffle=False, verbose=0, class_weight={0: 0.3, 1: 2.0})
    assert_same_history(reference.fit(x, labels, **kwargs), ours.fit(x, labels, **kwargs))
    np.testing.assert_allclose(ours.train_on_batch(x[:8], labels[:8]), reference.train_on_batch(x[:8], labels[:8]),
                               rtol=TRAINED_RTOL)
    np.testing.assert_allclose(ours.test_on_batch(x[:8], labels[:8]), reference.test_on_batch(x[:8], labels[:8]),
                               rtol=TRAINED_RTOL)
    np.testing.assert_allclose(ours.predict_on_batch(x[:8]), reference.predict_on_batch(x[:8]), rtol=TRAINED_RTOL)
    assert_same_weights(reference, ours)


def test_saturated_sigmoid_and_softmax_use_the_logits_inside_evaluate(keras):
    """Keras 3 (TF backend) computes cross-entropy from the pre-activation logits in fit/evaluate."""
    x = np.array([[50.0], [-50.0], [3.0]], np.float32)
    for units, activation, loss, y in ((1, "sigmoid", "binary_crossentropy", np.array([0.0, 1.0, 1.0])),
                                       (2, "softmax", "categorical_crossentropy", np.eye(2)[[1, 0, 0]])):
        reference, ours = twin(
            keras,
            lambda K: K.Sequential([K.layers.Input((1,)), K.layers.Dense(units, activation=activation)]),
            lambda K: {"loss": loss, "optimizer": "sgd"},
        )
        weights = [np.ones((1, units), np.float32) * np.array([1.0, -1.0][:units], np.float32),
                   np.zeros(units, np.float32)]
        reference.set_weights(weights)
        ours.set_weights(weights)
        assert ours.evaluate(x, y, verbose=0) == pytest.approx(reference.evaluate(x, y, verbose=0), rel=1e-5)


def mask_timings(text):
    text = re.sub(r"\d+(ms|us|s)/step", "T/step", text)
    text = re.sub(r"(\x1b\[1m)?\d+s(\x1b\[0m)?( |$)", "Ts ", text)
    return re.sub(r" - \d+s - ", " - Ts - ", text)


def test_verbose_2_lines_and_summary_text_match(keras, capsys):
    x, y = course_data()
    reference, ours = twin(
        keras,
        lambda K: K.Sequential([K.layers.Input((1,)), K.layers.Dense(4), K.layers.Dropout(0.0), K.layers.Dense(1)]),
        lambda K: {"loss": "mse", "optimizer": K.optimizers.SGD(0.001), "metrics": ["mae"]},
    )
    texts = []
    for model in (reference, ours):
        capsys.readouterr()
        model.summary()
        model.fit(x, y, epochs=2, batch_size=100, validation_split=0.2, shuffle=False, verbose=2)
        model.evaluate(x, y, verbose=2)
        model.predict(x, verbose=2)
        model.summary()
        texts.append(mask_timings(capsys.readouterr().out))
    assert "val_mae" in texts[0] and "Optimizer params" in texts[0]
    assert texts[1] == texts[0]

"""Where randomness differs by design, minikeras is compared with real Keras statistically.

Dropout masks and shuffle orders come from different generators (TensorFlow's and NumPy's), so the
draws cannot be equal; what both must share is observable: Dropout's keep rate (within binomial
bounds), its exact scaling and its identity at inference, and fit visiting every sample once per epoch
in a fresh order (or, after `set_random_seed`, in the one order Keras repeats every epoch).
"""

import numpy as np
import pytest

import minikeras
from minikeras import backend

# Bounds at 5 standard deviations: one false alarm in about 1.7 million runs of a check.
Z = 5.0
DROPOUT_RATES = [0.1, 0.5, 0.8]


def _both(keras):
    return [("keras", keras), ("minikeras", minikeras)]


def _within(value, expected, std, label):
    assert abs(value - expected) <= Z * std, f"{label}: {value} is not within {Z} std ({std:.2e}) of {expected}"


def _dropout(lib, rate, x, training=True, **options):
    return np.asarray(lib.layers.Dropout(rate, **options)(x, training=training))


# ---------------------------------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("rate", DROPOUT_RATES)
def test_keep_rate_and_mean_within_binomial_bounds(keras, rate):
    x = np.ones((500, 400), np.float32)
    keep = 1 - rate
    kept_fraction = {}
    for name, lib in _both(keras):
        out = _dropout(lib, rate, x)
        kept_fraction[name] = np.mean(out != 0)
        _within(kept_fraction[name], keep, np.sqrt(keep * rate / x.size), f"{name} keep rate")
        # inverted dropout is unbiased: each element is 1/keep with probability keep
        _within(out.mean(), 1.0, np.sqrt(rate / keep / x.size), f"{name} mean")
    _within(kept_fraction["minikeras"] - kept_fraction["keras"], 0.0, np.sqrt(2 * keep * rate / x.size),
            "keep rate, minikeras - keras")


def test_kept_values_are_scaled_exactly_like_keras(keras):
    x = np.random.default_rng(0).normal(size=(400, 300)).astype(np.float32)
    for rate in [0.0, *DROPOUT_RATES, 1.0]:
        expected, actual = _dropout(keras, rate, x), _dropout(minikeras, rate, x)
        assert actual.dtype == expected.dtype == np.float32
        kept_by_both = (expected != 0) & (actual != 0)
        np.testing.assert_array_equal(actual[kept_by_both], expected[kept_by_both], err_msg=f"rate={rate}")
        if rate in (0.0, 1.0):
            np.testing.assert_array_equal(actual, expected, err_msg=f"rate={rate}")


def test_float64_inputs_come_out_float32_like_keras(keras):
    x = np.ones(1000, np.float64)
    assert _dropout(minikeras, 0.3, x).dtype == _dropout(keras, 0.3, x).dtype == np.float32


@pytest.mark.parametrize("training", [False, None])
def test_dropout_is_the_identity_at_inference(keras, training):
    x = np.random.default_rng(1).normal(size=(50, 20)).astype(np.float32)
    for name, lib in _both(keras):
        layer = lib.layers.Dropout(0.5)
        out = layer(x) if training is None else layer(x, training=training)
        np.testing.assert_array_equal(np.asarray(out), x, err_msg=name)


def test_predict_and_evaluate_skip_dropout_like_keras(keras):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(64, 6)).astype(np.float32), rng.normal(size=(64, 1)).astype(np.float32)
    models = []
    for _, lib in _both(keras):
        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(32, activation="relu"), lib.layers.Dropout(0.5),
                                lib.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        models.append(model)
    reference, ours = models
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(x, verbose=0), ours.predict(x, verbose=0))


def test_dropout_draws_in_fit_and_not_in_evaluate(keras):
    """Dropout(rate) then a frozen Dense averaging its n inputs, on ones with target 0: the mae of a
    sample is the kept fraction / keep, mean 1 and variance rate / (keep * n); evaluate sees exactly 1."""
    rate, features, samples = 0.5, 200, 400
    x, y = np.ones((samples, features), np.float32), np.zeros((samples, 1), np.float32)
    std = np.sqrt(rate / (1 - rate) / features / samples)
    for name, lib in _both(keras):
        model = lib.Sequential([
            lib.Input((features,)), lib.layers.Dropout(rate),
            lib.layers.Dense(1, kernel_initializer=lib.initializers.Constant(1 / features), bias_initializer="zeros"),
        ])
        model.compile(loss="mae", optimizer=lib.optimizers.SGD(learning_rate=0.0))
        losses = model.fit(x, y, batch_size=50, epochs=3, verbose=0).history["loss"]
        for loss in losses:
            _within(loss, 1.0, std, f"{name} training mae")
        assert len(set(losses)) == 3, f"{name}: every epoch draws new masks, got {losses}"
        assert model.evaluate(x, y, verbose=0) == pytest.approx(1.0, rel=1e-6), name


@pytest.mark.parametrize("noise_shape", [(None, 1, 4), (None, 50, 1), (1, 1, 4), (200, None, 1)])
def test_noise_shape_shares_one_draw_along_its_unit_axes(keras, noise_shape):
    x = np.ones((200, 50, 4), np.float32)
    rate = 0.4
    for name, lib in _both(keras):
        out = _dropout(lib, rate, x, noise_shape=noise_shape)
        shared_axes = tuple(axis for axis, size in enumerate(noise_shape) if size == 1)
        first_along_shared = out[tuple(slice(0, 1) if axis in shared_axes else slice(None) for axis in range(3))]
        np.testing.assert_array_equal(out, np.broadcast_to(first_along_shared, out.shape), err_msg=name)
        draws = first_along_shared.size
        _within(np.mean(first_along_shared != 0), 1 - rate, np.sqrt(rate * (1 - rate) / draws), f"{name} keep rate")


def test_shorter_noise_shape_broadcasts_against_trailing_axes_like_keras(keras):
    x = np.ones((200, 50, 4), np.float32)
    expected = _dropout(keras, 0.4, x, noise_shape=(1, 4))
    assert np.all(expected == expected[:1, :1, :])
    actual = _dropout(minikeras, 0.4, x, noise_shape=(1, 4))
    assert actual.shape == x.shape and np.all(actual == actual[:1, :1, :])


def test_seeded_layers_repeat_each_other_but_not_themselves_like_keras(keras):
    x = np.ones((100, 100), np.float32)
    for name, lib in _both(keras):
        layer, twin = lib.layers.Dropout(0.5, seed=3), lib.layers.Dropout(0.5, seed=3)
        first, second = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
        np.testing.assert_array_equal(np.asarray(twin(x, training=True)), first, err_msg=name)
        assert not np.array_equal(first, second), f"{name}: a seeded layer draws a new mask every call"


# ---------------------------------------------------------------------------------------------- shuffling
def _epoch_orders(lib, samples=10, epochs=3, model=None, **fit_options):
    """The sample order of every epoch, read from the running mean loss that fit logs after each batch.

    A frozen model predicting 0 with target y_i = i makes sample i's loss i**2; with batch_size=1 the
    batch-k log is the mean of the first k+1 losses, so differencing recovers each batch's sample.
    """
    model = model or _frozen_model(lib)
    running_means = []

    class RecordBatchLosses(lib.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            running_means.append([])

        def on_train_batch_end(self, batch, logs=None):
            running_means[-1].append(logs["loss"])

    x, y = np.zeros((samples, 1), np.float32), np.arange(samples, dtype=np.float32)
    model.fit(x, y, batch_size=1, epochs=epochs, verbose=0, callbacks=[RecordBatchLosses()], **fit_options)
    orders = []
    for means in running_means:
        totals = np.asarray(means, np.float64) * np.arange(1, len(means) + 1)
        losses = np.diff(totals, prepend=0.0)
        orders.append(tuple(int(i) for i in np.rint(np.sqrt(np.maximum(losses, 0)))))
    return orders


def _frozen_model(lib):
    model = lib.Sequential([lib.Input((1,)), lib.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(loss="mse", optimizer=lib.optimizers.SGD(learning_rate=0.0))
    return model


@pytest.fixture
def unseeded(monkeypatch):
    """minikeras as a fresh process starts: tests/conftest.py seeds every test, and a seed changes shuffling."""
    monkeypatch.setattr(backend, "_global_seed", None)


def test_every_epoch_is_a_new_permutation(keras, unseeded):
    for name, lib in _both(keras):
        orders = _epoch_orders(lib, samples=10, epochs=4)
        assert all(sorted(order) == list(range(10)) for order in orders), f"{name}: {orders}"
        # two equal permutations of 10 samples: probability 1/10! = 2.8e-7 per pair
        assert len(set(orders)) == 4, f"{name}: {orders}"
        assert tuple(range(10)) not in orders, f"{name}: {orders}"
        assert set(_epoch_orders(lib, samples=10, epochs=1)).isdisjoint(orders), f"{name}: a new fit, a new order"


def test_every_sample_is_equally_likely_at_every_position(keras, unseeded):
    samples, epochs = 10, 30
    for name, lib in _both(keras):
        counts = np.zeros((samples, samples))
        for order in _epoch_orders(lib, samples=samples, epochs=epochs):
            counts[list(order), np.arange(samples)] += 1
        p = 1 / samples
        for count in counts.ravel():
            _within(count / epochs, p, np.sqrt(p * (1 - p) / epochs), f"{name} position frequency\n{counts}")


def test_shuffle_false_keeps_the_data_order(keras):
    for name, lib in _both(keras):
        assert _epoch_orders(lib, samples=6, epochs=2, shuffle=False) == [tuple(range(6))] * 2, name


def test_validation_rows_stay_out_of_the_training_permutation(keras):
    for name, lib in _both(keras):
        orders = _epoch_orders(lib, samples=8, epochs=3, validation_split=0.25)
        assert all(sorted(order) == list(range(6)) for order in orders), f"{name}: {orders}"


def test_set_random_seed_repeats_one_permutation_every_epoch_like_keras(keras):
    """Keras's quirk: after set_random_seed the TensorFlow shuffle draws the same order every epoch,
    every fit and every model; another seed gives another order."""
    for name, lib in _both(keras):
        lib.utils.set_random_seed(7)
        model = _frozen_model(lib)
        orders = _epoch_orders(lib, epochs=3, model=model)
        assert sorted(orders[0]) == list(range(10)) and orders[0] != tuple(range(10)), f"{name}: {orders}"
        assert orders == [orders[0]] * 3, f"{name}: {orders}"
        assert _epoch_orders(lib, epochs=2, model=model) == [orders[0]] * 2, f"{name}: a second fit"
        assert _epoch_orders(lib, epochs=1) == [orders[0]], f"{name}: a new model"
        lib.utils.set_random_seed(8)
        assert _epoch_orders(lib, epochs=1) != [orders[0]], f"{name}: another seed"


def test_set_random_seed_reproduces_dropout_masks_like_keras(keras):
    x = np.ones((100, 100), np.float32)
    for name, lib in _both(keras):
        masks = []
        for _ in range(2):
            lib.utils.set_random_seed(11)
            layer = lib.layers.Dropout(0.5)
            masks.append([np.asarray(layer(x, training=True)) for _ in range(2)])
        np.testing.assert_array_equal(masks[0], masks[1], err_msg=name)
        assert not np.array_equal(*masks[0]), f"{name}: successive calls still draw new masks"

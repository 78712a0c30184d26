"""The shortcuts taken for speed give what the plain paths give (issue 7: speed never changes results)."""
import subprocess
import sys

import numpy as np
import pytest

import minikeras
from minikeras import activations, layers, losses
from minikeras.layers import recurrent
from minikeras.metrics import Mean


def mlp(units=16):
    model = minikeras.Sequential([layers.Input((20,)), layers.Dense(units, activation="relu"),
                                  layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def rows(n, features=20):
    return np.random.default_rng(0).standard_normal((n, features)).astype(np.float32)


class BatchWatcher(minikeras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_predict_batch_begin(self, batch, logs=None):
        self.events.append(("begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("end", batch, logs["outputs"].shape))


def test_predict_in_blocks_agrees_with_batch_by_batch_forward_passes():
    model, x = mlp(), rows(1000)
    predicted = model.predict(x, batch_size=32, verbose=0)
    by_batch = np.concatenate([model.predict_on_batch(x[i:i + 32]) for i in range(0, 1000, 32)])
    np.testing.assert_allclose(predicted, by_batch, rtol=1e-6, atol=1e-7)


def test_a_callback_watching_predict_batches_sees_every_batch_in_order_with_its_own_outputs():
    model, x, watcher = mlp(), rows(70), BatchWatcher()
    model.predict(x, batch_size=32, verbose=0, callbacks=[watcher])
    assert watcher.events == [("begin", 0), ("end", 0, (32, 3)), ("begin", 1), ("end", 1, (32, 3)),
                              ("begin", 2), ("end", 2, (6, 3))]


def test_predict_in_blocks_still_counts_every_step_on_the_progress_bar(capsys):
    mlp().predict(rows(100), batch_size=8, verbose=1)
    assert "13/13" in capsys.readouterr().out


def test_predict_with_several_outputs_in_blocks_hands_each_batch_its_rows():
    inputs = layers.Input((20,))
    model = minikeras.Model(inputs, [layers.Dense(2)(inputs), layers.Dense(5)(inputs)])
    first, second = model.predict(rows(50), batch_size=16, verbose=0)
    assert first.shape == (50, 2) and second.shape == (50, 5)
    np.testing.assert_allclose(second[16:32], model.predict_on_batch(rows(50)[16:32])[1], rtol=1e-6)


def test_predict_blocks_are_whole_batches_and_bounded_in_bytes():
    callbacks = minikeras.callbacks.CallbackList(add_progbar=True, verbose=0, epochs=1, steps=1)
    from minikeras.models.training import _predict_rows

    assert _predict_rows(rows(5000), 32, callbacks) == 1024
    assert _predict_rows(rows(5000), 100, callbacks) == 1000
    assert _predict_rows(np.zeros((10, 224, 224, 3), np.float32), 32, callbacks) == 32
    callbacks.callbacks.append(BatchWatcher())
    callbacks._index_batch_listeners()
    assert _predict_rows(rows(5000), 32, callbacks) == 32


@pytest.mark.parametrize("units", [4, 600])
def test_dense_input_gradient_is_dz_times_the_transposed_kernel_for_small_and_large_kernels(units):
    layer = layers.Dense(units)
    x = rows(8, features=40)
    layer(x)
    dz = np.random.default_rng(1).standard_normal((8, units)).astype(np.float32)
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.backward(dz), dz @ layer.kernel.value.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 128), (5, 1), (200, 40), (3, 4, 40)])
def test_dense_forward_by_np_dot_gives_matmuls_bits(shape):
    layer = layers.Dense(7, bias_initializer="random_normal")
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    layer(x)
    expected = x @ layer.kernel.value + layer.bias.value
    assert np.array_equal(layer.forward(x, training=True), expected)


_PLAIN_MEAN_CASES = [
    ("MeanSquaredError", {}, False, (8,), (8, 1), np.float32),
    ("MeanSquaredError", {}, False, (8, 3), (8, 3), np.float32),
    ("MeanSquaredError", {"reduction": "mean"}, False, (1, 1), (1, 1), np.float32),
    ("MeanSquaredError", {}, False, (4, 5, 2), (4, 5, 2), np.float64),
    ("MeanSquaredError", {}, False, (4, 5), (4, 5, 1), np.float32),
    ("BinaryCrossentropy", {}, True, (8,), (8, 1), np.float32),
    ("BinaryCrossentropy", {}, True, (6, 2), (6, 2), np.float64),
]


@pytest.mark.parametrize("class_name, options, from_logits, true_shape, pred_shape, dtype", _PLAIN_MEAN_CASES)
def test_the_plain_mean_fast_path_gives_the_general_paths_bits(monkeypatch, class_name, options, from_logits,
                                                               true_shape, pred_shape, dtype):
    loss = getattr(losses, class_name)(**options)
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, true_shape).astype(dtype)
    y_pred = rng.standard_normal(pred_shape).astype(dtype)
    logits = y_pred if from_logits else None
    assert loss._mean_terms(logits) is not None
    fast_value, fast_grad = loss.value_and_gradient(y_true, y_pred, logits=logits)
    monkeypatch.setattr(losses.LossFunctionWrapper, "_mean_terms", lambda self, logits: None)
    value, grad = loss.value_and_gradient(y_true, y_pred, logits=logits)
    assert fast_value == value and fast_grad.shape == grad.shape == pred_shape
    assert fast_grad.dtype == grad.dtype == dtype and np.array_equal(fast_grad, grad)


def test_weights_masks_smoothing_and_other_reductions_take_the_general_path():
    assert losses.MeanSquaredError(reduction="sum")._mean_terms(None) is None
    assert losses.BinaryCrossentropy(label_smoothing=0.1)._mean_terms(np.zeros(1)) is None
    assert losses.BinaryCrossentropy()._mean_terms(None) is None  # probabilities, not logits
    loss = losses.MeanSquaredError()
    y_true, y_pred = np.zeros((4, 1), np.float32), np.ones((4, 1), np.float32)
    value, grad = loss.value_and_gradient(y_true, y_pred, sample_weight=np.array([1, 1, 0, 0], np.float32))
    assert value == 0.5 and np.array_equal(grad[:, 0], [0.5, 0.5, 0, 0])


def test_shapes_the_plain_mean_path_cannot_take_get_the_general_paths_errors():
    y_true, y_pred = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    with pytest.raises(ValueError, match=r"y_true.shape=\(4, 3\) vs. y_pred.shape=\(4, 2\)"):
        losses.MeanSquaredError().value_and_gradient(y_true, y_pred)
    with pytest.raises(ValueError, match=r"must have the same shape. Received: target.shape=\(4, 3\)"):
        losses.BinaryCrossentropy().value_and_gradient(y_true, y_pred, logits=y_pred)


def test_the_loss_trackers_scalar_shortcut_adds_exactly_what_the_array_path_adds():
    shortcut, general = Mean(), Mean()
    for loss, batch in [(0.123456789, 32), (2.5e-3, 7), (1e6 / 3, 1)]:
        shortcut.update_state(loss, sample_weight=batch)
        general.update_state(np.asarray(loss), sample_weight=np.asarray(batch))
    assert shortcut.total.value == general.total.value and shortcut.count.value == general.count.value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_losses_mean_matches_numpys(dtype):
    x = np.random.default_rng(2).standard_normal((64, 7)).astype(dtype)
    np.testing.assert_allclose(losses._mean(x, axis=-1), np.mean(x, axis=-1), rtol=2 * np.finfo(dtype).eps)
    np.testing.assert_allclose(losses._mean(x, axis=0), np.mean(x, axis=0), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("activation", [activations.sigmoid, activations.tanh])
def test_recurrent_gate_slopes_from_outputs_equal_the_generic_gradient_rule(activation):
    pre = np.random.default_rng(3).standard_normal((5, 2, 8)).astype(np.float32) * 3
    post = activation(pre)
    generic = activations.gradient(activation)(pre, post, np.ones_like(post))
    np.testing.assert_array_equal(recurrent._derivative(activation, pre, post), generic)


def test_importing_minikeras_loads_no_network_module_and_lazy_names_still_resolve():
    code = ("import sys, minikeras\n"
            "assert not {'urllib.request', 'http.client', 'ssl'} & set(sys.modules), sorted(sys.modules)\n"
            "from minikeras.datasets import mnist\n"
            "from minikeras.utils import get_file\n"
            "assert callable(mnist.load_data) and callable(get_file)\n"
            "assert 'mnist' in dir(minikeras.datasets) and 'get_file' in dir(minikeras.utils)\n"
            "print(minikeras.datasets.cifar10.__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "minikeras.datasets.cifar10"


def test_an_unknown_lazy_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        minikeras.datasets.nope


GROUPING_OPTIMIZERS = [("Adam", {}), ("Adam", {"amsgrad": True, "weight_decay": 0.01}), ("AdamW", {}),
                       ("Adamax", {}), ("Nadam", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
                       ("Adagrad", {}), ("Adadelta", {"learning_rate": 1.0}),
                       ("Adam", {"clipnorm": 0.1, "use_ema": True})]


def _optimizer_run(class_name, kwargs, grouped, steps=4, skip_one=False):
    """A model's worth of variables (small ones of two dtypes and a big one) through `steps` updates."""
    from minikeras import optimizers
    from minikeras.variables import Variable

    rng = np.random.default_rng(5)
    shapes = [(3, 5), (5,), (70, 70), (5, 1), (1,), (2, 2)]
    variables = [Variable(rng.standard_normal(shape).astype(np.float32), f"v{i}") for i, shape in enumerate(shapes)]
    variables.append(Variable(rng.standard_normal((4,)), "v_float64"))
    optimizer = getattr(optimizers, class_name)(**kwargs)
    optimizer._groups_small_variables = grouped
    for step in range(steps):
        chosen = variables[1:] if skip_one and step == 2 else variables
        grads = [rng.standard_normal(v.shape).astype(v.dtype) * (step + 1) for v in chosen]
        optimizer.apply(grads, chosen)
    return variables, optimizer


@pytest.mark.parametrize("class_name, kwargs", GROUPING_OPTIMIZERS)
def test_small_variables_updated_together_get_the_same_bits(class_name, kwargs):
    """Gathered into one flat update, each value gets the arithmetic it gets alone: bit-equal weights and
    slots, also across a step that updates only some of the group (which then runs one by one)."""
    for skip_one in (False, True):
        (ours, grouped), (theirs, plain) = (_optimizer_run(class_name, kwargs, flag, skip_one=skip_one)
                                            for flag in (True, False))
        assert grouped._small is not None and grouped._small.members == [0, 1, 3, 4, 5]
        assert plain._small is None
        for mine, reference in zip(ours + grouped.variables, theirs + plain.variables):
            np.testing.assert_array_equal(mine.value, reference.value)


@pytest.mark.parametrize("class_name, kwargs",
                         GROUPING_OPTIMIZERS + [("SGD", {}), ("SGD", {"momentum": 0.9, "nesterov": True})])
def test_large_variables_updated_by_chunks_of_rows_get_the_same_bits(monkeypatch, class_name, kwargs):
    """The (70, 70) variable in chunks of 770 values, 11 rows (six of them and one of 4 rows): each value
    gets the arithmetic it gets whole, also across a step that skips a variable."""
    from minikeras.optimizers import optimizer as optimizer_module

    for skip_one in (False, True):
        whole_variables, whole = _optimizer_run(class_name, kwargs, True, skip_one=skip_one)
        monkeypatch.setattr(optimizer_module, "_CHUNKED_VARIABLE_SIZE", 1000)
        monkeypatch.setattr(optimizer_module, "_CHUNK_SIZE", 770)
        chunked_variables, chunked = _optimizer_run(class_name, kwargs, True, skip_one=skip_one)
        monkeypatch.undo()
        assert whole._chunked is None
        assert [(start, stop) for _, start, stop in chunked._chunked.pieces[2]] == \
            [(0, 11), (11, 22), (22, 33), (33, 44), (44, 55), (55, 66), (66, 70)]
        for mine, reference in zip(chunked_variables + chunked.variables, whole_variables + whole.variables):
            np.testing.assert_array_equal(mine.value, reference.value)


def test_an_embedding_lookup_gradient_is_not_chunked(monkeypatch):
    """Its per-lookup squares need the whole-variable path: a step with one falls back to it."""
    from minikeras.optimizers import optimizer as optimizer_module

    results = []
    for chunked in (True, False):
        if chunked:
            monkeypatch.setattr(optimizer_module, "_CHUNKED_VARIABLE_SIZE", 50)
            monkeypatch.setattr(optimizer_module, "_CHUNK_SIZE", 12)
        minikeras.utils.set_random_seed(2)
        model = minikeras.Sequential([layers.Input((3,)), layers.Embedding(20, 4), layers.Flatten(),
                                      layers.Dense(2), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        x = np.array([[1, 1, 2], [3, 1, 1], [5, 6, 1], [1, 2, 2]])
        model.fit(x, np.ones((4, 1)), batch_size=2, epochs=2, verbose=0)
        assert (model.optimizer._chunked is not None) == chunked
        results.append(model.get_weights())
        monkeypatch.undo()
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_grouped_slots_are_the_optimizer_variables_and_load_in_place():
    """A grouped variable's slot Variable is a view of the group's flat slot: what saving reads and what
    loading assigns in place is what the update uses."""
    _, optimizer = _optimizer_run("Adam", {}, True)
    flat = optimizer._momentums[optimizer._small.index]
    momentum = next(v for v in optimizer.variables if v.name == "v1_momentum")
    np.testing.assert_array_equal(momentum.value, flat[15:20])
    momentum.assign(np.arange(5.0))
    np.testing.assert_array_equal(flat[15:20], np.arange(5.0))


def test_an_embedding_lookup_gradient_is_not_grouped():
    """Its squared lookups (Keras's sparse slices) need the one-by-one path; the step falls back to it."""
    results = []
    for grouped in (True, False):
        minikeras.utils.set_random_seed(2)
        model = minikeras.Sequential([layers.Input((3,)), layers.Embedding(20, 4), layers.Flatten(),
                                      layers.Dense(2), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.optimizer._groups_small_variables = grouped
        x = np.array([[1, 1, 2], [3, 1, 1], [5, 6, 1], [1, 2, 2]])
        model.fit(x, np.ones((4, 1)), batch_size=2, epochs=2, verbose=0)
        assert (model.optimizer._small is not None) == grouped
        results.append(model.get_weights())
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)

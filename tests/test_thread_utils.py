"""The second core (`thread_utils.in_two_parts`): the convolutions' work split between two threads gives
bit-for-bit what one core gives, waits for its worker, passes the worker's errors on, and survives fork."""
import multiprocessing
import threading

import numpy as np
import pytest

import minikeras
from minikeras import layers
from minikeras.layers import conv_pool, convolutional, pooling
from minikeras.utils import thread_utils


def course_cnn():
    """The course's CNN, both convolution paths (the fused conv-pool step and the offsets path)."""
    minikeras.utils.set_random_seed(3)
    model = minikeras.Sequential([
        layers.Input((28, 28, 1)), layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(8, 4, padding="same", activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def trained(cores, monkeypatch):
    monkeypatch.setattr(thread_utils, "_CORES", cores)
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    model = course_cnn()
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    return model.get_weights(), model.predict(x, verbose=0)


def test_two_cores_train_and_predict_bit_for_bit_like_one(monkeypatch):
    calls = []
    split = thread_utils.in_two_parts
    for module in (convolutional, conv_pool, pooling):
        monkeypatch.setattr(module, "in_two_parts", lambda count, work: (calls.append(count), split(count, work)))
    one_weights, one_predictions = trained(1, monkeypatch)
    two_weights, two_predictions = trained(2, monkeypatch)
    assert any(count >= 2 for count in calls)  # the work was split
    for one, two in zip(one_weights, two_weights):
        np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one_predictions, two_predictions)


@pytest.mark.parametrize("cores", [1, 2])
def test_every_index_is_worked_once_and_both_halves_run_before_it_returns(monkeypatch, cores):
    monkeypatch.setattr(thread_utils, "_CORES", cores)
    for count in (0, 1, 2, 7):
        seen, threads = np.zeros(count, int), set()

        def work(first, last):
            threads.add(threading.get_ident())
            seen[first:last] += 1

        thread_utils.in_two_parts(count, work)
        np.testing.assert_array_equal(seen, np.ones(count, int))
    assert len(threads) == (2 if cores == 2 else 1)


def test_an_error_in_the_worker_half_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(thread_utils, "_CORES", 2)

    def work(first, last):
        if first > 0:
            raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half failed"):
        thread_utils.in_two_parts(4, work)


def test_the_caller_waits_for_the_worker_even_when_its_own_half_fails(monkeypatch):
    monkeypatch.setattr(thread_utils, "_CORES", 2)
    finished = []
    release = threading.Event()

    def work(first, last):
        if first == 0:
            release.set()
            raise KeyError("first half failed")
        release.wait()
        finished.append(last)

    with pytest.raises(KeyError):
        thread_utils.in_two_parts(4, work)
    assert finished == [4]


def _forward_in_child(queue):
    x = np.random.default_rng(1).random((16, 28, 28, 1), dtype=np.float32)
    queue.put(course_cnn().predict(x, verbose=0).sum())


def test_a_forked_child_starts_its_own_worker(monkeypatch):
    monkeypatch.setattr(thread_utils, "_CORES", 2)
    x = np.random.default_rng(1).random((16, 28, 28, 1), dtype=np.float32)
    expected = course_cnn().predict(x, verbose=0).sum()  # the parent's worker now exists
    assert thread_utils._worker is not None
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_forward_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert result == expected

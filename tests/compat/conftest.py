"""Side-by-side tests against real Keras 3 (`import keras` here is the real one: no hook is active)."""
import random

import numpy as np
import pytest

from minikeras import backend


@pytest.fixture(scope="session")
def keras():
    keras = pytest.importorskip("keras", reason="real Keras is not installed")
    return keras


@pytest.fixture(autouse=True)
def keras_session(request, monkeypatch):
    """Reset real Keras's name counters, so layer names line up with minikeras's, and put back every
    process-wide generator that `set_random_seed` seeds on either side, so no test leaks a seed."""
    if "keras" not in request.fixturenames:
        yield
        return
    import tensorflow as tf
    from keras.src.backend.common import global_state

    request.getfixturevalue("keras").backend.clear_session()
    monkeypatch.setattr(backend, "_generator", backend.random_generator())
    monkeypatch.setattr(backend, "_global_seed", backend.global_seed())
    numpy_state, python_state = np.random.get_state(), random.getstate()
    keras_seed = global_state.get_global_attribute("global_random_seed")
    yield
    np.random.set_state(numpy_state)
    random.setstate(python_state)
    global_state.set_global_attribute("global_random_seed", keras_seed)
    tf.random.set_seed(keras_seed)

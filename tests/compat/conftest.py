"""Side-by-side tests against real Keras 3 (`import keras` here is the real one: no hook is active)."""
import pytest


@pytest.fixture(scope="session")
def keras():
    keras = pytest.importorskip("keras", reason="real Keras is not installed")
    return keras


@pytest.fixture(autouse=True)
def keras_session(request):
    """Reset real Keras's name counters too, so layer names line up with minikeras's."""
    if "keras" in request.fixturenames:
        request.getfixturevalue("keras").backend.clear_session()
    yield

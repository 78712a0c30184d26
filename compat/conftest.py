"""The course scripts run under real Keras and minikeras (`keras` here is the real one: no hook is active)."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session")
def keras():
    from minikeras import hook

    hook.uninstall()
    return pytest.importorskip("keras", reason="real Keras is not installed")

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import minikeras  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts with fresh layer-name counters and a fixed seed, like a new Keras process."""
    minikeras.backend.clear_session()
    minikeras.backend.seed_random(1234)
    yield


def numerical_gradient(f, x, eps=1e-6):
    """Central finite differences of the scalar function f at x (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    grad_flat = grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f(x)
        flat[i] = saved - eps
        down = f(x)
        flat[i] = saved
        grad_flat[i] = (up - down) / (2 * eps)
    return grad


def pytest_sessionfinish(session, exitstatus):
    """With MINIKERAS_FORBID_SKIPS=1 (CI), a skipped test fails the run: a skip proves nothing."""
    if os.environ.get("MINIKERAS_FORBID_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"MINIKERAS_FORBID_SKIPS=1: {skipped} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1

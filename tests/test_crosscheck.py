"""`python -m minikeras.compat script.py`: exit codes, messages and the side-by-side table (run as users run it)."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIT_ONE_MODEL = """\
import numpy as np
import keras
from keras.layers import Dense, Dropout
from keras.models import Sequential

x = np.linspace(-1, 1, 64).reshape(-1, 1)
y = 3 * x + 1
model = Sequential()
model.add(Dense(4, activation='tanh', input_shape=(1,)))
{extra_layer}model.add(Dense(1))
model.compile(loss='mse', optimizer='sgd')
model.fit(x, y, epochs=3, batch_size=16)
{after_fit}
"""
needs_keras = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="real Keras is not installed")


def crosscheck(*args, pythonpath=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "80"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "minikeras.compat", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def script(tmp_path, extra_layer="", after_fit=""):
    path = tmp_path / "probe.py"
    path.write_text(FIT_ONE_MODEL.format(extra_layer=extra_layer, after_fit=textwrap.dedent(after_fit)))
    return path


def test_usage_errors_exit_2_with_a_clear_message():
    result = crosscheck()
    assert result.returncode == 2 and "no script given" in result.stderr
    result = crosscheck("no_such_script.py")
    assert result.returncode == 2 and "cannot open script 'no_such_script.py': no such file" in result.stderr
    result = crosscheck("--help")
    assert result.returncode == 0
    assert "Exit status:" in result.stdout and "5  the script built and used no model" in result.stdout


@needs_keras
def test_course_linear_regression_agrees_and_shows_every_epoch():
    result = crosscheck("examples/linear_regression.py")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    header = lines.index("    epoch     loss Keras  loss minikeras    |diff|")
    epochs = [int(line.split()[0]) for line in lines[header + 1:header + 21]]
    assert epochs == list(range(1, 21))
    assert "shuffle=False forced" in result.stdout and "predict 1 (2, 1)" in result.stdout
    assert "32/32" not in result.stdout, "the script's progress bars belong to --show-output only"
    assert lines[-1].startswith("AGREE: minikeras matches real Keras (rtol=0.0001 after training")


@needs_keras
def test_a_script_that_computes_differently_under_minikeras_disagrees(tmp_path):
    path = script(tmp_path)
    path.write_text(path.read_text().replace("y = 3 * x + 1", "y = 3 * x + (1 if keras.__name__ == 'keras' else 2)"))
    result = crosscheck(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BEYOND rtol=0.0001" in result.stdout
    assert "forward pass before training (32, 1)" in result.stdout and "ok" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("DISAGREE: ")


@needs_keras
def test_a_script_failing_under_one_implementation_says_which_and_shows_what_ran(tmp_path):
    path = script(tmp_path, after_fit="""\
        if keras.__name__ == 'minikeras':
            raise RuntimeError('only minikeras gets here')
        """)
    result = crosscheck("--show-output", path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "The script failed under minikeras: RuntimeError: only minikeras gets here" in result.stdout
    assert "----- output of" in result.stdout and "4/4" in result.stdout
    assert "  fit 1: 3 epochs of 4 steps" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("FAILED: the script raised under minikeras")


@needs_keras
def test_no_models_and_randomness_are_said_clearly(tmp_path):
    no_models = tmp_path / "no_models.py"
    no_models.write_text("import keras\nprint('nothing to train')\n")
    result = crosscheck(no_models)
    assert result.returncode == 5, result.stdout + result.stderr
    assert "NO MODELS:" in result.stdout and "nothing to train" not in result.stdout

    dropout = script(tmp_path, extra_layer="model.add(Dropout(0.5))\n")
    result = crosscheck("--quiet", dropout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        line for line in result.stdout.splitlines() if line.startswith("AGREE: minikeras matches real Keras as far "
                                                                        "as randomness allows")]


def test_without_real_keras_it_says_so_and_still_runs_minikeras(tmp_path):
    shim = tmp_path / "shim" / "keras"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'keras'\", name='keras')\n")
    result = crosscheck(script(tmp_path), pythonpath=shim.parent)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("Real Keras is not installed")
    assert "  fit 1: 3 epochs of 4 steps" in result.stdout and "    epoch           loss" in result.stdout
    assert result.stdout.splitlines()[-1] == "NOT COMPARED: real Keras is not installed."


def test_runner_records_forces_shuffle_sets_weights_and_restores_the_model_class_after_an_error(tmp_path):
    from minikeras.compat import run_script
    from minikeras.models.training import Trainer

    original_fit = Trainer.fit
    path = script(tmp_path, after_fit="""\
        print(model.predict(x[:2], verbose=0).shape)
        raise RuntimeError('after the fit')
        """)
    weights = [np.full((1, 4), 0.5), np.zeros(4), np.full((4, 1), 0.25), np.zeros(1)]
    result = run_script(str(path), "minikeras", initial_weights=[weights])
    assert Trainer.fit is original_fit and "fit" in Trainer.__dict__
    assert "keras" not in sys.modules or sys.modules["keras"].__name__ != "minikeras"
    assert (result.error.type, result.error.message) == ("RuntimeError", "after the fit")
    assert result.error.traceback.splitlines()[1].startswith(f'  File "{path}"')
    assert "Epoch 3/3" in result.stdout and "(2, 1)" in result.stdout
    [record] = result.models
    assert record.weights_given and record.weights_mismatch is None
    assert all(np.array_equal(got, given) for got, given in zip(record.initial_weights, weights))
    x = np.linspace(-1, 1, 64).reshape(-1, 1)
    np.testing.assert_allclose(record.initial_output, 4 * 0.25 * np.tanh(0.5 * x[:32]), rtol=1e-6)
    [fit, predict] = record.calls
    assert fit.shuffle_forced and len(fit.history["loss"]) == 3 and fit.params["steps"] == 4
    assert predict.kind == "predict" and predict.result.shape == (2, 1) and predict.trained_before
    assert not np.array_equal(record.final_weights[0], weights[0])


def test_randomness_is_found_inside_wrappers_and_recurrent_layers():
    from minikeras import Sequential, layers
    from minikeras.compat.runner import _all_layers, _randomness

    model = Sequential([layers.Input((4, 3)), layers.Bidirectional(layers.LSTM(2, recurrent_dropout=0.25)),
                                  layers.Dense(1)])
    found = [text for text in map(_randomness, _all_layers(model)) if text]
    assert found == [f"{model.layers[0].forward_layer.name} (LSTM, recurrent_dropout=0.25)",
                     f"{model.layers[0].backward_layer.name} (LSTM, recurrent_dropout=0.25)"]

"""`python -m minikeras script.py` and the import hook."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=ROOT):
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "80"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_course_linear_regression_runs_unchanged():
    pytest.importorskip("matplotlib")
    result = run("-m", "minikeras", "examples/linear_regression.py")
    assert result.returncode == 0, result.stderr
    assert 'Model: "sequential"' in result.stdout
    assert "│ dense (Dense)                   │ (None, 1)              │             2 │" in result.stdout
    assert "32/32" in result.stdout and "Epoch 20/20" in result.stdout
    weights = result.stdout.strip().splitlines()[-1]
    kernel, bias = [float(v) for v in weights.replace("[", " ").replace("]", " ").replace(",", " ").split()
                    if v[0].isdigit() or v[0] == "-"][:2]
    assert abs(kernel - 2) < 0.1 and abs(bias - 1) < 0.6


def test_hook_maps_keras_submodules_and_only_when_installed(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(
        "import sys\n"
        "from keras.models import Sequential\n"
        "from keras.layers import Dense\n"
        "import keras\n"
        "print(Sequential.__module__, Dense.__module__, keras.__name__, sys.argv[1:])\n"
    )
    result = run("-m", "minikeras", str(script), "--flag")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["minikeras.models.sequential", "minikeras.layers.core", "minikeras", "['--flag']"]
    plain = run("-c", "import minikeras, sys; minikeras.hook.install(); import keras.layers as l; print(l.__name__); "
                      "minikeras.hook.uninstall(); print('keras' in sys.modules)")
    assert plain.stdout.split() == ["minikeras.layers", "False"], plain.stderr


def test_missing_script_and_missing_submodule_are_clear(tmp_path):
    result = run("-m", "minikeras", "no_such_script.py")
    assert result.returncode == 2 and "cannot open script 'no_such_script.py'" in result.stderr
    script = tmp_path / "bad.py"
    script.write_text("import keras.applications\n")
    result = run("-m", "minikeras", str(script))
    assert "No module named 'keras.applications': minikeras has no 'minikeras.applications' yet" in result.stderr


def test_install_and_uninstall_keep_real_keras_modules_in_one_process():
    probe = run("-c", "import sys, types; real = types.ModuleType('keras'); sys.modules['keras'] = real\n"
                      "import minikeras\nminikeras.hook.install()\nimport keras\nprint(keras.__name__)\n"
                      "minikeras.hook.uninstall()\nimport keras\nprint(keras is real)")
    assert probe.stdout.split() == ["minikeras", "True"], probe.stderr

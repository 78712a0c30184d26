"""Executes every course notebook in notebooks/ on a real IPython kernel, as a learner would run it.

The kernel is this interpreter (so it imports this checkout's minikeras) and runs with notebooks/ as
its working directory, where the data paths `../../shared/data/...` lead to the shared data folder.
"""
import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
if importlib.util.find_spec("ipykernel") is None:  # not imported here: that would change minikeras's display
    pytest.skip("ipykernel is not installed", allow_module_level=True)
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (installed with nbclient)
from jupyter_client.manager import KernelManager  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SHARED_DATA = REPO.parent / "shared" / "data"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
NEEDS_SHARED_DATA = {"04_adult_overfitting_dropout.ipynb", "05_mnist_mlp.ipynb", "06_mnist_cnn.ipynb"}
CELL_TIMEOUT_SECONDS = 60
KERNEL_NAME = "minikeras-test-python"

# Appended to each executed notebook: which library `keras` is, whether TensorFlow got imported, and
# every History left in the kernel as JSON on one line.
HISTORY_PROBE = """
import json as _json
import sys as _sys
import keras as _keras
print('KERAS', _keras.__name__, 'TENSORFLOW', 'tensorflow' in _sys.modules)
print('HISTORIES ' + _json.dumps({
    _name: {_key: [float(_v) for _v in _values] for _key, _values in _value.history.items()}
    for _name, _value in list(globals().items()) if isinstance(_value, _keras.callbacks.History)}))
"""

ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")
PROGRESS_LINE = re.compile(r"^\s*(\d+)/(\d+) ━+ \d+s")


@pytest.fixture(scope="module")
def kernel_spec_manager(tmp_path_factory):
    """A kernel spec for exactly this interpreter, with this checkout first on its import path."""
    spec_dir = tmp_path_factory.mktemp("kernels") / KERNEL_NAME
    spec_dir.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "minikeras test kernel",
        "language": "python",
        # One BLAS thread: on a few shared cores OpenBLAS's spinning worker threads make the small
        # matrix products of these notebooks 10-20x slower (measured), not faster.
        "env": {"PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(spec_dir.parent)], ensure_native_kernel=False)


def execute(path, kernel_spec_manager):
    """The notebook at `path` run top to bottom (a cell error raises), plus the History probe."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(HISTORY_PROBE))
    kernel = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_spec_manager)
    client = nbclient.NotebookClient(notebook, km=kernel, timeout=CELL_TIMEOUT_SECONDS,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return notebook


def stdout_of(cell):
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream" and o["name"] == "stdout")


def rendered(text):
    """`text` as Jupyter shows it, unstyled: a carriage return starts the line over (Keras writes
    backspaces over the old line before it, which the carriage return makes moot)."""
    return [line.split("\r")[-1] for line in ANSI_STYLE.sub("", text).split("\n")]


def all_text(notebook):
    """Everything the notebook printed or displayed as text, one string."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", ()):
            texts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "".join(texts)


def histories(notebook):
    (line,) = [line for line in stdout_of(notebook.cells[-1]).splitlines() if line.startswith("HISTORIES ")]
    return json.loads(line[len("HISTORIES "):])


@pytest.fixture(scope="module")
def executed(kernel_spec_manager):
    """Notebook file name -> executed notebook, each run once for all the tests of this module."""
    cache = {}

    def run(name):
        if name in NEEDS_SHARED_DATA and not SHARED_DATA.is_dir():
            pytest.skip(f"{name} reads {SHARED_DATA}, which is absent (a clone without ../shared)")
        if name not in cache:
            cache[name] = execute(NOTEBOOKS / name, kernel_spec_manager)
        return cache[name]

    return run


def test_notebooks_are_stored_clean_and_switch_with_one_line():
    assert len(NOTEBOOK_PATHS) >= 5
    for path in NOTEBOOK_PATHS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.nbformat == 4
        code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code_cells[0].source == "%load_ext minikeras", path.name
        assert all(cell.outputs == [] and cell.execution_count is None for cell in code_cells), path.name


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_notebook_runs_and_reports_training(path, executed):
    notebook = executed(path.name)
    text = all_text(notebook)
    assert "Total params" in text and "Trainable params" in text
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", ())]
    assert any("image/png" in output.get("data", {}) for output in outputs)
    recorded = histories(notebook)
    assert recorded
    for name, history in recorded.items():
        assert history["loss"], name
        for key, values in history.items():
            assert all(math.isfinite(v) for v in values), (name, key)
        assert history["loss"][-1] < history["loss"][0], name


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_notebook_keras_is_minikeras(path, executed):
    assert "KERAS minikeras TENSORFLOW False" in stdout_of(executed(path.name).cells[-1])


def test_linear_regression_learns_the_line(executed):
    notebook = executed("01_linear_regression.ipynb")
    weights_line = [line for line in stdout_of(notebook.cells[-2]).splitlines() if "array" in line][0]
    slope, intercept = (float(v) for v in re.findall(r"-?\d+\.\d+", weights_line))
    assert abs(slope - 2) < 0.1 and abs(intercept - 1) < 0.3


def test_progress_bar_is_one_updating_line_per_epoch(executed):
    """Under ipykernel the bar redraws in place (\\r), so each epoch shows one final line, as Keras's."""
    notebook = executed("01_linear_regression.ipynb")
    (fit_cell,) = [cell for cell in notebook.cells if "model.fit(" in cell.source]
    raw = stdout_of(fit_cell)
    assert "\r" in raw
    lines = [line for line in rendered(raw) if line.strip()]
    assert len(lines) == 40
    for epoch, (header, progress) in enumerate(zip(lines[::2], lines[1::2]), 1):
        assert header == f"Epoch {epoch}/20"
        match = PROGRESS_LINE.match(progress)
        assert match and match.group(1) == match.group(2) == "32", progress
        assert "loss: " in progress


def test_adult_overfits_and_dropout_holds_it_back(executed):
    recorded = histories(executed("04_adult_overfitting_dropout.ipynb"))
    plain, dropout = recorded["history"], recorded["history_dropout"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(plain)
    assert plain["accuracy"][-1] > plain["accuracy"][0] + 0.05
    assert plain["val_loss"][-1] > min(plain["val_loss"]) + 0.05
    assert plain["accuracy"][-1] > dropout["accuracy"][-1]
    assert dropout["val_loss"][-1] < plain["val_loss"][-1]


def test_mnist_mlp_reaches_a_useful_accuracy(executed):
    notebook = executed("05_mnist_mlp.ipynb")
    assert "(8000, 28, 28) (8000,) (2000, 28, 28) (2000,)" in all_text(notebook)
    history = histories(notebook)["history"]
    assert history["val_accuracy"][-1] > 0.85

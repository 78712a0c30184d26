"""Run one unchanged Keras script, in this process, under real Keras or under minikeras, and record its models.

`run_script(path, "keras")` runs the script with `import keras` reaching real Keras; `run_script(path,
"minikeras")` runs it with minikeras's import hook installed. For the run's duration the implementation's
model base class has its `fit`, `evaluate`, `predict`, `train_on_batch`, `test_on_batch` and
`predict_on_batch` wrapped (restored afterwards, also when the script raises). The wrappers:

- number the models in the order the script first uses them;
- at a model's first use: build it from the data if it has no weights yet, give it `initial_weights[k]`
  when the caller passed them (so minikeras starts where Keras started), record its initial weights and
  its output on the first 32 input rows (a forward pass that Dropout cannot disturb);
- force `shuffle=False` in `fit`, so both runs see the same batch order, and record that they did;
- record every call's result: `History.history` and `params` for `fit`, the returned values otherwise.

NumPy's and Python's global random state are seeded the same before every run, so data a script draws
without a seed is the same data under both implementations.
"""
import contextlib
import copy
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import io
import os
import random
import runpy
import sys
import time
import traceback
import warnings

import numpy as np

IMPLEMENTATIONS = ("keras", "minikeras")
WRAPPED_METHODS = ("fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch")
FORWARD_ROWS = 32
DATA_SEED = 0


class KerasNotInstalledError(ImportError):
    """Real Keras cannot be imported, so a script cannot be run under it."""


@dataclasses.dataclass
class Call:
    """One outer call of a wrapped model method (calls made from inside another are not recorded)."""
    kind: str
    result: object = None
    history: dict = None
    params: dict = None
    shuffle_forced: bool = False
    trained_before: bool = False


@dataclasses.dataclass
class ModelRecord:
    """What one model did during the run; `index` counts models in the order of their first use."""
    index: int
    name: str
    class_name: str
    initial_weights: list
    initial_output: np.ndarray = None
    weights_given: bool = False
    weights_mismatch: str = None
    calls: list = dataclasses.field(default_factory=list)
    final_weights: list = None
    random_layers: list = dataclasses.field(default_factory=list)

    @property
    def fits(self):
        return [call for call in self.calls if call.kind == "fit"]


@dataclasses.dataclass
class ScriptError:
    """An exception the script raised: what and where."""
    type: str
    message: str
    traceback: str

    def __str__(self):
        return f"{self.type}: {self.message}"


@dataclasses.dataclass
class RunResult:
    """Everything one run of a script produced (`stderr` includes the warnings it raised)."""
    script: str
    implementation: str
    models: list
    stdout: str
    stderr: str
    error: ScriptError = None
    seconds: float = 0.0

    @property
    def ok(self):
        return self.error is None


def run_script(path, implementation, initial_weights=None, argv=()):
    """Run the Keras script at `path` under `implementation` ("keras" or "minikeras") and record its models.

    `initial_weights`: a list with one weight list per model (in first-use order), set into each model at
    its first use, before any work. `argv`: the script's `sys.argv[1:]`. Raises FileNotFoundError for a
    missing script, ValueError for an unknown implementation and KerasNotInstalledError when real Keras
    is asked for but cannot be imported; an exception raised by the script itself is recorded instead.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"Invalid value for argument `implementation`: expected one of {IMPLEMENTATIONS}. "
                         f"Received: implementation={implementation!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"cannot open script '{path}': no such file")
    base = _model_base(implementation)
    recorder = _Recorder(initial_weights)
    stdout, stderr = io.StringIO(), io.StringIO()
    error = None
    started = time.perf_counter()
    with _implementation_active(implementation), _patched(base, recorder), _script_context(path, argv), \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as exit_:
            if exit_.code not in (None, 0):
                error = _script_error(exit_, path)
        except Exception as exception:  # the script's own failure is a result to report, not ours to raise
            error = _script_error(exception, path)
    recorder.finish()
    stderr.writelines(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line) for w in caught)
    return RunResult(script=path, implementation=implementation, models=recorder.records, stdout=stdout.getvalue(),
                     stderr=stderr.getvalue(), error=error, seconds=time.perf_counter() - started)


def keras_available():
    """Whether real Keras can be imported (with minikeras's import hook out of the way)."""
    try:
        _model_base("keras")
    except KerasNotInstalledError:
        return False
    return True


def _model_base(implementation):
    """The class every model of `implementation` inherits `fit` and friends from."""
    from minikeras import hook

    if implementation == "minikeras":
        from minikeras.models.training import Trainer
        return Trainer
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    hook.uninstall()
    try:
        keras = importlib.import_module("keras")
    except ImportError as error:
        raise KerasNotInstalledError(f"real Keras is not installed ({error})") from error
    return keras.Model


@contextlib.contextmanager
def _implementation_active(implementation):
    """Fresh name counters for the implementation; the import hook on for minikeras, off for Keras."""
    from minikeras import backend, hook

    if implementation == "minikeras":
        backend.clear_session()
        hook.install()
    else:
        hook.uninstall()
        importlib.import_module("keras").backend.clear_session()
    try:
        yield
    finally:
        hook.uninstall()


@contextlib.contextmanager
def _script_context(path, argv):
    """What `python script.py argv...` gives a script: its argv, its folder on sys.path; plus the same data
    seeds in every run and matplotlib's non-interactive backend (`plt.show()` must not block)."""
    saved_argv, saved_path, saved_backend = sys.argv, list(sys.path), os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    np.random.seed(DATA_SEED)
    random.seed(DATA_SEED)
    _use_agg_backend()
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if saved_backend is None:
            del os.environ["MPLBACKEND"]
        else:
            os.environ["MPLBACKEND"] = saved_backend
        _close_figures()


def _use_agg_backend():
    """A script that already imported pyplot in this process would otherwise keep an interactive backend."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].switch_backend("Agg")


def _close_figures():
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@contextlib.contextmanager
def _patched(base, recorder):
    """Wrap the model methods on `base` for the duration; put back exactly what was there."""
    saved = {name: base.__dict__[name] for name in WRAPPED_METHODS if name in base.__dict__}
    for name in WRAPPED_METHODS:
        setattr(base, name, recorder.wrap(name, getattr(base, name)))
    try:
        yield
    finally:
        for name in WRAPPED_METHODS:
            if name in saved:
                setattr(base, name, saved[name])
            else:
                delattr(base, name)


class _Recorder:
    """Holds the records of one run and makes the method wrappers that fill them."""

    def __init__(self, initial_weights):
        self.initial_weights = initial_weights
        self.models = []
        self.records = []
        self.depth = 0

    def wrap(self, kind, method):
        signature = inspect.signature(method)
        recorder = self

        def wrapper(model, *args, **kwargs):
            if recorder.depth:
                return method(model, *args, **kwargs)
            bound = signature.bind(model, *args, **kwargs)
            recorder.depth += 1
            try:
                record = recorder.first_use(model, bound.arguments.get("x"))
                call = Call(kind=kind, trained_before=any(c.kind in ("fit", "train_on_batch") for c in record.calls))
                if kind == "fit":
                    call.shuffle_forced = bound.arguments.get("shuffle", True) is not False
                    bound.arguments["shuffle"] = False
                    _note_random_layers(model, record)
                result = method(*bound.args, **bound.kwargs)
            finally:
                recorder.depth -= 1
            if kind == "fit":
                call.history = copy.deepcopy(result.history)
                call.params = dict(result.params)
            else:
                call.result = _plain(result)
            record.calls.append(call)
            return result

        return functools.wraps(method)(wrapper)

    def first_use(self, model, x):
        for index, seen in enumerate(self.models):
            if seen is model:
                return self.records[index]
        index = len(self.models)
        if not getattr(model, "built", True):
            _build_from(model, x)
        record = ModelRecord(index=index, name=model.name, class_name=type(model).__name__, initial_weights=[])
        if self.initial_weights is not None and index < len(self.initial_weights):
            record.weights_given = True
            record.weights_mismatch = _set_weights(model, self.initial_weights[index])
        record.initial_weights = [np.array(w) for w in model.get_weights()]
        if getattr(model, "built", True):  # a forward pass would build it on a shape fit may not agree with
            record.initial_output = _forward(model, x)
        _note_random_layers(model, record)
        self.models.append(model)
        self.records.append(record)
        return record

    def finish(self):
        for model, record in zip(self.models, self.records):
            record.final_weights = [np.array(w) for w in model.get_weights()]


def _first_rows(x, count):
    try:
        rows = np.asarray(x)
    except Exception:  # a generator or dataset: nothing to slice
        return None
    if rows.dtype == object or rows.ndim == 0:
        return None
    return rows[:count]


def _build_from(model, x):
    """An unbuilt model (no input shape given) is built by a forward pass on one row, as fit would.

    Only for batches of at least 2 dimensions: on 1-D data Keras's fit raises its own error, which the
    script must meet unchanged.
    """
    rows = _first_rows(x, 1)
    if rows is not None and rows.ndim >= 2:
        with contextlib.suppress(Exception):  # left unbuilt, the weights simply cannot be aligned
            model.predict(rows, verbose=0)


def _set_weights(model, weights):
    """Set `weights` into `model`; a description of the mismatch when they do not fit, else None."""
    try:
        model.set_weights(weights)
    except Exception as error:  # reported with the results: the runs then start from different weights
        return f"{type(error).__name__}: {error}"
    return None


def _forward(model, x):
    """The model's inference output on the first rows of x (None when x cannot be sliced)."""
    rows = _first_rows(x, FORWARD_ROWS)
    if rows is None:
        return None
    try:
        return np.array(model.predict(rows, verbose=0))
    except Exception:  # the script's own call will raise with the script's own message
        return None


def _note_random_layers(model, record):
    """Layers that draw random numbers in training, so two runs cannot agree exactly after training."""
    for layer in _all_layers(model):
        description = _randomness(layer)
        if description and description not in record.random_layers:
            record.random_layers.append(description)


def _all_layers(model):
    """Every layer inside `model`: nested models' layers and the layers wrappers hold (both libraries)."""
    inner = list(getattr(model, "layers", []))
    inner += [getattr(model, name) for name in ("layer", "forward_layer", "backward_layer")
              if getattr(model, name, None) is not None]
    for layer in inner:
        yield layer
        yield from _all_layers(layer)


def _randomness(layer):
    class_name = type(layer).__name__
    rate = getattr(layer, "rate", None)
    stddev = getattr(layer, "stddev", None)
    if "Dropout" in class_name and rate:
        return f"{layer.name} ({class_name}, rate={rate:g})"
    recurrent_rates = [f"{name}={getattr(layer, name):g}" for name in ("dropout", "recurrent_dropout")
                       if getattr(layer, name, 0)]
    if recurrent_rates:
        return f"{layer.name} ({class_name}, {', '.join(recurrent_rates)})"
    if "Noise" in class_name and stddev:
        return f"{layer.name} ({class_name}, stddev={stddev:g})"
    if class_name.startswith("Random"):
        return f"{layer.name} ({class_name})"
    return None


def _plain(value):
    """Results as NumPy arrays and Python floats, detached from either library's tensor types."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    array = np.array(value)
    return float(array) if array.ndim == 0 and array.dtype.kind in "fiub" else array


def _script_error(exception, path):
    """The error with its traceback from the script's own frame on (runpy's and ours are noise)."""
    frames = exception.__traceback__
    while frames.tb_next and os.path.abspath(frames.tb_frame.f_code.co_filename) != os.path.abspath(path):
        frames = frames.tb_next
    if os.path.abspath(frames.tb_frame.f_code.co_filename) != os.path.abspath(path):
        frames = exception.__traceback__
    text = "".join(traceback.format_exception(type(exception), exception, frames))
    message = str(exception) if not isinstance(exception, SystemExit) else f"exit status {exception.code}"
    return ScriptError(type=type(exception).__name__, message=message, traceback=text)

"""Cross-check Keras scripts: run one under real Keras and under minikeras, and compare the numbers."""
from minikeras.compat.comparison import Comparison, Difference, compare
from minikeras.compat.runner import (Call, KerasNotInstalledError, ModelRecord, RunResult, ScriptError,
                                     keras_available, run_script)

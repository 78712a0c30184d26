"""Every course script in compat/ runs under real Keras and under minikeras, from the same initial weights
and in the same batch order, and computes the same numbers: History per epoch, weights after training,
predict and evaluate (rtol 1e-4 after training, 1e-5 for the forward pass before training).

A script that picks a variant from `sys.argv[1]` out of a module-level dict literal (as
optimizer_comparison.py picks its optimizer) runs once per key. The largest differences seen per script
go to compat/.last_run.json (merged with earlier runs), from which compat/README.md's table is made.
"""
import ast
import json
from pathlib import Path

import pytest

from minikeras.compat import compare, run_script

HERE = Path(__file__).resolve().parent
LAST_RUN = HERE / ".last_run.json"


def course_scripts():
    return sorted(path for path in HERE.glob("*.py")
                  if path.name != "conftest.py" and not path.name.startswith(("test_", "bench")))


def variants(script):
    """The argument lists to run `script` with: each key of the dict it indexes with sys.argv, else none."""
    source = script.read_text()
    if "sys.argv" not in source:
        return [()]
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and node.value.keys and all(
                isinstance(key, ast.Constant) and isinstance(key.value, str) for key in node.value.keys):
            return [(key.value,) for key in node.value.keys]
    return [()]


CASES = [pytest.param(script, args, id=" ".join([script.stem, *args]))
         for script in course_scripts() for args in variants(script)]


@pytest.fixture(scope="module")
def last_run():
    """Largest differences per script, written once the module's tests are done."""
    results = json.loads(LAST_RUN.read_text()) if LAST_RUN.exists() else {}
    yield results
    LAST_RUN.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")


@pytest.mark.parametrize("script, args", CASES)
def test_course_script_agrees_with_keras(keras, last_run, script, args):
    keras_run = run_script(str(script), "keras", argv=args)
    assert keras_run.ok, keras_run.error.traceback
    minikeras_run = run_script(str(script), "minikeras", argv=args,
                               initial_weights=[record.initial_weights for record in keras_run.models])
    assert minikeras_run.ok, minikeras_run.error.traceback
    comparison = compare(keras_run, minikeras_run)
    last_run[" ".join([script.name, *args])] = {
        "agrees": comparison.agrees, "random_layers": sorted({layer for record in keras_run.models
                                                              for layer in record.random_layers}),
        "largest": comparison.summary(),
        "seconds": {"keras": round(keras_run.seconds, 2), "minikeras": round(minikeras_run.seconds, 2)}}

    assert keras_run.models, f"{script.name} used no model"
    assert all(record.weights_given and not record.weights_mismatch for record in minikeras_run.models)
    compared = {difference.category for difference in comparison.differences}
    assert "forward" in compared, "no forward pass was compared"
    if not comparison.random_models:
        assert {"history", "weights"} <= compared, f"only {sorted(compared)} were compared"
    beyond = [f"{d.where}: Keras {d.reference!r}, minikeras {d.candidate!r} (rtol {d.rtol:g})"
              for d in comparison.failures()]
    assert comparison.agrees, "\n".join(comparison.problems + beyond)

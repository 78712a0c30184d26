"""`python -m minikeras.compat [options] script.py [args...]`: cross-check an unchanged Keras script.

Options go before the script; everything after the script path is the script's own `sys.argv[1:]`.

The script runs twice in this process: under real Keras, then under minikeras with every model starting
from the weights Keras initialised it with, and `shuffle=False` forced in `fit` in both runs (same batch
order). Then a side-by-side table per model and fit shows each History key per epoch under both and
their difference, followed by the forward pass, predict/evaluate results, weights after training, the
largest differences and a verdict line.

Exit status:
  0  every compared value agrees within tolerance
  1  they disagree beyond tolerance (or the runs differ in structure: models, calls, keys, shapes)
  2  usage error (no script given, script not found, bad option)
  3  real Keras is not installed: the script ran under minikeras only (its numbers, or its error, shown)
  4  the script failed under one implementation (or both): which, its error, and what ran before
  5  the script built and used no model (no fit/evaluate/predict): nothing to compare
"""
import argparse
import importlib.metadata
import os
import sys

from minikeras.compat.comparison import DEFAULT_ATOL, DEFAULT_FORWARD_RTOL, DEFAULT_RTOL, compare
from minikeras.compat.report import format_comparison, format_error, format_run
from minikeras.compat.runner import keras_available, run_script

AGREE, DISAGREE, USAGE, NO_KERAS, SCRIPT_FAILED, NO_MODELS = range(6)
PROGRAM = "python -m minikeras.compat"


def main(argv=None):
    parser = _parser()
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if options.script is None:
        parser.print_usage(sys.stderr)
        print(f"{PROGRAM}: error: no script given: name the Keras script to cross-check, "
              f"e.g. {PROGRAM} examples/linear_regression.py", file=sys.stderr)
        return USAGE
    if not os.path.isfile(options.script):
        print(f"{PROGRAM}: error: cannot open script '{options.script}': no such file", file=sys.stderr)
        return USAGE
    if not keras_available():
        return _minikeras_only(options)
    keras_run = run_script(options.script, "keras", argv=options.args)
    minikeras_run = run_script(options.script, "minikeras", argv=options.args,
                               initial_weights=[record.initial_weights for record in keras_run.models])
    comparison = compare(keras_run, minikeras_run, rtol=options.rtol, forward_rtol=options.forward_rtol,
                         atol=options.atol)
    if not options.quiet:
        _show_outputs(options, keras_run, minikeras_run)
        print(f"Cross-check of {options.script}: real Keras {_version('keras')} (reference) vs minikeras "
              f"{_version('minikeras')}")
        print(format_comparison(comparison))
        print()
    failed = [run for run in (keras_run, minikeras_run) if not run.ok]
    if failed:
        print("\n".join(format_error(run) for run in failed))
        names = " and ".join(run.implementation for run in failed)
        print(f"FAILED: the script raised under {names}; the comparison above covers what ran before.")
        return SCRIPT_FAILED
    if not keras_run.models and not minikeras_run.models:
        print(_no_models_message(options.script))
        return NO_MODELS
    tolerance = f"rtol={options.rtol:g} after training, {options.forward_rtol:g} forward, atol={options.atol:g}"
    if not comparison.agrees:
        print(f"DISAGREE: {len(comparison.failures())} value(s) beyond tolerance ({tolerance}) and "
              f"{len(comparison.problems)} structural difference(s).")
        return DISAGREE
    nearest = comparison.largest(1)
    largest = (f"; nearest to its tolerance: |diff| {nearest[0].abs_diff:.2g} at {nearest[0].where}"
               if nearest else "")
    limited = (" as far as randomness allows (see Notes: Dropout or other random layers)"
               if comparison.random_models else "")
    print(f"AGREE: minikeras matches real Keras{limited} ({tolerance}){largest}.")
    return AGREE


def _minikeras_only(options):
    print("Real Keras is not installed (`import keras` fails), so there is nothing to compare with: the "
          "script runs under minikeras only. Install it with `pip install tensorflow-cpu==2.21.0`.")
    run = run_script(options.script, "minikeras", argv=options.args)
    if not options.quiet:
        _show_outputs(options, run)
        print(f"minikeras {_version('minikeras')} on {options.script}:")
        print(format_run(run))
    if not run.ok:
        print(format_error(run))
    elif not run.models:
        print(_no_models_message(options.script))
    print("NOT COMPARED: real Keras is not installed.")
    return NO_KERAS


def _show_outputs(options, *runs):
    if options.show_output:
        for run in runs:
            print(f"----- output of {options.script} under {run.implementation} -----")
            print(run.stdout + run.stderr, end="")
        print("-----")


def _no_models_message(script):
    return (f"NO MODELS: {script} never called fit, evaluate or predict on a model, so there are no numbers "
            f"to compare.")


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def _parser():
    exit_codes = __doc__[__doc__.index("Exit status:"):]
    parser = argparse.ArgumentParser(
        prog=PROGRAM, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run an unchanged Keras script under real Keras and under minikeras (from the same initial\n"
                    "weights, same batch order) and compare History, outputs and weights.\n"
                    "Options go before the script; everything after the script is passed to it.",
        epilog=exit_codes)
    parser.add_argument("script", nargs="?", help="the Keras script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                        help=f"relative tolerance after training: History, weights (default {DEFAULT_RTOL:g})")
    parser.add_argument("--forward-rtol", type=float, default=DEFAULT_FORWARD_RTOL,
                        help=f"relative tolerance before training: forward pass, predict, evaluate "
                             f"(default {DEFAULT_FORWARD_RTOL:g})")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL,
                        help=f"absolute tolerance added to both (default {DEFAULT_ATOL:g})")
    parser.add_argument("--quiet", action="store_true", help="print only the verdict (and errors)")
    parser.add_argument("--show-output", action="store_true", help="also print the script's own output")
    return parser


if __name__ == "__main__":
    sys.exit(main())

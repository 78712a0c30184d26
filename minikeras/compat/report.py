"""Text tables of runs and comparisons: per model, per fit, epoch by epoch, then the largest differences."""
import numpy as np

NUMBER_WIDTH = 13


def format_comparison(comparison, largest=5):
    """Side-by-side tables of a Keras run and a minikeras run, with what differs and by how much."""
    reference, candidate = comparison.reference, comparison.candidate
    lines = []
    for ref_model, cand_model in zip(reference.models, candidate.models):
        lines += _model_heading(ref_model, cand_model)
        label = f"model {ref_model.index + 1} "
        lines += [f"  {_difference_line(d, label)}" for d in comparison.differences
                  if d.where.startswith(label) and d.category == "forward"]
        fit_number = 0
        for ref_call, cand_call in zip(ref_model.calls, cand_model.calls):
            if ref_call.kind == "fit" and cand_call.kind == "fit":
                fit_number += 1
                lines += _fit_heading(fit_number, ref_call)
                lines += _side_by_side(ref_call.history, cand_call.history)
        lines += [f"  {_difference_line(d, label)}" for d in comparison.differences
                  if d.where.startswith(label) and d.category in ("outputs", "weights")]
    for extra, run in ((reference.models[len(candidate.models):], reference),
                       (candidate.models[len(reference.models):], candidate)):
        for record in extra:
            lines.append(f"Model {record.index + 1}: {record.name} ({record.class_name}) ran only under "
                         f"{run.implementation}")
    if comparison.problems:
        lines += ["", "Structural differences:"] + [f"  {problem}" for problem in comparison.problems]
    if comparison.notes:
        lines += ["", "Notes:"] + [f"  {note}" for note in comparison.notes]
    if comparison.differences:
        lines += ["", f"Largest differences (|diff| against atol + rtol*|Keras|, atol={comparison.atol:g}):"]
        lines += [f"  {_difference_line(d)}" for d in comparison.largest(largest)]
    return "\n".join(lines)


def format_run(run):
    """The numbers of a single run (when there is nothing to compare them with)."""
    lines = []
    for record in run.models:
        lines.append(f"Model {record.index + 1}: {record.name} ({record.class_name}), "
                     f"{len(record.initial_weights)} weight arrays")
        counts = {}
        for call in record.calls:
            counts[call.kind] = counts.get(call.kind, 0) + 1
            if call.kind == "fit":
                lines += _fit_heading(counts["fit"], call, both_runs=False)
                lines += _single_table(call.history)
            else:
                lines.append(f"  {call.kind} {counts[call.kind]}: {_describe_result(call.result)}")
        if record.random_layers:
            lines.append(f"  draws random numbers in training: {', '.join(record.random_layers)}")
    return "\n".join(lines)


def format_error(run):
    """Which implementation the script failed under, its error, and where."""
    lines = [f"The script failed under {run.implementation}: {run.error}"]
    lines += ["  " + line for line in run.error.traceback.rstrip().splitlines()]
    return "\n".join(lines)


def _model_heading(ref_model, cand_model):
    aligned = cand_model.weights_given and not cand_model.weights_mismatch and cand_model.initial_weights
    start = ("minikeras started from Keras's initial weights" if aligned
             else "the two runs did not start from the same initial weights")
    heading = (f"Model {ref_model.index + 1}: {ref_model.name} ({ref_model.class_name}), "
               f"{len(ref_model.initial_weights)} weight arrays; {start}")
    return [heading]


def _fit_heading(number, call, both_runs=True):
    params = call.params or {}
    shuffle = "; shuffle=False forced" if call.shuffle_forced else ""
    shuffle += " (same batch order in both runs)" if shuffle and both_runs else ""
    return [f"  fit {number}: {params.get('epochs', '?')} epochs of {params.get('steps', '?')} steps{shuffle}"]


def _side_by_side(reference, candidate):
    keys = sorted(set(reference) & set(candidate))
    widths = {key: (max(NUMBER_WIDTH, len(key) + 6), max(NUMBER_WIDTH, len(key) + 10)) for key in keys}
    header = f"    {'epoch':>5}"
    for key in keys:
        header += f"  {key + ' Keras':>{widths[key][0]}}  {key + ' minikeras':>{widths[key][1]}}  {'|diff|':>8}"
    rows = [header]
    epochs = max((len(reference[key]) for key in keys), default=0)
    for epoch in range(epochs):
        row = f"    {epoch + 1:>5}"
        for key in keys:
            ref_value, cand_value = _at(reference[key], epoch), _at(candidate[key], epoch)
            diff = abs(cand_value - ref_value) if None not in (ref_value, cand_value) else None
            ref_width, cand_width = widths[key]
            row += f"  {_number(ref_value):>{ref_width}}  {_number(cand_value):>{cand_width}}  {_diff(diff):>8}"
        rows.append(row)
    return rows


def _single_table(history):
    keys = sorted(history)
    rows = [f"    {'epoch':>5}" + "".join(f"  {key:>{NUMBER_WIDTH}}" for key in keys)]
    for epoch in range(max((len(history[key]) for key in keys), default=0)):
        rows.append(f"    {epoch + 1:>5}" + "".join(
            f"  {_number(_at(history[key], epoch)):>{max(NUMBER_WIDTH, len(key))}}" for key in keys))
    return rows


def _difference_line(difference, strip=""):
    where = difference.where[len(strip):] if strip and difference.where.startswith(strip) else difference.where
    verdict = "ok" if difference.ok else f"BEYOND rtol={difference.rtol:g}"
    return (f"{where}: Keras {_number(difference.reference)}, minikeras {_number(difference.candidate)}; "
            f"max |diff| {difference.abs_diff:.2g} (rel {difference.rel_diff:.2g}) {verdict}")


def _describe_result(result):
    if isinstance(result, float):
        return _number(result)
    if isinstance(result, list):
        return "[" + ", ".join(_describe_result(item) for item in result) + "]"
    if isinstance(result, dict):
        return "{" + ", ".join(f"{key!r}: {_describe_result(value)}" for key, value in result.items()) + "}"
    return f"array of shape {np.shape(result)}"


def _at(values, index):
    return values[index] if index < len(values) else None


def _number(value):
    return "-" if value is None else f"{value:.8g}"


def _diff(value):
    return "-" if value is None else f"{value:.2g}"

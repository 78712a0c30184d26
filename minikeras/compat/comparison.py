"""Compare two runs of one script (real Keras the reference, minikeras the candidate) number by number.

A pair of values agrees when |candidate - reference| <= atol + tol * |reference|, with tol = `forward_rtol`
for what a model computes before it was trained (the same weights went in: only float32 rounding differs)
and `rtol` for everything after training (History, weights, and outputs of trained models), where
rounding differences compound over the updates. A model with a layer drawing random numbers in training
(Dropout...) cannot agree after training: for it only what does not depend on those draws is compared
(its forward pass before training, names, shapes, epoch counts); the loss ballpark becomes a note.
"""
import dataclasses

import numpy as np

DEFAULT_RTOL = 1e-4
DEFAULT_FORWARD_RTOL = 1e-5
DEFAULT_ATOL = 1e-6
CATEGORIES = ("forward", "history", "outputs", "weights")


@dataclasses.dataclass
class Difference:
    """The worst element of one compared quantity; `excess` > 1 means it is beyond tolerance."""
    where: str
    category: str
    reference: float
    candidate: float
    abs_diff: float
    rel_diff: float
    rtol: float
    excess: float

    @property
    def ok(self):
        return self.excess <= 1.0


@dataclasses.dataclass
class Comparison:
    """All differences between a reference run and a candidate run, and whatever could not be compared."""
    reference: object
    candidate: object
    rtol: float
    forward_rtol: float
    atol: float
    differences: list = dataclasses.field(default_factory=list)
    problems: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)

    @property
    def agrees(self):
        return not self.problems and all(d.ok for d in self.differences)

    @property
    def random_models(self):
        return [record.index for record in self.reference.models if record.random_layers]

    def failures(self):
        return [d for d in self.differences if not d.ok]

    def largest(self, count=5):
        """The differences closest to (or furthest beyond) their tolerance, worst first."""
        return sorted(self.differences, key=lambda d: d.excess, reverse=True)[:count]

    def summary(self):
        """Per category, the largest absolute and relative difference seen (JSON-ready)."""
        summary = {}
        for category in CATEGORIES:
            found = [d for d in self.differences if d.category == category]
            if found:
                worst = max(found, key=lambda d: d.abs_diff)
                summary[category] = {"max_abs_diff": worst.abs_diff, "where": worst.where,
                                     "max_rel_diff": max(d.rel_diff for d in found)}
        return summary

    def describe(self, where, category, reference, candidate, rtol):
        """Compare two arrays (or numbers) of one quantity; a shape mismatch is a problem."""
        reference = np.asarray(reference, dtype=np.float64)
        candidate = np.asarray(candidate, dtype=np.float64)
        if reference.shape != candidate.shape:
            self.problems.append(f"{where}: shape {candidate.shape} under minikeras, {reference.shape} under Keras")
            return
        if reference.size == 0:
            return
        abs_diff = np.abs(candidate - reference)
        abs_diff = np.where(np.isnan(candidate) & np.isnan(reference), 0.0, abs_diff)
        abs_diff = np.where(np.isnan(abs_diff), np.inf, abs_diff)
        excess = abs_diff / (self.atol + rtol * np.abs(reference))
        worst = int(np.argmax(excess))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_diff = np.where(abs_diff == 0, 0.0, abs_diff / np.abs(reference))
        self.differences.append(Difference(
            where=where, category=category, reference=float(reference.flat[worst]),
            candidate=float(candidate.flat[worst]), abs_diff=float(abs_diff.max()), rel_diff=float(rel_diff.max()),
            rtol=rtol, excess=float(excess.flat[worst])))


def compare(reference, candidate, rtol=DEFAULT_RTOL, forward_rtol=DEFAULT_FORWARD_RTOL, atol=DEFAULT_ATOL):
    """Compare the `RunResult`s of the same script under real Keras (reference) and minikeras (candidate)."""
    comparison = Comparison(reference, candidate, rtol=rtol, forward_rtol=forward_rtol, atol=atol)
    both_ran = reference.ok and candidate.ok
    if len(reference.models) != len(candidate.models) and both_ran:
        comparison.problems.append(f"the script used {len(reference.models)} model(s) under Keras but "
                                   f"{len(candidate.models)} under minikeras")
    for ref_model, cand_model in zip(reference.models, candidate.models):
        _compare_model(comparison, ref_model, cand_model, both_ran)
    return comparison


def _compare_model(comparison, ref, cand, both_ran):
    label = f"model {ref.index + 1}"
    if cand.weights_mismatch:
        comparison.problems.append(f"{label}: Keras's initial weights do not fit minikeras's model "
                                   f"({cand.weights_mismatch})")
    random = bool(ref.random_layers or cand.random_layers)
    if random:
        layers = ", ".join(ref.random_layers or cand.random_layers)
        comparison.notes.append(f"{label} draws random numbers in training ({layers}): after training the two "
                                f"runs cannot agree exactly, so only shapes, names, epoch counts and the forward "
                                f"pass before training are compared there; losses are shown for their ballpark")
    if ref.initial_output is not None and cand.initial_output is not None:
        comparison.describe(f"{label} forward pass before training {np.shape(ref.initial_output)}", "forward",
                            ref.initial_output, cand.initial_output, comparison.forward_rtol)
    if len(ref.calls) != len(cand.calls) and both_ran:
        comparison.problems.append(f"{label}: {len(ref.calls)} call(s) under Keras, {len(cand.calls)} under minikeras")
    counts = {}
    for ref_call, cand_call in zip(ref.calls, cand.calls):
        counts[ref_call.kind] = counts.get(ref_call.kind, 0) + 1
        where = f"{label} {ref_call.kind} {counts[ref_call.kind]}"
        if ref_call.kind != cand_call.kind:
            comparison.problems.append(f"{where}: minikeras ran {cand_call.kind} instead")
            return
        if ref_call.kind == "fit":
            _compare_history(comparison, where, ref_call, cand_call, random)
        else:
            trained = ref_call.trained_before or ref_call.kind == "train_on_batch"
            _compare_result(comparison, where, ref_call.result, cand_call.result,
                            comparison.rtol if trained else comparison.forward_rtol, random and trained)
    if ref.final_weights is not None and cand.final_weights is not None:
        trained = any(call.kind in ("fit", "train_on_batch") for call in ref.calls)
        _compare_weights(comparison, label, ref.final_weights, cand.final_weights,
                         comparison.rtol if trained else comparison.forward_rtol, random and trained)


def _compare_history(comparison, where, ref_call, cand_call, random):
    ref_history, cand_history = ref_call.history, cand_call.history
    if sorted(ref_history) != sorted(cand_history):
        comparison.problems.append(f"{where}: History keys {sorted(cand_history)} under minikeras, "
                                   f"{sorted(ref_history)} under Keras")
    for key in sorted(set(ref_history) & set(cand_history)):
        ref_values, cand_values = ref_history[key], cand_history[key]
        if len(ref_values) != len(cand_values):
            comparison.problems.append(f"{where} {key}: {len(cand_values)} epoch(s) under minikeras, "
                                       f"{len(ref_values)} under Keras")
            continue
        if random:
            if ref_values and key.endswith("loss"):
                comparison.notes.append(f"{where} last-epoch {key}: Keras {ref_values[-1]:.6g}, minikeras "
                                        f"{cand_values[-1]:.6g} (ratio {_ratio(cand_values[-1], ref_values[-1])})")
            continue
        for epoch, (ref_value, cand_value) in enumerate(zip(ref_values, cand_values), start=1):
            comparison.describe(f"{where} epoch {epoch} {key}", "history", ref_value, cand_value, comparison.rtol)


def _compare_result(comparison, where, reference, candidate, rtol, shapes_only):
    ref_parts, cand_parts = dict(_parts(reference)), dict(_parts(candidate))
    if list(ref_parts) != list(cand_parts):
        comparison.problems.append(f"{where}: returned {_layout(candidate)} under minikeras, "
                                   f"{_layout(reference)} under Keras")
        return
    for name, ref_value in ref_parts.items():
        part_where = f"{where}{name}" + (f" {np.shape(ref_value)}" if np.ndim(ref_value) else "")
        if shapes_only:
            if np.shape(ref_value) != np.shape(cand_parts[name]):
                comparison.problems.append(f"{part_where}: shape {np.shape(cand_parts[name])} under minikeras, "
                                           f"{np.shape(ref_value)} under Keras")
            continue
        comparison.describe(part_where, "outputs", ref_value, cand_parts[name], rtol)


def _compare_weights(comparison, label, reference, candidate, rtol, shapes_only):
    if len(reference) != len(candidate):
        comparison.problems.append(f"{label}: {len(candidate)} weight arrays under minikeras, "
                                   f"{len(reference)} under Keras")
        return
    for number, (ref_weight, cand_weight) in enumerate(zip(reference, candidate)):
        where = f"{label} final weight {number} {tuple(np.shape(ref_weight))}"
        if shapes_only:
            if np.shape(ref_weight) != np.shape(cand_weight):
                comparison.problems.append(f"{where}: shape {np.shape(cand_weight)} under minikeras")
            continue
        comparison.describe(where, "weights", ref_weight, cand_weight, rtol)


def _parts(value, prefix=""):
    """(suffix, array) pairs of a nested result: ` [1]`, ` ['accuracy']`..., or '' for a single value."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _parts(value[key], f"{prefix} [{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _parts(item, f"{prefix} [{index}]")
    else:
        yield prefix, value


def _layout(value):
    parts = [name or "a value" for name, _ in _parts(value)]
    return ", ".join(parts) if parts else "nothing"


def _ratio(value, reference):
    return f"{value / reference:.3g}" if reference else "n/a"

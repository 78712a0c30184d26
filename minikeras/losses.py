"""Losses, as `keras.losses`: per-sample functions, Loss classes, and their analytic gradients.

Every per-sample function is backed by a kernel `kernel(y_true, y_pred, **options) -> _Evaluation`
holding the per-sample losses and a vector-Jacobian product `vjp(d_losses) -> d_y_pred`. The public
functions return the losses; `LossFunctionWrapper` (the base of every Loss class) also uses the vjp
to return the exact gradient of the reduced loss from `value_and_gradient`.

Gradients follow TensorFlow's conventions at the kinks, because Keras 3 trains through them:
`clip` passes the gradient on its bounds and stops it strictly outside, `maximum(x, c)` sends it to
`x` when `x >= c`, `abs` has derivative `sign` (0 at 0), and `max` over an axis splits it between ties.
"""
import inspect
import warnings
from typing import Callable, NamedTuple, Optional

import numpy as np

from minikeras import backend
from minikeras.saving.serialization_lib import get_object, serialize_function, serialize_keras_object
from minikeras.utils.argument_validation import check_number

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class _Evaluation(NamedTuple):
    losses: np.ndarray
    vjp: Optional[Callable] = None
    mask: Optional[np.ndarray] = None


# ----------------------------------------------------------------------------- shape and dtype helpers


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. "
            f"Expected one of {set(REDUCTIONS)}. Received: reduction={reduction}"
        )
    return reduction


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank alignment: when the ranks differ by one and the longer array ends in 1, squeeze
    that axis, except that a rank-1 partner is expanded instead (so y (N,) meets pred (N, 1))."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, x2[:, None]
        return x1[..., 0], x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return x1[:, None], x2
        return x1, x2[..., 0]
    return x1, x2


def _compute_dtype(y_pred, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(y_pred, np.ndarray) and y_pred.dtype.kind == "f":
        return y_pred.dtype
    return np.dtype(backend.floatx())


def _convert(y_true, y_pred, dtype=None):
    """Both arrays in the compute dtype: `dtype` if given, else y_pred's float dtype (floatx for ints, lists)."""
    dtype = _compute_dtype(y_pred, dtype)
    return np.asarray(y_true, dtype=dtype), np.asarray(y_pred, dtype=dtype)


def _check_broadcastable(y_true, y_pred):
    if y_true.shape == y_pred.shape:
        return
    try:
        np.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ValueError(
            f"Incompatible shapes: y_true.shape={y_true.shape} vs. y_pred.shape={y_pred.shape}"
        ) from None


def _check_same_shape(target, output):
    if target.ndim != output.ndim:
        raise ValueError(
            "Arguments `target` and `output` must have the same rank (ndim). "
            f"Received: target.shape={target.shape}, output.shape={output.shape}"
        )
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={target.shape}, output.shape={output.shape}"
        )


def _sum_to_shape(grad, shape):
    """Undo broadcasting: sum `grad` over the axes along which an array of `shape` was broadcast."""
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    stretched = tuple(i + leading for i, n in enumerate(shape) if n == 1 and grad.shape[i + leading] != 1)
    return grad.sum(axis=tuple(range(leading)) + stretched, keepdims=True).reshape(shape)


def _inside(x, low, high):
    """Where tf.clip_by_value lets the gradient through: on or between the bounds."""
    return (x >= low) & (x <= high)


def _clip_bounds(dtype):
    eps = backend.epsilon()
    return dtype.type(eps), dtype.type(1.0 - eps)


def _mean(x, axis=-1):
    """np.mean over one axis without its Python-level wrapper, which costs more than a small batch's sum."""
    return np.add.reduce(x, axis=axis) / x.shape[axis]


def _expanded(upstream, axis):
    return upstream[..., np.newaxis] if axis == -1 else np.expand_dims(upstream, axis)


def _mean_vjp(upstream, elementwise_grad, axis=-1):
    """d/dy_pred of upstream . mean(f, axis), given elementwise_grad = df/dy_pred (overwritten)."""
    elementwise_grad *= _expanded(upstream, axis) / elementwise_grad.shape[axis]
    return elementwise_grad


def _sum_vjp(upstream, elementwise_grad, axis=-1):
    elementwise_grad *= _expanded(upstream, axis)
    return elementwise_grad


def _log_softmax(x, axis):
    """(log_softmax(x), softmax(x)) along `axis`, shifted by the max for stability."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    total = np.sum(exp, axis=axis, keepdims=True)
    exp /= total
    shifted -= np.log(total)
    return shifted, exp


# ----------------------------------------------------------------------------- kernels


def _squared_error(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    losses, slope = _squared_error_terms(y_true, y_pred)
    return _Evaluation(losses, lambda up: _mean_vjp(up, slope))


def _squared_error_terms(y_true, y_pred, axis=-1):
    """The per-sample means of the squared errors, and their elementwise slope before the 1 / C."""
    diff = y_pred - y_true
    return _mean(np.square(diff), axis=axis), 2 * diff


def _absolute_error(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    diff = y_pred - y_true
    return _Evaluation(_mean(np.abs(diff), axis=-1), lambda up: _mean_vjp(up, np.sign(diff)))


def _absolute_percentage_error(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    denominator = np.maximum(np.abs(y_true), y_pred.dtype.type(backend.epsilon()))
    losses = 100.0 * _mean(np.abs((y_true - y_pred) / denominator), axis=-1)
    return _Evaluation(losses, lambda up: _mean_vjp(up, 100.0 * np.sign(y_pred - y_true) / denominator))


def _squared_logarithmic_error(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    eps = y_pred.dtype.type(backend.epsilon())
    shifted_pred = np.maximum(y_pred, eps) + 1.0
    log_diff = np.log(shifted_pred) - np.log(np.maximum(y_true, eps) + 1.0)

    def vjp(upstream):
        return _mean_vjp(upstream, 2 * log_diff / shifted_pred * (y_pred >= eps))

    return _Evaluation(_mean(np.square(log_diff), axis=-1), vjp)


def _l2_normalize(x, axis):
    """(x * inv_norm, inv_norm, unclamped) with inv_norm = min(1/||x||, 1/eps), as ops.normalize."""
    with np.errstate(divide="ignore"):
        raw = 1.0 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    limit = x.dtype.type(1.0 / backend.epsilon())
    inv_norm = np.minimum(raw, limit)
    return x * inv_norm, inv_norm, raw <= limit


def _cosine_similarity(y_true, y_pred, axis=-1):
    _check_broadcastable(y_true, y_pred)
    true_unit = _l2_normalize(y_true, axis)[0]
    pred_unit, inv_norm, unclamped = _l2_normalize(y_pred, axis)
    similarity = np.sum(true_unit * pred_unit, axis=axis, keepdims=True)

    def vjp(upstream):
        grad = pred_unit * (similarity * unclamped) - true_unit
        grad *= inv_norm
        return _sum_vjp(upstream, grad, axis)

    return _Evaluation(-np.squeeze(similarity, axis=axis), vjp)


def _huber(y_true, y_pred, delta=1.0):
    _check_broadcastable(y_true, y_pred)
    dtype = y_pred.dtype.type
    delta = dtype(delta)
    error = y_pred - y_true
    abs_error = np.abs(error)
    quadratic = abs_error <= delta
    half = dtype(0.5)
    elementwise = np.where(quadratic, half * np.square(error), delta * abs_error - half * np.square(delta))

    def vjp(upstream):
        return _mean_vjp(upstream, np.where(quadratic, error, delta * np.sign(error)))

    return _Evaluation(_mean(elementwise, axis=-1), vjp)


def _log_cosh(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    x = y_pred - y_true
    elementwise = x + np.logaddexp(0, -2.0 * x) - y_pred.dtype.type(np.log(2.0))
    return _Evaluation(_mean(elementwise, axis=-1), lambda up: _mean_vjp(up, np.tanh(x)))


def _sigmoid(x, exp_neg_abs):
    """sigmoid(x) without overflow, given exp(-|x|)."""
    return np.where(x >= 0, 1.0, exp_neg_abs) / (1.0 + exp_neg_abs)


def _binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    _check_same_shape(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        losses, slope = _binary_crossentropy_logit_terms(y_true, y_pred, axis)
        return _Evaluation(losses, lambda up: _mean_vjp(up, slope, axis))
    low, high = _clip_bounds(y_pred.dtype)
    clipped = np.clip(y_pred, low, high)
    elementwise = -(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))

    def vjp(upstream):
        grad = (1 - y_true) / (1 - clipped) - y_true / clipped
        grad *= _inside(y_pred, low, high)
        return _mean_vjp(upstream, grad, axis)

    return _Evaluation(_mean(elementwise, axis=axis), vjp)


def _binary_crossentropy_logit_terms(y_true, y_pred, axis=-1):
    """From logits x: the per-sample means of max(x, 0) - x t + log1p(exp(-|x|)), and their elementwise
    slope sigmoid(x) - t before the 1 / C."""
    exp_neg_abs = np.exp(-np.abs(y_pred))
    elementwise = np.maximum(y_pred, 0) - y_pred * y_true + np.log1p(exp_neg_abs)
    return _mean(elementwise, axis=axis), _sigmoid(y_pred, exp_neg_abs) - y_true


def _categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    if y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) "
            f"with num_classes > 1. Received: y_pred.shape={y_pred.shape}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )
    if y_true.ndim < 1:
        raise ValueError(
            "Arguments `target` and `output` must be at least rank 1. "
            f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}"
        )
    _check_same_shape(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        log_probs, probs = _log_softmax(y_pred, axis)

        def logits_vjp(upstream):
            # TensorFlow's softmax cross-entropy kernel differentiates as softmax - y, as if every label
            # row summed to 1 (multi-hot or all-zero rows included): Keras trains with that gradient.
            return _sum_vjp(upstream, probs - y_true, axis)

        return _Evaluation(-np.sum(y_true * log_probs, axis=axis), logits_vjp)
    total = np.sum(y_pred, axis=axis, keepdims=True)
    normalized = y_pred / total
    low, high = _clip_bounds(y_pred.dtype)
    clipped = np.clip(normalized, low, high)

    def vjp(upstream):
        grad_normalized = -y_true / clipped * _inside(normalized, low, high)
        grad = grad_normalized - np.sum(grad_normalized * normalized, axis=axis, keepdims=True)
        grad /= total
        return _sum_vjp(upstream, grad, axis)

    return _Evaluation(-np.sum(y_true * np.log(clipped), axis=axis), vjp)


def _check_probability_targets(y_true):
    """Binary crossentropy's targets are class 1's probability: 0 to 1 (soft labels included)."""
    outside = (y_true < 0) | (y_true > 1)
    if outside.any():
        raise ValueError(f"binary_crossentropy takes targets between 0 and 1 (the probability of class 1). Received "
                         f"a target of {y_true[outside].flat[0]}. Target values: "
                         f"{' '.join(str(v) for v in y_true.ravel()[:20])}")


def _label_text(value):
    """A label as Keras prints it (an integer), but NaN and inf as themselves: they have no integer value."""
    return str(int(value)) if np.isfinite(value) else str(value)


def _sparse_labels(y_true, y_pred, axis, ignore_class):
    """Integer labels of shape y_pred.shape[:-1], validated against the number of classes."""
    if axis != -1 and axis != y_pred.ndim - 1:
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    labels = y_true.astype(np.int64)
    if y_pred.ndim < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: output.shape={y_pred.shape}")
    if labels.ndim != y_pred.ndim - 1:
        raise ValueError(
            "Argument `output` must have rank (ndim) `target.ndim - 1`. "
            f"Received: target.shape={labels.shape}, output.shape={y_pred.shape}"
        )
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last dimension: "
            f"target.shape={labels.shape}, output.shape={y_pred.shape}"
        )
    valid = None if ignore_class is None else labels != int(ignore_class)
    num_classes = y_pred.shape[-1]
    checked = labels if valid is None else labels[valid]
    out_of_range = (checked < 0) | (checked >= num_classes)
    if out_of_range.any():
        received = (y_true if valid is None else y_true[valid])[out_of_range][0]
        raise ValueError(
            f"Received a label value of {_label_text(received)} which is outside the valid range "
            f"of [0, {num_classes}) for y_pred with {num_classes} classes. "
            f"Label values: {' '.join(_label_text(v) for v in y_true.ravel()[:20])}"
        )
    if y_true.dtype.kind == "f" and (labels != y_true).any():
        received = y_true[labels != y_true].flat[0]
        raise ValueError(f"Sparse labels must be whole class indices. Received a label value of {received}. "
                         f"Label values: {' '.join(str(v) for v in y_true.ravel()[:20])}")
    if valid is not None:
        labels = np.where(valid, labels, 0)
    return labels, valid


def _sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    labels, valid = _sparse_labels(y_true, y_pred, axis, ignore_class)
    if from_logits:
        logits = y_pred
    else:
        low, high = _clip_bounds(y_pred.dtype)
        clipped = np.clip(y_pred, low, high)
        logits = np.log(clipped)
    log_probs, probs = _log_softmax(logits, -1)
    picked = labels[..., None]
    losses = -np.take_along_axis(log_probs, picked, axis=-1)[..., 0]
    if valid is not None:
        losses *= valid

    def vjp(upstream):
        if valid is not None:
            upstream = upstream * valid
        grad = probs
        np.put_along_axis(grad, picked, np.take_along_axis(grad, picked, axis=-1) - 1, axis=-1)
        grad *= upstream[..., None]
        if not from_logits:
            grad /= clipped
            grad *= _inside(y_pred, low, high)
        return grad

    return _Evaluation(losses, vjp, valid)


def _kl_divergence(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    low = y_pred.dtype.type(backend.epsilon())
    true_clipped = np.clip(y_true, low, 1)
    pred_clipped = np.clip(y_pred, low, 1)
    losses = np.sum(true_clipped * np.log(true_clipped / pred_clipped), axis=-1)
    return _Evaluation(losses, lambda up: _sum_vjp(up, -true_clipped / pred_clipped * _inside(y_pred, low, 1)))


def _poisson(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    shifted = y_pred + y_pred.dtype.type(backend.epsilon())
    losses = _mean(y_pred - y_true * np.log(shifted), axis=-1)
    return _Evaluation(losses, lambda up: _mean_vjp(up, 1 - y_true / shifted))


def _hinge_labels(y_true):
    """Keras maps labels to -1/+1 when the whole batch is 0/1; other labels pass unchanged."""
    if np.all((y_true == 0) | (y_true == 1)):
        return 2.0 * y_true - 1.0
    return y_true


def _hinge(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    margin = 1.0 - y_true * y_pred
    losses = _mean(np.maximum(margin, 0.0), axis=-1)
    return _Evaluation(losses, lambda up: _mean_vjp(up, -y_true * (margin >= 0)))


def _squared_hinge(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    positive_margin = np.maximum(1.0 - y_true * y_pred, 0.0)
    losses = _mean(np.square(positive_margin), axis=-1)
    return _Evaluation(losses, lambda up: _mean_vjp(up, -2 * y_true * positive_margin))


def _categorical_hinge(y_true, y_pred):
    _check_broadcastable(y_true, y_pred)
    positive = np.sum(y_true * y_pred, axis=-1)
    wrong = (1.0 - y_true) * y_pred
    negative = np.max(wrong, axis=-1)
    margin = negative - positive + 1.0

    def vjp(upstream):
        is_max = (wrong == negative[..., None]).astype(y_pred.dtype)
        share = is_max / np.sum(is_max, axis=-1, keepdims=True)
        grad = (1.0 - y_true) * share - y_true
        return _sum_vjp(upstream * (margin >= 0), grad)

    return _Evaluation(np.maximum(margin, 0.0), vjp)


# ----------------------------------------------------------------------------- per-sample functions


def _per_sample(kernel, y_true, y_pred, align, **options):
    y_true, y_pred = _convert(y_true, y_pred)
    if align:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return kernel(y_true, y_pred, **options).losses


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)**2, axis=-1); gradient 2 (y_pred - y_true) / C."""
    return _per_sample(_squared_error, y_true, y_pred, align=True)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|, axis=-1); gradient sign(y_pred - y_true) / C."""
    return _per_sample(_absolute_error, y_true, y_pred, align=True)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1).
    Gradient 100 sign(y_pred - y_true) / (C max(|y_true|, eps))."""
    return _per_sample(_absolute_percentage_error, y_true, y_pred, align=True)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean(d**2, axis=-1), d = log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1).
    Gradient 2 d / (C (y_pred + 1)) where y_pred >= eps."""
    return _per_sample(_squared_logarithmic_error, y_true, y_pred, align=True)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(t_hat * p_hat, axis) with x_hat = x min(1/||x||, 1/eps); gradient (p_hat cos - t_hat) / ||y_pred||."""
    return _per_sample(_cosine_similarity, y_true, y_pred, align=True, axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """mean(e**2 / 2 if |e| <= delta else delta |e| - delta**2 / 2), e = y_pred - y_true.
    Gradient e or delta sign(e), over C."""
    return _per_sample(_huber, y_true, y_pred, align=True, delta=delta)


def log_cosh(y_true, y_pred):
    """mean(x + softplus(-2x) - log 2) = mean(log cosh x), x = y_pred - y_true; gradient tanh(x) / C."""
    return _per_sample(_log_cosh, y_true, y_pred, align=True)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(-(t log p + (1 - t) log(1 - p)), axis) with p clipped to [eps, 1 - eps] (no +eps in the log).
    Gradient (p - t) / (p (1 - p) C), zero where clipped; from logits x: (sigmoid(x) - t) / C."""
    return _per_sample(_binary_crossentropy, y_true, y_pred, align=False, from_logits=from_logits,
                     label_smoothing=label_smoothing, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(t log clip(p / sum(p))); gradient through the renormalisation (zero where clipped);
    from logits x: softmax(x) sum(t) - t."""
    return _per_sample(_categorical_crossentropy, y_true, y_pred, align=False, from_logits=from_logits,
                     label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """-log_softmax(log clip(p))[label] = -log(p_k / sum p) after clipping; labels (N,) or (N, 1).
    Gradient (1/sum(clip p) - [j = k]/p_k) where not clipped; from logits x: softmax(x) - onehot."""
    return _per_sample(_sparse_categorical_crossentropy, y_true, y_pred, align=False, from_logits=from_logits,
                     ignore_class=ignore_class, axis=axis)


def kl_divergence(y_true, y_pred):
    """sum(t log(t / p), axis=-1) with t, p clipped to [eps, 1]; gradient -t / p where p is not clipped."""
    return _per_sample(_kl_divergence, y_true, y_pred, align=False)


def poisson(y_true, y_pred):
    """mean(p - t log(p + eps), axis=-1); gradient (1 - t / (p + eps)) / C."""
    return _per_sample(_poisson, y_true, y_pred, align=False)


def hinge(y_true, y_pred):
    """mean(max(1 - t p, 0), axis=-1), 0/1 labels mapped to -1/+1; gradient -t / C where 1 - t p >= 0."""
    return _per_sample(_hinge, y_true, y_pred, align=False)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - t p, 0)**2, axis=-1), 0/1 labels mapped to -1/+1; gradient -2 t max(1 - t p, 0) / C."""
    return _per_sample(_squared_hinge, y_true, y_pred, align=False)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - t) p) - sum(t p) + 1, 0); gradient (1 - t) [argmax share] - t where the margin is >= 0."""
    return _per_sample(_categorical_hinge, y_true, y_pred, align=False)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

_KERNELS = {
    mean_squared_error: _squared_error,
    mean_absolute_error: _absolute_error,
    mean_absolute_percentage_error: _absolute_percentage_error,
    mean_squared_logarithmic_error: _squared_logarithmic_error,
    cosine_similarity: _cosine_similarity,
    huber: _huber,
    log_cosh: _log_cosh,
    binary_crossentropy: _binary_crossentropy,
    categorical_crossentropy: _categorical_crossentropy,
    sparse_categorical_crossentropy: _sparse_categorical_crossentropy,
    kl_divergence: _kl_divergence,
    poisson: _poisson,
    hinge: _hinge,
    squared_hinge: _squared_hinge,
    categorical_hinge: _categorical_hinge,
}
_FOLDED_ACTIVATIONS = {
    binary_crossentropy: "sigmoid",
    categorical_crossentropy: "softmax",
    sparse_categorical_crossentropy: "softmax",
}


# ----------------------------------------------------------------------------- reduction


def _reduce(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras's weighted reduction and its derivative: returns (reduced, d reduced / d values).

    sum_over_batch_size / mean: sum(l w) / size; sum: sum(l w); mean_with_sample_weight: sum(l w) / sum(w);
    none: l w unreduced (the derivative is then that of its sum). A mask (ignore_class) joins the
    weights, rescaled by size/valid for the mean reductions so masked entries do not count.
    """
    dtype = values.dtype
    if mask is not None:
        if reduction in ("mean", "sum_over_batch_size"):
            valid = np.count_nonzero(mask)
            mask = np.where(mask, dtype.type(mask.size / valid if valid else 0.0), dtype.type(0))
        else:
            mask = mask.astype(dtype)
        if sample_weight is None:
            sample_weight = mask
        else:
            mask, sample_weight = squeeze_or_expand_to_same_rank(mask, np.asarray(sample_weight, dtype=dtype))
            sample_weight = sample_weight * mask
    aligned = values
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
        aligned, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            weighted = aligned * sample_weight
        except ValueError:
            raise ValueError(
                f"`sample_weight` of shape {sample_weight.shape} is incompatible with the per-sample "
                f"losses of shape {aligned.shape} (Incompatible shapes)"
            ) from None
    else:
        weighted = values
    if reduction in (None, "none") or weighted.shape in ((), (0,)):
        reduced, scale = weighted, dtype.type(1)
    else:
        divisor = 1 if reduction == "sum" else weighted.size
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = np.sum(sample_weight)
        reduced = dtype.type(np.add.reduce(weighted, axis=None) / divisor if divisor else 0)
        scale = dtype.type(1 / divisor if divisor else 0)
    d_weighted = np.empty(weighted.shape, dtype)  # np.full's Python wrapper costs more than a batch's fill
    d_weighted.fill(scale)
    if sample_weight is not None:
        d_weighted *= sample_weight
    return reduced, _sum_to_shape(d_weighted, aligned.shape).reshape(values.shape)


# ----------------------------------------------------------------------------- Loss classes


def _gradient_required_message(name):
    return (
        f"minikeras cannot train with the loss {name!r}: minikeras has no autograd, so it needs a Loss "
        "subclass implementing value_and_gradient(y_true, y_pred, sample_weight=None, logits=None), "
        "or one of the built-in losses of minikeras.losses."
    )


class Loss:
    """Base class: `__call__` converts, calls `call(y_true, y_pred)` for per-sample losses, then reduces.

    Subclasses used for training also implement `value_and_gradient` (minikeras has no autograd).
    With dtype=None computations follow y_pred's float dtype (floatx for integer arrays and lists).
    """

    folds_activation = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else np.dtype(dtype).name

    @property
    def dtype(self):
        return self._dtype or backend.floatx()

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _convert(y_true, y_pred, self._dtype)
        evaluation = self._evaluate(y_true, y_pred)
        return _reduce(evaluation.losses, sample_weight, evaluation.mask, self.reduction)[0]

    def _evaluate(self, y_true, y_pred):
        return _Evaluation(np.asarray(self.call(y_true, y_pred)))

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, logits=None, mask=None):
        raise TypeError(_gradient_required_message(self.name))

    def check_targets(self, y_true):
        """Checks on the values of a whole target array, run once before fit or evaluate start (a loss's
        per-batch work skips them); none by default."""

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function `fn(y_true, y_pred, **kwargs)`, after Keras's rank alignment.

    value_and_gradient: the reduction's weights w_i / D are pulled back through the function's
    vector-Jacobian product, giving d(reduced)/d(y_pred) (or d/d(logits) when `logits` is given).
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    @property
    def folds_activation(self):
        """The output activation whose logits Keras's TF backend uses instead of the probabilities."""
        return _FOLDED_ACTIVATIONS.get(self.fn)

    @property
    def has_gradient(self):
        return self.fn in _KERNELS

    def check_targets(self, y_true):
        if self.fn is binary_crossentropy:
            _check_probability_targets(np.asarray(y_true))

    def call(self, y_true, y_pred):
        return self._evaluate(*_convert(y_true, y_pred, self._dtype)).losses

    def _evaluate(self, y_true, y_pred, **overrides):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        options = {**self._fn_kwargs, **overrides}
        if self.fn in _KERNELS:
            return _KERNELS[self.fn](y_true, y_pred, **options)
        return _Evaluation(np.asarray(self.fn(y_true, y_pred, **options)))

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, logits=None, mask=None):
        """(reduced loss, its gradient w.r.t. y_pred), or w.r.t. `logits` computed as from_logits=True.

        `mask` (boolean, the per-sample losses' shape): the model output's timestep mask; masked entries
        do not count, and the mean reductions divide by the unmasked count, as Keras does."""
        if not self.has_gradient:
            raise TypeError(_gradient_required_message(self.name))
        overrides = {}
        if logits is not None:
            if self.folds_activation is None:
                raise ValueError(
                    f"`logits` can only be given to losses computed from a sigmoid or softmax output; "
                    f"loss {self.name!r} does not fold an activation."
                )
            y_pred, overrides = logits, {"from_logits": True}
        y_true, y_pred = _convert(y_true, y_pred, self._dtype)
        terms = self._mean_terms(logits) if sample_weight is None and mask is None else None
        if terms is not None:
            aligned_true, aligned_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
            if aligned_true.shape == aligned_pred.shape and aligned_pred.size:
                # the general path's arithmetic on one scalar upstream: mean of the per-sample losses, and
                # their slopes times (1 / samples) / C
                losses, slope = terms(aligned_true, aligned_pred)
                dtype = losses.dtype.type
                slope *= dtype(1 / losses.size) / aligned_pred.shape[-1]
                return float(dtype(np.add.reduce(losses, axis=None) / losses.size)), slope.reshape(y_pred.shape)
        evaluation = self._evaluate(y_true, y_pred, **overrides)
        if mask is not None:
            mask = np.asarray(mask, bool) if evaluation.mask is None else evaluation.mask & mask
        value, d_losses = _reduce(evaluation.losses, sample_weight,
                                  evaluation.mask if mask is None else mask, self.reduction)
        grad = evaluation.vjp(d_losses)
        aligned_shape = squeeze_or_expand_to_same_rank(y_true, y_pred)[1].shape
        grad = _sum_to_shape(grad, aligned_shape).reshape(y_pred.shape)
        return (float(value) if getattr(value, "ndim", 0) == 0 else value), grad

    def _mean_terms(self, logits):
        """For the common case of a plain mean (no weights, no mask) of mean squared error, or of binary
        crossentropy from logits: the kernel's (per-sample losses, elementwise slope) function, which
        `value_and_gradient` reduces on its own, bit for bit as the general path does, without its calls
        (about 10 us of a 270 us batch-1 LSTM step); else None."""
        if self.reduction not in ("sum_over_batch_size", "mean"):
            return None
        if self.fn is mean_squared_error:
            return _squared_error_terms
        options = self._fn_kwargs
        if (self.fn is binary_crossentropy and logits is not None and not options.get("label_smoothing")
                and options.get("axis", -1) == -1):
            return _binary_crossentropy_logit_terms
        return None

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class _BuiltinLoss(LossFunctionWrapper):
    """A Keras loss class: a wrapper whose config is its constructor's arguments (minus `fn`)."""

    _config_keys = ()

    def get_config(self):
        config = Loss.get_config(self)
        config.update({key: getattr(self, key) for key in self._config_keys})
        return config


class MeanSquaredError(_BuiltinLoss):
    """mean((y_pred - y_true)**2) per sample; gradient 2 (y_pred - y_true) / C, times w_i / D."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """mean(|y_pred - y_true|) per sample; gradient sign(y_pred - y_true) / C, times w_i / D."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """100 mean(|y_true - y_pred| / max(|y_true|, eps)); gradient 100 sign(y_pred - y_true) / (C max(|y_true|, eps))."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """mean((log(max(p, eps) + 1) - log(max(t, eps) + 1))**2); gradient 2 d / (C (p + 1)) where p >= eps."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype)


class CosineSimilarity(_BuiltinLoss):
    """-cos(y_true, y_pred) along `axis`; gradient (p_hat cos - t_hat) / ||y_pred||."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis


class Huber(_BuiltinLoss):
    """Quadratic e**2/2 for |e| <= delta, linear delta |e| - delta**2/2 beyond; gradient e or delta sign(e).

    Keras 3's config for Huber has no `delta` (only name and reduction); minikeras writes the same.
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=check_number(delta, "delta", minimum=0))
        self.delta = delta


class LogCosh(_BuiltinLoss):
    """mean(log cosh(y_pred - y_true)); gradient tanh(y_pred - y_true) / C."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)


class KLDivergence(_BuiltinLoss):
    """sum(t log(t / p)) with t, p clipped to [eps, 1]; gradient -t / p where p is not clipped."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)


class Poisson(_BuiltinLoss):
    """mean(p - t log(p + eps)); gradient (1 - t / (p + eps)) / C."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)


class Hinge(_BuiltinLoss):
    """mean(max(1 - t p, 0)) with 0/1 labels mapped to -1/+1; gradient -t / C where 1 - t p >= 0."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)


class SquaredHinge(_BuiltinLoss):
    """mean(max(1 - t p, 0)**2) with 0/1 labels mapped to -1/+1; gradient -2 t max(1 - t p, 0) / C."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)


class CategoricalHinge(_BuiltinLoss):
    """max(max((1 - t) p) - sum(t p) + 1, 0); gradient (1 - t) [share of the max] - t on an active margin."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)


class BinaryCrossentropy(_BuiltinLoss):
    """mean(-(t log p + (1 - t) log(1 - p))), p clipped to [eps, 1 - eps], t smoothed to t (1 - s) + s/2.
    Gradient (p - t) / (p (1 - p) C), zero where clipped; from logits x: (sigmoid(x) - t) / C."""

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        check_number(label_smoothing, "label_smoothing", minimum=0, maximum=1)
        self.axis = axis


class CategoricalCrossentropy(_BuiltinLoss):
    """-sum(t log clip(p / sum p)), t smoothed to t (1 - s) + s / C. Gradient through the renormalisation,
    zero where clipped; from logits x: softmax(x) sum(t) - t."""

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        check_number(label_smoothing, "label_smoothing", minimum=0, maximum=1)
        self.axis = axis


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """-log(p_k / sum p) with p clipped to [eps, 1 - eps]; labels equal to `ignore_class` are masked out.
    Gradient (1 / sum p - [j = k] / p_k) where not clipped; from logits x: softmax(x) - onehot(k)."""

    _config_keys = ("from_logits", "ignore_class")

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class


# ----------------------------------------------------------------------------- lookup and serialization

_FUNCTIONS = tuple(_KERNELS)
_CLASSES = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, KLDivergence, Poisson, Hinge,
    SquaredHinge, CategoricalHinge, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
)
_ALIASES = {
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
}
ALL_OBJECTS_DICT = {
    **{obj.__name__: obj for obj in _CLASSES + _FUNCTIONS},
    **_ALIASES,
}


def serialize(loss):
    """Keras's serialized form: a dict for Loss objects and functions; strings and None unchanged."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        return serialize_keras_object(loss, "keras.losses")
    if inspect.isfunction(loss):
        return serialize_function(loss)
    raise ValueError(f"Could not serialize loss: {loss}")


def deserialize(name, custom_objects=None):
    """A loss from its name or serialized dict: a function for a function name, an instance for a class."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(name, dict):
        class_name, config = name.get("class_name"), name.get("config", {})
        if class_name == "function":
            return deserialize(config, custom_objects)
        if class_name not in objects or not inspect.isclass(objects[class_name]):
            raise ValueError(f"Could not interpret loss identifier: {name}")
        return objects[class_name].from_config(config)
    if name in _ALIASES:
        # Keras 3 resolves aliases through keras.metrics and refuses them here (see the h5 notes).
        raise ValueError(f"Could not deserialize 'keras.metrics.{name}' because it is not a KerasSaveable subclass")
    if name not in objects:
        raise ValueError(f"Could not interpret loss identifier: {name}")
    obj = objects[name]
    return obj() if inspect.isclass(obj) else obj


def get(identifier):
    """Keras's lookup: strings give the function (or an instance for a class name), dicts are
    deserialized, callables pass through (classes are instantiated), None stays None."""
    return get_object(identifier, ALL_OBJECTS_DICT, "loss", deserialize)


def _crossentropy_for(y_true, y_pred):
    """compile's 'crossentropy'/'ce': binary for a 1-unit output, sparse for lower-rank or (N, 1) labels."""
    if y_true is None or y_pred is None:
        raise ValueError(
            "The loss 'crossentropy' is chosen from the shapes of y_true and y_pred; pass them to resolve()."
        )
    true_shape, pred_shape = np.shape(y_true), np.shape(y_pred)
    if pred_shape[-1] == 1:
        return binary_crossentropy
    if len(true_shape) < len(pred_shape) or true_shape[-1] == 1:
        return sparse_categorical_crossentropy
    return categorical_crossentropy


def resolve(identifier, y_true=None, y_pred=None):
    """The Loss object `compile(loss=identifier)` trains with, as Keras's compile does: functions and
    strings are wrapped in a LossFunctionWrapper named after the string (or function). Raises TypeError
    when the loss has no analytic gradient (arbitrary user functions)."""
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        loss = _crossentropy_for(y_true, y_pred)
    else:
        loss = get(identifier)
    if not isinstance(loss, Loss):
        name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", type(loss).__name__)
        loss = LossFunctionWrapper(loss, name=name)
    if isinstance(loss, LossFunctionWrapper):
        trainable = loss.has_gradient
    else:
        trainable = type(loss).value_and_gradient is not Loss.value_and_gradient
    if not trainable:
        raise TypeError(_gradient_required_message(loss.name))
    return loss

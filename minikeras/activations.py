"""Activation functions (Keras's names, signatures and values) and their exact derivatives.

Every activation is a plain NumPy function of `x` that keeps the float dtype of `x`.
`gradient(fn)` returns `g(x, y, grad_y) -> grad_x` (x the input, y = fn(x)), the vector-Jacobian
product used by layers in their backward pass; options bound with `functools.partial`
(e.g. `partial(relu, max_value=6.0)`) reach the derivative too.
"""
import functools
import inspect
import math
import warnings

import numpy as np

from minikeras import backend
from minikeras.saving import object_registration
from minikeras.saving.serialization_lib import serialize_function

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
GELU_TANH_COEFFICIENT = 0.044715
SQRT_2_OVER_PI = 0.7978845608028654
INV_SQRT_2 = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327

_DERIVATIVES = {}


def _derivative_of(activation):
    """Register `derivative(x, y, grad_y, **options)` as the vector-Jacobian product of `activation`."""

    def register(derivative):
        _DERIVATIVES[activation] = derivative
        return derivative

    return register


def _as_float(x):
    """`x` as an ndarray of a float dtype (integers and lists become `backend.floatx()`)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(backend.floatx())
    return x


_ZEROS = {}
_ZEROS_MIN_SIZE = 4096  # below it the lookup costs more than the faster loop saves


def _zeros_like(x):
    """A read-only array of zeros shaped like x, cut from one large zero allocation per dtype that is never
    written: its pages stay the kernel's shared zero page, so reading it costs no memory traffic. NumPy's
    max against it ran twice as fast as against the scalar 0 (whose loop is not vectorized)."""
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < x.size:
        zeros = np.zeros(max(x.size, 1 << 16), dtype=x.dtype)
        zeros.flags.writeable = False
        _ZEROS[x.dtype] = zeros
    return zeros[:x.size].reshape(x.shape)


def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _softplus(x):
    """log(1 + exp(x)), exact for large |x| (x itself, resp. exp(x))."""
    return np.logaddexp(x, 0.0).astype(x.dtype, copy=False)


def _erfc(z):
    """Complementary error function in float64, relative error below 1e-12 everywhere.

    NumPy has no erf: |z| < 2 sums the all-positive series
    erf(z) = 2/sqrt(pi) exp(-z^2) sum_n 2^n z^(2n+1) / (1*3*...*(2n+1));
    beyond, the Laplace continued fraction erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + ...)))
    keeps tiny tails accurate (what gelu needs for very negative inputs).
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    near = np.abs(z) < 2.0
    zn = z[near]
    term = zn.copy()
    total = zn.copy()
    twice_square = 2.0 * zn * zn
    for n in range(1, 40):
        term *= twice_square / (2 * n + 1)
        total += term
    out[near] = 1.0 - (2.0 / math.sqrt(math.pi)) * np.exp(-zn * zn) * total
    zf = z[~near]
    magnitude = np.abs(zf)
    fraction = magnitude.copy()
    for k in range(60, 0, -1):
        fraction = magnitude + (k / 2.0) / fraction
    tail = np.exp(-magnitude * magnitude) / (math.sqrt(math.pi) * fraction)
    out[~near] = np.where(zf > 0, tail, 2.0 - tail)
    return out


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), with Keras's options.

    y = x where x > threshold else 0, clipped to [0, max_value] when given, minus
    negative_slope * max(threshold - x, 0). dy/dx = 1 on the passed (unclipped) part,
    negative_slope below the threshold, 0 elsewhere; see the derivative for the kinks.
    """
    x = _as_float(x)
    if threshold == 0:
        out = np.maximum(x, _zeros_like(x) if x.size >= _ZEROS_MIN_SIZE else 0.0)
    else:
        out = np.where(x > threshold, x, 0.0).astype(x.dtype, copy=False)
    if max_value is not None:
        np.clip(out, 0.0, max_value, out=out)
    if negative_slope != 0:
        out -= negative_slope * np.maximum(threshold - x, 0.0)
    return out


@_derivative_of(relu)
def _relu_derivative(x, y, grad_y, negative_slope, max_value, threshold):
    """At the kinks, the value TensorFlow's autodiff of Keras's relu gives (Keras trains with it).

    Keras builds relu from pieces: leaky_relu when only negative_slope is set (slope at 0), relu6 when
    max_value is 6 (0 at both ends), else relu or a threshold mask (0 at the threshold) followed by a
    clip whose gradient passes at both bounds.
    """
    if negative_slope != 0 and max_value is None and threshold == 0:
        return grad_y * np.where(x > 0, 1.0, negative_slope).astype(x.dtype, copy=False)
    grad_y = np.asarray(grad_y)
    if negative_slope == 0 and max_value is None:
        # the mask written straight as 0/1 in grad_y's dtype, then multiplied in place: the same products
        # as grad_y * (x > threshold), without casting a boolean operand chunk by chunk
        # np.broadcast_shapes costs more than a small layer's whole gradient: only when the shapes differ
        shape = x.shape if x.shape == grad_y.shape else np.broadcast_shapes(x.shape, grad_y.shape)
        grad_x = np.empty(shape, dtype=np.result_type(grad_y, np.bool_))
        np.greater(x, threshold, out=grad_x)
        return np.multiply(grad_x, grad_y, out=grad_x)
    passed = x > threshold
    if max_value is not None:
        if threshold == 0 and max_value == 6:
            passed &= x < 6
        else:
            passed &= (x >= 0) & (x <= max_value)
    grad_x = grad_y * passed
    if negative_slope != 0:
        grad_x += (negative_slope * grad_y) * (x < threshold)
    return grad_x


def relu6(x):
    """min(max(x, 0), 6); dy/dx = 1 on (0, 6), else 0."""
    return np.clip(_as_float(x), 0.0, 6.0)


@_derivative_of(relu6)
def _relu6_derivative(x, y, grad_y):
    return grad_y * ((x > 0) & (x < 6))


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0 else negative_slope * x; dy/dx = 1 resp. negative_slope."""
    x = _as_float(x)
    return np.where(x > 0, x, negative_slope * x)


@_derivative_of(leaky_relu)
def _leaky_relu_derivative(x, y, grad_y, negative_slope):
    return grad_y * np.where(x > 0, 1.0, negative_slope).astype(x.dtype, copy=False)


def elu(x, alpha=1.0):
    """x for x > 0 else alpha * (exp(x) - 1); dy/dx = 1 resp. alpha * exp(x) = y + alpha."""
    x = _as_float(x)
    # exp(x) - 1 rather than expm1: TensorFlow's kernel rounds the same way, and Keras is the oracle
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1.0))


@_derivative_of(elu)
def _elu_derivative(x, y, grad_y, alpha):
    return grad_y * np.where(x > 0, 1.0, y + alpha)


def selu(x):
    """scale * elu(x, alpha) with Keras's constants; dy/dx = scale for x >= 0 (TensorFlow's choice at 0),
    else y + scale * alpha."""
    return SELU_SCALE * elu(x, SELU_ALPHA)


@_derivative_of(selu)
def _selu_derivative(x, y, grad_y):
    return grad_y * np.where(x >= 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA)


def gelu(x, approximate=False):
    """x * Phi(x) = 0.5 x erfc(-x / sqrt 2), or with approximate=True
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    dy/dx = Phi(x) + x phi(x), resp. the derivative of the tanh form.
    """
    x = _as_float(x)
    if approximate:
        inner = SQRT_2_OVER_PI * (x + GELU_TANH_COEFFICIENT * x**3)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return (0.5 * x * _erfc(-x * INV_SQRT_2)).astype(x.dtype, copy=False)


@_derivative_of(gelu)
def _gelu_derivative(x, y, grad_y, approximate):
    if approximate:
        t = np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEFFICIENT * x**3))
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (
            1.0 + 3.0 * GELU_TANH_COEFFICIENT * x * x
        )
    else:
        cdf = 0.5 * _erfc(-x * INV_SQRT_2)
        slope = (cdf + x * INV_SQRT_2PI * np.exp(-0.5 * x * x)).astype(x.dtype, copy=False)
    return grad_y * slope


def sigmoid(x):
    """1 / (1 + exp(-x)), stable for large |x|; dy/dx = y (1 - y)."""
    return _sigmoid(_as_float(x))


@_derivative_of(sigmoid)
def _sigmoid_derivative(x, y, grad_y):
    return grad_y * y * (1.0 - y)


def hard_sigmoid(x):
    """relu6(x + 3) / 6; dy/dx = 1/6 on (-3, 3), else 0."""
    return np.clip(_as_float(x) + 3.0, 0.0, 6.0) / 6.0


@_derivative_of(hard_sigmoid)
def _hard_sigmoid_derivative(x, y, grad_y):
    return grad_y * ((x > -3) & (x < 3)) / 6.0


def hard_silu(x):
    """x * hard_sigmoid(x); dy/dx = hard_sigmoid(x) + x / 6 on (-3, 3)."""
    x = _as_float(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


@_derivative_of(hard_silu)
def _hard_silu_derivative(x, y, grad_y):
    return grad_y * (hard_sigmoid(x) + x * ((x > -3) & (x < 3)) / 6.0)


def silu(x):
    """x * sigmoid(x) (also called swish); dy/dx = s (1 + x (1 - s)) with s = sigmoid(x)."""
    x = _as_float(x)
    return x * _sigmoid(x)


swish = silu


@_derivative_of(silu)
def _silu_derivative(x, y, grad_y):
    s = _sigmoid(x)
    return grad_y * s * (1.0 + x * (1.0 - s))


def _check_softmax_axis(x, axis):
    """Keras warns when the softmax axis has size 1 (the output is then always 1)."""
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(
            f"You are using a softmax over axis {axis} of a tensor of shape {x.shape}. This axis "
            "has size 1. The softmax operation will always return the value 1, which is likely "
            "not what you intended. Did you mean to use a sigmoid instead?",
            stacklevel=3,
        )


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along `axis` (None: all axes).

    Backward: grad_x = y * (grad_y - sum(grad_y * y, axis)), the Jacobian-vector product.
    """
    x = _as_float(x)
    _check_softmax_axis(x, axis)
    out = x - np.max(x, axis=axis, keepdims=True)
    np.exp(out, out=out)
    out /= np.sum(out, axis=axis, keepdims=True)
    return out


@_derivative_of(softmax)
def _softmax_derivative(x, y, grad_y, axis):
    return y * (grad_y - np.sum(grad_y * y, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """(x - max) - log(sum(exp(x - max))) along `axis`; grad_x = grad_y - softmax(x) * sum(grad_y)."""
    x = _as_float(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@_derivative_of(log_softmax)
def _log_softmax_derivative(x, y, grad_y, axis):
    return grad_y - np.exp(y) * np.sum(grad_y, axis=axis, keepdims=True)


def softplus(x):
    """log(1 + exp(x)); dy/dx = sigmoid(x)."""
    return _softplus(_as_float(x))


@_derivative_of(softplus)
def _softplus_derivative(x, y, grad_y):
    return grad_y * _sigmoid(x)


def softsign(x):
    """x / (1 + |x|); dy/dx = 1 / (1 + |x|)^2."""
    x = _as_float(x)
    return x / (1.0 + np.abs(x))


@_derivative_of(softsign)
def _softsign_derivative(x, y, grad_y):
    return grad_y / np.square(1.0 + np.abs(x))


def tanh(x):
    """tanh(x); dy/dx = 1 - y^2."""
    return np.tanh(_as_float(x))


@_derivative_of(tanh)
def _tanh_derivative(x, y, grad_y):
    return grad_y * (1.0 - y * y)


def exponential(x):
    """exp(x); dy/dx = y."""
    with np.errstate(over="ignore"):  # inf is the answer for large x, as in Keras, not a mistake
        return np.exp(_as_float(x))


@_derivative_of(exponential)
def _exponential_derivative(x, y, grad_y):
    return grad_y * y


def linear(x):
    """The identity (Keras returns its input unchanged); grad_x = grad_y."""
    return x


@_derivative_of(linear)
def _linear_derivative(x, y, grad_y):
    return grad_y


def mish(x):
    """x * tanh(softplus(x)); dy/dx = t + x (1 - t^2) sigmoid(x) with t = tanh(softplus(x))."""
    x = _as_float(x)
    return x * np.tanh(_softplus(x))


@_derivative_of(mish)
def _mish_derivative(x, y, grad_y):
    t = np.tanh(_softplus(x))
    return grad_y * (t + x * (1.0 - t * t) * _sigmoid(x))


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1); dy/dx = 1 for x > 0 else exp(x / alpha)."""
    x = _as_float(x)
    return np.maximum(x, 0.0) + alpha * np.expm1(np.minimum(x, 0.0) / alpha)


@_derivative_of(celu)
def _celu_derivative(x, y, grad_y, alpha):
    # at x = 0 both max(x, 0) and min(x, 0) pass the gradient in TensorFlow, so Keras's celu'(0) is 2
    return grad_y * ((x >= 0) + (x <= 0) * np.exp(np.minimum(x, 0.0) / alpha))


def _glu_halves(x, axis):
    if x.shape[axis] % 2 != 0:
        raise ValueError(
            f"axis size must be divisible by 2. Received: x.shape={x.shape} with axis={axis}"
        )
    return np.split(x, 2, axis=axis)


def glu(x, axis=-1):
    """a * sigmoid(b) where x = [a, b] split in halves along `axis` (the output is half as wide).

    Backward: grad_a = grad_y * sigmoid(b), grad_b = grad_y * a * s (1 - s).
    """
    x = _as_float(x)
    a, b = _glu_halves(x, axis)
    return a * _sigmoid(b)


@_derivative_of(glu)
def _glu_derivative(x, y, grad_y, axis):
    a, b = _glu_halves(x, axis)
    s = _sigmoid(b)
    return np.concatenate([grad_y * s, grad_y * a * s * (1.0 - s)], axis=axis)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x); dy/dx = sigmoid(-x)."""
    return -_softplus(-_as_float(x))


@_derivative_of(log_sigmoid)
def _log_sigmoid_derivative(x, y, grad_y):
    return grad_y * _sigmoid(-x)


def hard_tanh(x):
    """x clipped to [-1, 1]; dy/dx = 1 on [-1, 1] (TensorFlow's clip passes the bounds), else 0."""
    return np.clip(_as_float(x), -1.0, 1.0)


@_derivative_of(hard_tanh)
def _hard_tanh_derivative(x, y, grad_y):
    return grad_y * (np.abs(x) <= 1)


def tanh_shrink(x):
    """x - tanh(x); dy/dx = tanh(x)^2."""
    x = _as_float(x)
    return x - np.tanh(x)


@_derivative_of(tanh_shrink)
def _tanh_shrink_derivative(x, y, grad_y):
    return grad_y * np.square(np.tanh(x))


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0; dy/dx = [|x| > threshold]."""
    x = _as_float(x)
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold else 0; dy/dx = [|x| > threshold]."""
    x = _as_float(x)
    return np.where(np.abs(x) > threshold, x, 0.0).astype(x.dtype, copy=False)


@_derivative_of(soft_shrink)
@_derivative_of(hard_shrink)
def _shrink_derivative(x, y, grad_y, threshold):
    return grad_y * (np.abs(x) > threshold)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 on (-1, 1), x for x >= 1; dy/dx = 0, (x + 1) / 2, 1."""
    x = _as_float(x)
    return np.where(x <= -1, 0.0, np.where(x < 1, 0.25 * np.square(x + 1.0), x)).astype(x.dtype, copy=False)


@_derivative_of(sparse_plus)
def _sparse_plus_derivative(x, y, grad_y):
    return grad_y * np.clip(0.5 * (x + 1.0), 0.0, 1.0)


def sparse_sigmoid(x):
    """0.5 (x + 1) clipped to [0, 1]; dy/dx = 1/2 on (-1, 1), else 0."""
    x = _as_float(x)
    return np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, 0.5 * (x + 1.0))).astype(x.dtype, copy=False)


@_derivative_of(sparse_sigmoid)
def _sparse_sigmoid_derivative(x, y, grad_y):
    return grad_y * (np.abs(x) < 1) * 0.5


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2; dy/dx = (1 + x / sqrt(x^2 + b)) / 2.

    The value keeps Keras's rounding (its cancellation for negative x included), so it overflows to inf
    like Keras's once x^2 does (|x| > 1.8e19 in float32).
    """
    x = _as_float(x)
    return (x + np.sqrt(np.square(x) + b)) / 2.0


@_derivative_of(squareplus)
def _squareplus_derivative(x, y, grad_y, b):
    # hypot(x, sqrt(b)) is sqrt(x^2 + b) without overflowing x^2, so the slope stays 1 resp. 0 for huge |x|
    # (Keras's is nan there)
    root = np.hypot(x, math.sqrt(b)) if b >= 0 else np.sqrt(np.square(x) + b)
    return grad_y * 0.5 * (1.0 + x / root)


def threshold(x, threshold, default_value):
    """x where x > threshold else default_value; dy/dx = [x > threshold]."""
    x = _as_float(x)
    return np.where(x > threshold, x, default_value).astype(x.dtype, copy=False)


@_derivative_of(threshold)
def _threshold_derivative(x, y, grad_y, threshold, default_value):
    return grad_y * (x > threshold)


_BY_NAME = {fn.__name__: fn for fn in _DERIVATIVES}
_BY_NAME["swish"] = silu
_BY_NAME["hard_swish"] = hard_silu


def get(identifier):
    """The activation function for None ('linear'), a name, a serialized config or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        activation = deserialize(identifier)
    elif isinstance(identifier, str):
        activation = _BY_NAME.get(identifier) or object_registration.get_registered_object(identifier)
    else:
        activation = identifier
    if callable(activation):
        return activation
    raise ValueError(f"Could not interpret activation function identifier: {identifier}")


def serialize(activation):
    """The name Keras writes in configs ('relu'; the canonical 'silu' for swish; 'linear' for None).

    A function minikeras doesn't know is written as Keras writes an unregistered function.
    """
    activation = linear if activation is None else activation
    name = getattr(activation, "__name__", None)
    if _BY_NAME.get(name) is activation:
        return name
    if name is None:
        raise ValueError(
            f"Unknown activation function '{activation}' cannot be serialized due to invalid "
            "function name. Make sure to use an activation name that matches the references "
            "defined in activations.py"
        )
    return serialize_function(activation)


def deserialize(config, custom_objects=None):
    """The function named by `config` (a name, or a dict whose 'config' is the name): a built-in, or one
    given in `custom_objects`, a `custom_object_scope` or registered with `register_keras_serializable`
    (written as "package>name", as Keras writes it)."""
    name = config["config"] if isinstance(config, dict) else config
    activation = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if activation is None and isinstance(name, str):
        activation = object_registration.get_registered_object(name)
    if activation is None:
        raise ValueError(f"Could not interpret activation function identifier: {config}")
    return activation


def _unwrap(activation):
    """(known base function, bound keyword options) for fn or functools.partial(fn, **options)."""
    if isinstance(activation, functools.partial) and not activation.args:
        base, options = _unwrap(activation.func)
        return base, {**options, **activation.keywords}
    return activation, {}


def gradient(activation):
    """g(x, y, grad_y) -> grad_x, the exact vector-Jacobian product of `activation` at x (y = fn(x)).

    Raises TypeError for a function minikeras has no derivative for: with no autodiff,
    minikeras can only back-propagate through activations whose derivative it knows.
    """
    base, options = _unwrap(get(activation))
    derivative = _DERIVATIVES.get(base)
    if derivative is None:
        name = getattr(base, "__name__", repr(base))
        raise TypeError(
            f"minikeras cannot back-propagate through the activation {name!r}: minikeras has no "
            "autodiff and needs the exact derivative of every activation. Use one of the built-in "
            f"activations ({', '.join(sorted(_BY_NAME))}), optionally with options bound by "
            "functools.partial."
        )
    option_defaults = {
        name: parameter.default
        for name, parameter in list(inspect.signature(base).parameters.items())[1:]
        if parameter.default is not inspect.Parameter.empty
    }
    bound = {**option_defaults, **options}
    return functools.partial(derivative, **bound) if bound else derivative

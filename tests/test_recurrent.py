"""SimpleRNN/LSTM/GRU and Bidirectional: finite-difference gradients (float64) for every option, masks,
dropout, shapes, weights, errors and config."""
import numpy as np
import pytest

from minikeras.layers.bidirectional import Bidirectional
from minikeras.layers.recurrent import GRU, LSTM, SimpleRNN
from tests.conftest import numerical_gradient
from tests.test_layers import check_layer_gradients

MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)

OPTIONS = {
    "last": {},
    "sequences": {"return_sequences": True},
    "backwards": {"go_backwards": True},
    "sequences_backwards": {"return_sequences": True, "go_backwards": True},
    "no_bias": {"use_bias": False, "return_sequences": True},
    "relu": {"activation": "relu"},
    "zero_output_for_mask": {"return_sequences": True, "zero_output_for_mask": True},
}
LAYERS = {"SimpleRNN": (SimpleRNN, {}), "LSTM": (LSTM, {}), "GRU": (GRU, {}),
          "GRU_reset_before": (GRU, {"reset_after": False}),
          "LSTM_hard_sigmoid": (LSTM, {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False})}


def _x(shape=(3, 5, 2), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _layer(kind, **options):
    cls, defaults = LAYERS[kind]
    options = {**defaults, **options}
    if options.get("use_bias", True):
        options.setdefault("bias_initializer", "glorot_uniform")
    return cls(3, dtype="float64", **options)


class _Masked:
    """A layer called with a fixed mask, in the shape `check_layer_gradients` expects."""

    def __init__(self, layer, mask):
        self.layer, self.mask = layer, mask
        self.trainable_weights = None

    def __call__(self, x, training=False):
        self.layer.build_from_shape((None,) + x.shape[1:])
        self.trainable_weights = self.layer.trainable_weights
        return self.forward(x, training)

    def forward(self, x, training=False):
        return self.layer.forward(x, training=training, mask=self.mask)

    def backward(self, grad):
        return self.layer.backward(grad)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_gradients(kind, case):
    check_layer_gradients(_layer(kind, **OPTIONS[case]), _x())


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("case", ["last", "sequences", "sequences_backwards", "zero_output_for_mask"])
def test_gradients_with_mask(kind, case):
    check_layer_gradients(_Masked(_layer(kind, **OPTIONS[case]), MASK), _x())


def _check_list_gradients(layer, x, mask=None, unused=()):
    """backward([dy, dh, (dc)]) against finite differences of sum_k sum(output_k * r_k); outputs listed in
    `unused` get a None gradient (they do not enter the objective)."""
    rng = np.random.default_rng(1)
    layer.build_from_shape((None,) + x.shape[1:])
    outputs = layer.forward(x, mask=mask)
    r = [None if k in unused else rng.standard_normal(y.shape) for k, y in enumerate(outputs)]

    def objective(value):
        values = layer.forward(value, mask=mask)
        return float(sum(np.sum(y * w) for y, w in zip(values, r) if w is not None))

    layer.forward(x, mask=mask)
    np.testing.assert_allclose(layer.backward(r), numerical_gradient(objective, x), atol=1e-6, rtol=1e-5)
    for variable in layer.trainable_weights:
        layer.forward(x, mask=mask)
        layer.backward(r)

        def with_value(value, variable=variable):
            saved = variable.value.copy()
            variable.value[...] = value
            result = objective(x)
            variable.value[...] = saved
            return result

        np.testing.assert_allclose(variable.grad, numerical_gradient(with_value, variable.value), atol=1e-6,
                                   rtol=1e-5, err_msg=variable.name)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("sequences", [False, True])
def test_return_state_gradients(kind, sequences):
    layer = _layer(kind, return_state=True, return_sequences=sequences, go_backwards=sequences)
    _check_list_gradients(layer, _x(), mask=MASK if sequences else None)
    _check_list_gradients(layer, _x(seed=2), unused=(0,))
    _check_list_gradients(layer, _x(seed=3), unused=(1,))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("sequences", [False, True])
def test_bidirectional_gradients(merge_mode, sequences):
    layer = Bidirectional(_layer("GRU", return_sequences=sequences), merge_mode=merge_mode, dtype="float64")
    check_layer_gradients(layer, _x())
    check_layer_gradients(Bidirectional(_layer("LSTM", return_sequences=sequences), merge_mode=merge_mode,
                                        dtype="float64"), _x(seed=4))


def test_bidirectional_gradients_with_mask_and_lists():
    check_layer_gradients(_Masked(Bidirectional(_layer("LSTM", return_sequences=True), dtype="float64"), MASK), _x())
    _check_list_gradients(Bidirectional(_layer("SimpleRNN", return_sequences=True), merge_mode=None,
                                        dtype="float64"), _x(), mask=MASK)
    _check_list_gradients(Bidirectional(_layer("LSTM", return_state=True), merge_mode="mul", dtype="float64"),
                          _x(), unused=(2,))
    _check_list_gradients(Bidirectional(_layer("GRU", return_state=True), merge_mode=None, dtype="float64"),
                          _x(), mask=MASK, unused=(0,))


def test_masked_steps_carry_the_state():
    layer = LSTM(4, return_sequences=True, return_state=True, dtype="float64")
    x = _x((3, 5, 2))
    layer.build_from_shape((None, 5, 2))
    output, h, c = layer.forward(x, mask=MASK)
    np.testing.assert_array_equal(output[0, 2], output[0, 1])
    np.testing.assert_array_equal(output[1, 0], np.zeros(4))
    np.testing.assert_array_equal(h, output[:, -1])
    # dropping the masked steps gives the same final state
    kept = layer.forward(x[:1, [0, 1, 3]])
    np.testing.assert_allclose(kept[1][0], h[0], rtol=1e-12)
    np.testing.assert_allclose(kept[2][0], c[0], rtol=1e-12)
    zeros = LSTM(4, return_sequences=True, zero_output_for_mask=True, dtype="float64")
    zeros.build_from_shape((None, 5, 2))
    zeros.set_weights(layer.get_weights())
    np.testing.assert_array_equal(zeros.forward(x, mask=MASK), np.where(MASK[..., None], output, 0.0))


@pytest.mark.parametrize("batch", [1, 3])
def test_outputs_kept_from_one_call_survive_the_next(batch):
    layer = LSTM(4, return_sequences=True, return_state=True, dtype="float64")
    layer.build_from_shape((None, 5, 2))
    first = layer.forward(_x((batch, 5, 2)), training=True)
    kept = [array.copy() for array in first]
    second = layer.forward(_x((batch, 5, 2)) + 1.0, training=True)
    assert not np.allclose(second[0], kept[0])
    for array, copy in zip(first, kept):
        np.testing.assert_array_equal(array, copy)
    # masked, then unmasked with the same shape, on a fresh layer: the unmasked result is the same
    masked_first = LSTM(4, return_sequences=True, return_state=True, dtype="float64")
    masked_first.build_from_shape((None, 5, 2))
    masked_first.set_weights(layer.get_weights())
    mask = np.ones((batch, 5), bool)
    mask[0, 2] = False
    masked_first.forward(_x((batch, 5, 2)), mask=mask)
    for array, expected in zip(masked_first.forward(_x((batch, 5, 2)) + 1.0, training=True), second):
        np.testing.assert_array_equal(array, expected)


def test_go_backwards_is_the_reversed_sequence():
    layer = GRU(3, return_sequences=True, go_backwards=True, dtype="float64")
    x = _x()
    y = layer(x)
    forward = GRU(3, return_sequences=True, dtype="float64")
    forward(x)
    forward.set_weights(layer.get_weights())
    np.testing.assert_allclose(y, forward(x[:, ::-1]), rtol=1e-12)


def test_forward_matches_the_cell_equations():
    x = _x((2, 3, 2))
    lstm = LSTM(2, bias_initializer="glorot_uniform", dtype="float64")
    y = lstm(x)
    k, r, b = lstm.get_weights()

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    h = c = np.zeros((2, 2))
    for t in range(3):
        z = x[:, t] @ k + h @ r + b
        i, f, g, o = sigmoid(z[:, :2]), sigmoid(z[:, 2:4]), np.tanh(z[:, 4:6]), sigmoid(z[:, 6:])
        c = f * c + i * g
        h = o * np.tanh(c)
    np.testing.assert_allclose(y, h, rtol=1e-12)
    gru = GRU(2, bias_initializer="glorot_uniform", dtype="float64")
    y = gru(x)
    k, r, b = gru.get_weights()
    h = np.zeros((2, 2))
    for t in range(3):
        xz, inner = x[:, t] @ k + b[0], h @ r + b[1]
        z, rr = sigmoid(xz[:, :2] + inner[:, :2]), sigmoid(xz[:, 2:4] + inner[:, 2:4])
        hh = np.tanh(xz[:, 4:] + rr * inner[:, 4:])
        h = z * h + (1 - z) * hh
    np.testing.assert_allclose(y, h, rtol=1e-12)


def test_weights_shapes_and_defaults():
    x = np.zeros((2, 7, 3), dtype=np.float32)
    lstm = LSTM(5)
    assert lstm(x).shape == (2, 5) and lstm(x).dtype == np.float32
    assert [w.shape for w in lstm.get_weights()] == [(3, 20), (5, 20), (20,)]
    assert [w.name for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    np.testing.assert_array_equal(lstm.bias.value, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    r = lstm.recurrent_kernel.value
    np.testing.assert_allclose(r @ r.T, np.eye(5), atol=1e-5)  # orthonormal rows, as Keras's Orthogonal
    gru = GRU(5)
    gru(x)
    assert [w.shape for w in gru.get_weights()] == [(3, 15), (5, 15), (2, 15)]
    gru = GRU(5, reset_after=False, use_bias=False)
    gru(x)
    assert [w.shape for w in gru.get_weights()] == [(3, 15), (5, 15)]
    rnn = SimpleRNN(4, return_sequences=True, return_state=True)
    output, state = rnn(x)
    assert output.shape == (2, 7, 4) and state.shape == (2, 4) and rnn.count_params() == 3 * 4 + 16 + 4
    assert LSTM(5, return_state=True).compute_output_shape((None, 7, 3)) == ((None, 5), (None, 5), (None, 5))
    assert SimpleRNN(2, dtype="float64")(np.zeros((1, 2, 1))).dtype == np.float64


def test_masks_passed_on():
    assert LSTM(2, return_sequences=True).compute_mask(None, MASK) is MASK
    assert LSTM(2).compute_mask(None, MASK) is None
    assert GRU(2, return_state=True, return_sequences=True).compute_mask(None, MASK) == [MASK, None]
    assert LSTM(2, return_state=True).compute_mask(None, MASK) == [None, None, None]
    assert LSTM(2).supports_masking and Bidirectional(LSTM(2)).supports_masking
    assert Bidirectional(LSTM(2), merge_mode=None).compute_mask(None, MASK) == (None, None)
    assert Bidirectional(LSTM(2, return_sequences=True)).compute_mask(None, MASK) is MASK


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_dropout_draws_masks_once_per_batch(cls):
    layer = cls(64, dropout=0.5, recurrent_dropout=0.25, seed=0, dtype="float64")
    x = np.ones((200, 6, 8))
    inference = layer(x)
    np.testing.assert_array_equal(layer(x, training=False), inference)
    layer(x, training=True)
    input_mask, recurrent_mask = layer._input_mask, layer._recurrent_mask
    assert input_mask.shape == (200, 8) and recurrent_mask.shape == (200, 64)
    assert set(np.unique(input_mask)) == {0.0, 2.0} and set(np.unique(recurrent_mask)) == {0.0, 4 / 3}
    assert abs((input_mask == 0).mean() - 0.5) < 0.03 and abs((recurrent_mask == 0).mean() - 0.25) < 0.01


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_dropout_gradients(kind):
    layer = _layer(kind, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
    check_layer_gradients(_Deterministic(layer), _x())
    check_layer_gradients(_Deterministic(layer, MASK), _x(seed=6))


class _Deterministic:
    """A layer in training mode whose dropout masks are drawn once, then replayed on every forward."""

    def __init__(self, layer, mask=None):
        self.layer, self.mask = layer, mask
        self.trainable_weights = None

    def __call__(self, x, training=False):
        self.layer.build_from_shape((None,) + x.shape[1:])
        self.trainable_weights = self.layer.trainable_weights
        return self.forward(x)

    def forward(self, x, training=True):
        self.layer._generator = np.random.default_rng(5)
        return self.layer.forward(x, training=True, mask=self.mask)

    def backward(self, grad):
        return self.layer.backward(grad)


def test_dropout_zero_matches_inference_exactly():
    layer = LSTM(4, dropout=0.0, recurrent_dropout=0.0)
    x = _x().astype(np.float32)
    np.testing.assert_array_equal(layer(x, training=True), layer(x))
    full = GRU(4, dropout=1.0, recurrent_dropout=1.0)  # Keras applies rates strictly between 0 and 1
    np.testing.assert_array_equal(full(x, training=True), full(x))


def test_bidirectional_structure_and_weights():
    layer = Bidirectional(LSTM(3, return_sequences=True, name="enc"), merge_mode="concat")
    y = layer(np.zeros((2, 4, 5), dtype=np.float32))
    assert y.shape == (2, 4, 6)
    assert (layer.forward_layer.name, layer.backward_layer.name) == ("forward_enc", "backward_enc")
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert layer.weights == layer.forward_layer.weights + layer.backward_layer.weights
    assert layer.forward_layer.zero_output_for_mask and layer.backward_layer.zero_output_for_mask
    given = [np.full(w.shape, k, dtype=np.float32) for k, w in enumerate(layer.get_weights())]
    preset = Bidirectional(LSTM(3, return_sequences=True), weights=given)
    preset(np.zeros((1, 4, 5), dtype=np.float32))
    for actual, expected in zip(preset.get_weights(), given):
        np.testing.assert_array_equal(actual, expected)
    pair = Bidirectional(GRU(2, return_state=True), merge_mode=None)
    outputs = pair(np.zeros((2, 4, 5), dtype=np.float32))
    assert [o.shape for o in outputs] == [(2, 2)] * 4
    assert pair.compute_output_shape((None, 4, 5)) == ((None, 2),) * 4
    layer.trainable = False
    assert layer.trainable_weights == [] and not layer.forward_layer.trainable_weights
    frozen = Bidirectional(SimpleRNN(2), trainable=False)
    frozen(np.zeros((1, 4, 5), dtype=np.float32))
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 6
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "merge_mode", "layer", "backward_layer"]
    assert config["layer"]["config"]["name"] == "forward_enc"
    clone = Bidirectional.from_config(config)
    assert clone.backward_layer.name == "backward_enc" and clone.merge_mode == "concat"


def test_errors():
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=2. Full shape received: \(2, 4\)"):
        LSTM(2)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        GRU(2)(np.zeros((2, 4, 1, 1)))
    layer = SimpleRNN(2)
    layer(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 2"):
        layer(np.zeros((1, 3, 5)))
    for units in (0, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="Received an invalid value for argument `units`"):
            LSTM(units)
    with pytest.raises(ValueError, match="need an elementwise `recurrent_activation`"):
        LSTM(2, recurrent_activation="softmax")
    with pytest.raises(ValueError, match="is not stateful"):
        GRU(2, stateful=True)
    with pytest.raises(ValueError, match="Invalid merge mode"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="should have different `go_backwards` value"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to LSTM"):
        LSTM(2, unitz=3)
    with pytest.raises(ImportError, match="cannot import name 'LSTMCell'"):
        from minikeras.layers.recurrent import LSTMCell  # noqa: F401


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_config_round_trip(cls):
    layer = cls(4, return_sequences=True, go_backwards=True, dropout=0.1, kernel_regularizer="l2", unroll=True)
    config = layer.get_config()
    assert list(config)[:10] == ["name", "trainable", "dtype", "return_sequences", "return_state", "go_backwards",
                                 "stateful", "unroll", "zero_output_for_mask", "units"]
    assert cls.from_config(config).get_config() == config

"""print_summary draws Keras 3.15's summary table byte for byte.

Expected strings were captured from real Keras (`model.summary(print_fn=...)`, and on a forced
256-colour terminal for the styled ones) for models with the same layer names, shapes and weights
as the fake models below.
"""

import numpy as np
import pytest

from minikeras.models.summary import print_summary, readable_memory_size
from minikeras.variables import Variable


class FakeLayer:
    """The part of a layer the summary reads: name, class name, built, output_shape, weights."""

    def __init__(self, name, output_shape=None, trainable_shapes=(), non_trainable_shapes=(), trainable=True):
        self.name = name
        self.built = output_shape is not None
        self.output_shape = output_shape
        self.trainable = trainable
        self.weights = [
            Variable(np.zeros(shape, np.float32), f"{name}_{index}", trainable=trainable and index < len(trainable_shapes))
            for index, shape in enumerate(list(trainable_shapes) + list(non_trainable_shapes))
        ]

    def count_params(self):
        return sum(weight.value.size for weight in self.weights)


class Dense(FakeLayer):
    def __init__(self, name, units=None, inputs=None, **kwargs):
        built = inputs is not None
        shapes = [(inputs, units), (units,)] if built else []
        super().__init__(name, (None, units) if built else None, shapes, **kwargs)


class Dropout(FakeLayer):
    pass


class BatchNormalization(FakeLayer):
    def __init__(self, name, features):
        super().__init__(name, (None, features), [(features,)] * 2, [(features,)] * 2)


class FakeOptimizer:
    def __init__(self, variables, built=True):
        self.variables = variables
        self.built = built


class FakeModel:
    """The part of a Sequential the summary reads."""

    def __init__(self, name, layers, optimizer=None):
        self.name = name
        self.layers = layers
        self.optimizer = optimizer
        self.built = all(layer.built for layer in layers)

    @property
    def weights(self):
        return [weight for layer in self.layers for weight in layer.weights]

    @property
    def trainable_weights(self):
        return [weight for weight in self.weights if weight.trainable]

    @property
    def non_trainable_weights(self):
        return [weight for weight in self.weights if not weight.trainable]


def adam_variables(model):
    """Keras's Adam after one step: iteration (int64), learning_rate, then a momentum and a velocity per weight."""
    slots = [Variable(np.zeros(w.shape, np.float32), f"{w.name}_{slot}") for w in model.trainable_weights for slot in "mv"]
    return [Variable(np.int64(0), "iteration"), Variable(np.float32(0.001), "learning_rate")] + slots


def reference_model():
    """Sequential([Dense(32, input_shape=(10,)), Dropout(0.5), Dense(16), Dense(1)])."""
    return FakeModel("sequential", [
        Dense("dense", 32, 10), Dropout("dropout", (None, 32)), Dense("dense_1", 16, 32), Dense("dense_2", 1, 16),
    ])


def long_names_model():
    return FakeModel("my_model", [
        Dense("a_really_long_layer_name_that_goes_on_and_on", 32, 10, trainable=False),
        Dense("averyveryveryveryveryverylongnamewithoutanyspacesatall_xyz", 3000, 32),
        BatchNormalization("batch_normalization", 3000),
        Dense("dense_5", 333, 3000),
    ])


def summary_text(model, **kwargs):
    printed = []
    print_summary(model, print_fn=printed.append, **kwargs)
    assert len(printed) == 1  # print_fn receives the whole summary at once
    return printed[0]


@pytest.fixture
def columns(monkeypatch):
    """Set the terminal width Keras reads (shutil and rich both honour COLUMNS)."""
    def set_columns(value):
        monkeypatch.setenv("COLUMNS", str(value))
    set_columns(80)
    return set_columns


@pytest.fixture
def plain_stdout(monkeypatch):
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


# The layer table of the 4-layer model below, identical before and after training.
_REFERENCE_TABLE = (
    "Model: \"sequential\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
    "│ dense (Dense)                   │ (None, 32)             │           352 │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ dropout (Dropout)               │ (None, 32)             │             0 │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ dense_1 (Dense)                 │ (None, 16)             │           528 │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ dense_2 (Dense)                 │ (None, 1)              │            17 │\n"
    "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
)
REFERENCE = _REFERENCE_TABLE + (
    " Total params: 897 (3.50 KB)\n"
    " Trainable params: 897 (3.50 KB)\n"
    " Non-trainable params: 0 (0.00 B)\n"
)
REFERENCE_TRAINED = _REFERENCE_TABLE + (
    " Total params: 2,693 (10.52 KB)\n"
    " Trainable params: 897 (3.50 KB)\n"
    " Non-trainable params: 0 (0.00 B)\n"
    " Optimizer params: 1,796 (7.02 KB)\n"
)

UNBUILT = (
    "Model: \"sequential_1\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
    "│ dense_3 (Dense)                 │ ?                      │   0 (unbuilt) │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ dense_4 (Dense)                 │ ?                      │   0 (unbuilt) │\n"
    "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
    " Total params: 0 (0.00 B)\n"
    " Trainable params: 0 (0.00 B)\n"
    " Non-trainable params: 0 (0.00 B)\n"
)
EMPTY = (
    "Model: \"sequential_2\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
    "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
    " Total params: 0 (0.00 B)\n"
    " Trainable params: 0 (0.00 B)\n"
    " Non-trainable params: 0 (0.00 B)\n"
)
LONG_NAMES = (
    "Model: \"my_model\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
    "│ a_really_long_layer_name_that_… │ (None, 32)             │           352 │\n"
    "│ (Dense)                         │                        │               │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ averyveryveryveryveryverylongn… │ (None, 3000)           │        99,000 │\n"
    "│ (Dense)                         │                        │               │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ batch_normalization             │ (None, 3000)           │        12,000 │\n"
    "│ (BatchNormalization)            │                        │               │\n"
    "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
    "│ dense_5 (Dense)                 │ (None, 333)            │       999,333 │\n"
    "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
    " Total params: 1,110,685 (4.24 MB)\n"
    " Trainable params: 1,104,333 (4.21 MB)\n"
    " Non-trainable params: 6,352 (24.81 KB)\n"
)
LONG_NAMES_NARROW = (
    "Model: \"my_model\"\n"
    "┏━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━┓\n"
    "┃ Layer      ┃ Output  ┃ Pa… ┃\n"
    "┃ (type)     ┃ Shape   ┃   # ┃\n"
    "┡━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━┩\n"
    "│ a_really_… │ (None,  │ 352 │\n"
    "│ (Dense)    │ 32)     │     │\n"
    "├────────────┼─────────┼─────┤\n"
    "│ averyvery… │ (None,  │ 99… │\n"
    "│ (Dense)    │ 3000)   │     │\n"
    "├────────────┼─────────┼─────┤\n"
    "│ batch_nor… │ (None,  │ 12… │\n"
    "│ (BatchNor… │ 3000)   │     │\n"
    "├────────────┼─────────┼─────┤\n"
    "│ dense_5    │ (None,  │ 99… │\n"
    "│ (Dense)    │ 333)    │     │\n"
    "└────────────┴─────────┴─────┘\n"
    " Total params: 1,110,685 (4.24 MB)\n"
    " Trainable params: 1,104,333 (4.21 MB)\n"
    " Non-trainable params: 6,352 (24.81 KB)\n"
)
LONG_NAMES_TRAINABLE = (
    "Model: \"my_model\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━┓\n"
    "┃ Layer (type)          ┃ Output Shape     ┃ Param # ┃ Tr… ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━┩\n"
    "│ a_really_long_layer_… │ (None, 32)       │     352 │  N  │\n"
    "│ (Dense)               │                  │         │     │\n"
    "├───────────────────────┼──────────────────┼─────────┼─────┤\n"
    "│ averyveryveryveryver… │ (None, 3000)     │  99,000 │  Y  │\n"
    "│ (Dense)               │                  │         │     │\n"
    "├───────────────────────┼──────────────────┼─────────┼─────┤\n"
    "│ batch_normalization   │ (None, 3000)     │  12,000 │  Y  │\n"
    "│ (BatchNormalization)  │                  │         │     │\n"
    "├───────────────────────┼──────────────────┼─────────┼─────┤\n"
    "│ dense_5 (Dense)       │ (None, 333)      │ 999,333 │  Y  │\n"
    "└───────────────────────┴──────────────────┴─────────┴─────┘\n"
    " Total params: 1,110,685 (4.24 MB)\n"
    " Trainable params: 1,104,333 (4.21 MB)\n"
    " Non-trainable params: 6,352 (24.81 KB)\n"
)
LONG_NAMES_RANGE = (
    "Model: \"my_model\"\n"
    "┏━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type) ┃ Output Shape        ┃                             Param # ┃\n"
    "┡━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n"
    "│ batch_norma… │ (None, 3000)        │                              12,000 │\n"
    "│ (BatchNorma… │                     │                                     │\n"
    "├──────────────┼─────────────────────┼─────────────────────────────────────┤\n"
    "│ dense_5      │ (None, 333)         │                             999,333 │\n"
    "│ (Dense)      │                     │                                     │\n"
    "└──────────────┴─────────────────────┴─────────────────────────────────────┘\n"
    " Total params: 1,110,685 (4.24 MB)\n"
    " Trainable params: 1,104,333 (4.21 MB)\n"
    " Non-trainable params: 6,352 (24.81 KB)\n"
)
REFERENCE_WIDE = (
    "Model: \"sequential\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩\n"
    "│ dense (Dense)                        │ (None, 32)                  │             352 │\n"
    "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
    "│ dropout (Dropout)                    │ (None, 32)                  │               0 │\n"
    "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
    "│ dense_1 (Dense)                      │ (None, 16)                  │             528 │\n"
    "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
    "│ dense_2 (Dense)                      │ (None, 1)                   │              17 │\n"
    "└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘\n"
    " Total params: 897 (3.50 KB)\n"
    " Trainable params: 897 (3.50 KB)\n"
    " Non-trainable params: 0 (0.00 B)\n"
)
STYLED = (
    "\x1b[1mModel: \"my_model\"\x1b[0m\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━┓\n"
    "┃\x1b[1m \x1b[0m\x1b[1mLayer (type)         \x1b[0m\x1b[1m \x1b[0m┃\x1b[1m \x1b[0m\x1b[1mOutput Shape    \x1b[0m\x1b[1m \x1b[0m┃\x1b[1m \x1b[0m\x1b[1mParam #\x1b[0m\x1b[1m \x1b[0m┃\x1b[1m \x1b[0m\x1b[1mTr…\x1b[0m\x1b[1m \x1b[0m┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━┩\n"
    "│ a_really_long_layer_… │ (\x1b[38;5;45mNone\x1b[0m, \x1b[38;5;34m32\x1b[0m)       │     \x1b[38;5;34m352\x1b[0m │  \x1b[1;91mN\x1b[0m  │\n"
    "│ (\x1b[38;5;33mDense\x1b[0m)               │                  │         │     │\n"
    "├───────────────────────┼──────────────────┼─────────┼─────┤\n"
    "│ averyveryveryveryver… │ (\x1b[38;5;45mNone\x1b[0m, \x1b[38;5;34m3000\x1b[0m)     │  \x1b[38;5;34m99,000\x1b[0m │  \x1b[1;38;5;34mY\x1b[0m  │\n"
    "│ (\x1b[38;5;33mDense\x1b[0m)               │                  │         │     │\n"
    "├───────────────────────┼──────────────────┼─────────┼─────┤\n"
    "│ batch_normalization   │ (\x1b[38;5;45mNone\x1b[0m, \x1b[38;5;34m3000\x1b[0m)     │  \x1b[38;5;34m12,000\x1b[0m │  \x1b[1;38;5;34mY\x1b[0m  │\n"
    "│ (\x1b[38;5;33mBatchNormalization\x1b[0m)  │                  │         │     │\n"
    "├───────────────────────┼──────────────────┼─────────┼─────┤\n"
    "│ dense_5 (\x1b[38;5;33mDense\x1b[0m)       │ (\x1b[38;5;45mNone\x1b[0m, \x1b[38;5;34m333\x1b[0m)      │ \x1b[38;5;34m999,333\x1b[0m │  \x1b[1;38;5;34mY\x1b[0m  │\n"
    "└───────────────────────┴──────────────────┴─────────┴─────┘\n"
    "\x1b[1m Total params: \x1b[0m\x1b[38;5;34m1,110,685\x1b[0m (4.24 MB)\n"
    "\x1b[1m Trainable params: \x1b[0m\x1b[38;5;34m1,104,333\x1b[0m (4.21 MB)\n"
    "\x1b[1m Non-trainable params: \x1b[0m\x1b[38;5;34m6,352\x1b[0m (24.81 KB)\n"
)
STYLED_UNBUILT = (
    "\x1b[1mModel: \"s\"\x1b[0m\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓\n"
    "┃\x1b[1m \x1b[0m\x1b[1mLayer (type)                        \x1b[0m\x1b[1m \x1b[0m┃\x1b[1m \x1b[0m\x1b[1mOutput Shape               \x1b[0m\x1b[1m \x1b[0m┃\x1b[1m \x1b[0m\x1b[1m        Param #\x1b[0m\x1b[1m \x1b[0m┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩\n"
    "│ dense_6 (\x1b[38;5;33mDense\x1b[0m)                      │ ?                           │     \x1b[38;5;34m0\x1b[0m (unbuilt) │\n"
    "└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘\n"
    "\x1b[1m Total params: \x1b[0m\x1b[38;5;34m0\x1b[0m (0.00 B)\n"
    "\x1b[1m Trainable params: \x1b[0m\x1b[38;5;34m0\x1b[0m (0.00 B)\n"
    "\x1b[1m Non-trainable params: \x1b[0m\x1b[38;5;34m0\x1b[0m (0.00 B)\n"
)

REFERENCE_CROPPED = (
    "Model: \"sequential\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━\n"
    "┃ Layer (type)             ┃ Output Shap\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━\n"
    "│ dense (Dense)            │ (None, 32) \n"
    "├──────────────────────────┼────────────\n"
    "│ dropout (Dropout)        │ (None, 32) \n"
    "├──────────────────────────┼────────────\n"
    "│ dense_1 (Dense)          │ (None, 16) \n"
    "├──────────────────────────┼────────────\n"
    "│ dense_2 (Dense)          │ (None, 1)  \n"
    "└──────────────────────────┴────────────\n"
    " Total params: 897 (3.50 KB)\n"
    " Trainable params: 897 (3.50 KB)\n"
    " Non-trainable params: 0 (0.00 B)\n"
)


def test_reference_model_on_80_columns_is_76_wide(columns):
    text = summary_text(reference_model())
    assert text == REFERENCE
    assert {len(line) for line in text.splitlines()[1:12]} == {76}


def test_reference_model_on_200_columns_is_88_wide(columns):
    columns(200)
    assert summary_text(reference_model()) == REFERENCE_WIDE


def test_optimizer_params_are_counted_once_the_optimizer_is_built(columns):
    model = reference_model()
    model.optimizer = FakeOptimizer(adam_variables(model))
    assert summary_text(model) == REFERENCE_TRAINED
    model.optimizer.built = False
    assert summary_text(model) == REFERENCE


def test_unbuilt_layers_show_question_mark_and_unbuilt(columns):
    model = FakeModel("sequential_1", [Dense("dense_3"), Dense("dense_4")])
    assert summary_text(model) == UNBUILT


def test_empty_model(columns):
    assert summary_text(FakeModel("sequential_2", [])) == EMPTY


def test_long_names_wrap_and_end_in_ellipsis_and_frozen_weights_are_non_trainable(columns):
    assert summary_text(long_names_model()) == LONG_NAMES


def test_narrow_table_wraps_every_column_and_bottom_aligns_the_header(columns):
    assert summary_text(long_names_model(), line_length=30) == LONG_NAMES_NARROW


def test_show_trainable_adds_a_centred_column(columns):
    assert summary_text(long_names_model(), show_trainable=True, line_length=60) == LONG_NAMES_TRAINABLE


def test_layer_range_and_custom_positions(columns):
    text = summary_text(long_names_model(), layer_range=["batch", "dense"], positions=[0.2, 0.5, 1.0])
    assert text == LONG_NAMES_RANGE


def test_lines_are_cropped_to_the_console_width(columns):
    columns(40)
    assert summary_text(reference_model(), line_length=60) == REFERENCE_CROPPED


def test_terminal_output_is_styled_like_rich(columns, capsys, monkeypatch):
    columns(200)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    print_summary(long_names_model(), show_trainable=True, line_length=60)
    assert capsys.readouterr().out == STYLED
    print_summary(FakeModel("s", [Dense("dense_6")]))
    assert capsys.readouterr().out == STYLED_UNBUILT


def test_standard_colour_terminal_uses_16_colour_codes(columns, capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    print_summary(FakeModel("s", [Dense("dense_6", 2, 3)]))
    assert "│ dense_6 (\x1b[94mDense\x1b[0m)" in capsys.readouterr().out


def test_print_fn_gets_plain_text_even_on_a_terminal(columns, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert summary_text(reference_model()) == REFERENCE


def test_without_print_fn_plain_text_goes_to_stdout_when_not_a_terminal(columns, capsys, plain_stdout):
    print_summary(reference_model())
    assert capsys.readouterr().out == REFERENCE


def test_readable_memory_size_matches_keras():
    sizes = {0: "0.00 B", 1023: "1023.00 B", 1024: "1.00 KB", 1536: "1.50 KB", 5.5 * 1024**2: "5.50 MB",
             2 * 1024**3 + 1: "2.00 GB", 3 * 1024**5: "3.00 PB", 2 * 1024**6: "2.00 PB"}
    assert {size: readable_memory_size(size) for size in sizes} == sizes


@pytest.mark.parametrize(
    "layer_range, message",
    [
        (["dense"], "layer_range must be a list or tuple of length 2. Received: layer_range = ['dense'] of length 1"),
        ([1, 2], "layer_range should contain string type only. Received: [1, 2]"),
        (["x", "y"], "Passed layer_names do not match the layer names in the model. Received: ['x', 'y']"),
    ],
)
def test_bad_layer_range(columns, layer_range, message):
    with pytest.raises(ValueError) as error:
        summary_text(reference_model(), layer_range=layer_range)
    assert str(error.value) == message


def test_too_narrow_a_line_is_refused(columns):
    with pytest.raises(ValueError, match="^Insufficient console width to print summary.$"):
        summary_text(reference_model(), line_length=10)

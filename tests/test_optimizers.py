"""Optimizers and schedules without TensorFlow: literal values observed from Keras 3.15.1."""

import numpy as np
import pytest

from minikeras import optimizers
from minikeras.optimizers import schedules
from minikeras.variables import Variable

# Three steps on w = [1, -2, 0.5] (float32) with the gradients below; the expected weights were printed
# by real Keras 3.15.1 (probe /tmp/optprobe/literals.py: keras.Variable + optimizer.apply per step).
GRADS = [np.array([0.1, -0.3, 0.2], "float32"), np.array([-0.2, 0.4, 0.0], "float32"),
         np.array([0.3, 0.1, -0.5], "float32")]
KERAS_AFTER_THREE_STEPS = [
    ("SGD", {"learning_rate": 0.1}, [0.9800000190734863, -2.0199999809265137, 0.5299999713897705]),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, [0.9809000492095947, -2.004699945449829, 0.4957999885082245]),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
     [0.9628100395202637, -2.0242300033569336, 0.5262200236320496]),
    ("Adam", {"learning_rate": 0.1}, [0.9022895693778992, -1.9465562105178833, 0.3730984628200531]),
    ("Adam", {"learning_rate": 0.1, "amsgrad": True}, [0.9022895693778992, -1.9465562105178833, 0.37313196063041687]),
    ("AdamW", {"learning_rate": 0.1, "weight_decay": 0.5}, [0.7675837874412537, -1.670088529586792, 0.3148859441280365]),
    ("RMSprop", {"learning_rate": 0.1}, [0.7104365229606628, -2.0078227519989014, 0.4813103675842285]),
    ("RMSprop", {"learning_rate": 0.1, "centered": True, "momentum": 0.5},
     [0.5876017808914185, -1.8716121912002563, 0.22041618824005127]),
    ("Adagrad", {"learning_rate": 0.1}, [0.9602514505386353, -2.0154542922973633, 0.526611864566803]),
    ("Adadelta", {"learning_rate": 1.0}, [0.9982194900512695, -2.0007176399230957, 0.5004318356513977]),
    ("Adamax", {"learning_rate": 0.1}, [0.9042242169380188, -1.9371438026428223, 0.37752893567085266]),
    ("Nadam", {"learning_rate": 0.1}, [0.8987150192260742, -1.994301199913025, 0.4828706979751587]),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.2}, [0.9934571981430054, -2.0052332878112793, 0.5062126517295837]),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.15}, [0.9900000095367432, -2.009999990463257, 0.5]),
    ("SGD", {"learning_rate": 0.1, "global_clipnorm": 0.2}, [0.9934571981430054, -2.0052332878112793, 0.5062126517295837]),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.5}, [0.8373500108718872, -1.7356749773025513, 0.46063750982284546]),
]

ALL_CLASSES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"]


def weight(path="w", value=(1.0, -2.0, 0.5), dtype="float32", constraint=None):
    return Variable(np.array(value, dtype=dtype), path.split("/")[-1], path=path, constraint=constraint)


def three_steps(optimizer, variable):
    for grad in GRADS:
        optimizer.apply([grad.astype(variable.dtype)], [variable])
    return variable


@pytest.mark.parametrize("class_name,kwargs,expected", KERAS_AFTER_THREE_STEPS, ids=lambda x: str(x))
def test_update_rules_reproduce_keras_values(class_name, kwargs, expected):
    variable = three_steps(getattr(optimizers, class_name)(**kwargs), weight())
    np.testing.assert_allclose(variable.value, np.array(expected, "float32"), rtol=1e-6, atol=1e-7)
    assert variable.value.dtype == np.float32


def test_ema_average_reproduces_keras_values():
    # Same probe: SGD(0.1, use_ema=True, ema_momentum=0.5) leaves the weights as plain SGD and keeps
    # sgd/w_average = [0.99, -2.005, 0.505] (the first step copies the weights).
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    variable = three_steps(optimizer, weight())
    np.testing.assert_allclose(variable.value, [0.98, -2.02, 0.53], rtol=1e-6)
    assert [v.path for v in optimizer.variables] == ["sgd/iteration", "sgd/learning_rate", "sgd/w_average"]
    np.testing.assert_allclose(optimizer.variables[2].value, [0.99, -2.005, 0.505], rtol=1e-6)
    optimizer.finalize_variable_values([variable])
    np.testing.assert_allclose(variable.value, [0.99, -2.005, 0.505], rtol=1e-6)


def test_ema_overwrite_frequency_copies_average_into_weights():
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=3)
    variable = three_steps(optimizer, weight())
    np.testing.assert_allclose(variable.value, [0.99, -2.005, 0.505], rtol=1e-6)


def test_float64_variables_stay_float64():
    variable = three_steps(optimizers.Adam(learning_rate=0.1), weight(dtype="float64"))
    assert variable.value.dtype == np.float64
    np.testing.assert_allclose(variable.value, [0.9022895693778992, -1.9465562105178833, 0.3730984628200531], rtol=1e-6)


# Variable paths as `[v.path for v in opt.variables]` printed by Keras 3.15.1 (probe /tmp/optprobe/p1.py) for
# trainable variables with paths "kernel" (2, 3) and "bias" (3,), here under a "dense/" scope.
KERAS_VARIABLE_PATHS = {
    "SGD": ["sgd/iteration", "sgd/learning_rate"],
    "Adam": ["adam/iteration", "adam/learning_rate", "adam/dense_kernel_momentum", "adam/dense_kernel_velocity",
             "adam/dense_bias_momentum", "adam/dense_bias_velocity"],
    "AdamW": ["adam_w/iteration", "adam_w/learning_rate", "adam_w/dense_kernel_momentum",
              "adam_w/dense_kernel_velocity", "adam_w/dense_bias_momentum", "adam_w/dense_bias_velocity"],
    "RMSprop": ["rm_sprop/iteration", "rm_sprop/learning_rate", "rm_sprop/dense_kernel_velocity",
                "rm_sprop/dense_bias_velocity"],
    "Adagrad": ["adagrad/iteration", "adagrad/learning_rate", "adagrad/dense_kernel_accumulator",
                "adagrad/dense_bias_accumulator"],
    "Adadelta": ["adadelta/iteration", "adadelta/learning_rate", "adadelta/dense_kernel_accumulated_grad",
                 "adadelta/dense_kernel_accumulated_delta_var", "adadelta/dense_bias_accumulated_grad",
                 "adadelta/dense_bias_accumulated_delta_var"],
    "Adamax": ["adamax/iteration", "adamax/learning_rate", "adamax/dense_kernel_momentum", "adamax/dense_kernel_norm",
               "adamax/dense_bias_momentum", "adamax/dense_bias_norm"],
    "Nadam": ["nadam/iteration", "nadam/learning_rate", "nadam/dense_kernel_momentum", "nadam/dense_kernel_velocity",
              "nadam/dense_bias_momentum", "nadam/dense_bias_velocity", "nadam/variable"],
}


def dense_variables():
    return [Variable(np.ones((2, 3), "float32"), "kernel", path="dense/kernel"),
            Variable(np.ones(3, "float32"), "bias", path="dense/bias")]


@pytest.mark.parametrize("class_name", ALL_CLASSES)
def test_variables_are_named_and_ordered_like_keras(class_name):
    optimizer = getattr(optimizers, class_name)()
    assert [v.path for v in optimizer.variables] == KERAS_VARIABLE_PATHS[class_name][:2]
    variables = dense_variables()
    optimizer.apply([np.zeros((2, 3), "float32"), np.zeros(3, "float32")], variables)
    assert [v.path for v in optimizer.variables] == KERAS_VARIABLE_PATHS[class_name]
    assert optimizer.variables[0].value.dtype == np.int64 and optimizer.variables[0].value == 1
    assert optimizer.variables[1].value.dtype == np.float32


def test_optional_slots_follow_keras_order():
    # Probe p1: SGD(momentum=0.9) -> kernel_momentum; Adam(amsgrad) -> momentum, velocity, velocity_hat;
    # RMSprop(momentum, centered) -> velocity, momentum, average_gradient; Adam(use_ema) -> average first.
    cases = [
        (optimizers.SGD(momentum=0.9), ["momentum"]),
        (optimizers.Adam(amsgrad=True), ["momentum", "velocity", "velocity_hat"]),
        (optimizers.RMSprop(momentum=0.5, centered=True), ["velocity", "momentum", "average_gradient"]),
        (optimizers.Adam(use_ema=True), ["average", "momentum", "velocity"]),
    ]
    for optimizer, slots in cases:
        optimizer.build([Variable(np.ones((2, 3), "float32"), "kernel")])
        assert [v.path for v in optimizer.variables] == [f"{optimizer.name}/{p}" for p in
                                                         ["iteration", "learning_rate"] + [f"kernel_{s}" for s in slots]]


def test_adagrad_accumulator_starts_at_initial_value():
    optimizer = optimizers.Adagrad(initial_accumulator_value=0.25)
    optimizer.build([weight()])
    np.testing.assert_array_equal(optimizer.variables[2].value, np.full(3, 0.25, "float32"))


def test_nadam_product_variable_uses_the_global_variable_counter():
    # Probe p2: a second Nadam's product is saved as "nadam_1/variable_1".
    first, second = optimizers.Nadam(), optimizers.Nadam()
    first.build([weight()])
    second.build([weight()])
    assert second.variables[-1].path == "nadam_1/variable_1"


def test_updates_are_in_place():
    optimizer = optimizers.Adam(learning_rate=0.1)
    variable = weight()
    value = variable.value
    optimizer.apply([GRADS[0]], [variable])
    slots = [v.value for v in optimizer.variables]
    optimizer.apply([GRADS[1]], [variable])
    assert variable.value is value
    assert all(a is b.value for a, b in zip(slots, optimizer.variables))
    np.testing.assert_array_equal(GRADS[1], np.array([-0.2, 0.4, 0.0], "float32"))


# Config dicts printed by Keras 3.15.1 (probe p1): keys in this order, learning rate as the float32 value.
COMMON_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                   "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                   "loss_scale_factor": None, "gradient_accumulation_steps": None}
KERAS_DEFAULT_CONFIGS = {
    "SGD": {"name": "sgd", "learning_rate": 0.009999999776482582, **COMMON_DEFAULTS, "momentum": 0.0, "nesterov": False},
    "Adam": {"name": "adam", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS, "beta_1": 0.9,
             "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False},
    "AdamW": {"name": "adam_w", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS, "weight_decay": 0.004,
              "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False},
    "RMSprop": {"name": "rm_sprop", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS, "rho": 0.9,
                "momentum": 0.0, "epsilon": 1e-07, "centered": False},
    "Adagrad": {"name": "adagrad", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS,
                "initial_accumulator_value": 0.1, "epsilon": 1e-07},
    "Adadelta": {"name": "adadelta", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS, "rho": 0.95,
                 "epsilon": 1e-07},
    "Adamax": {"name": "adamax", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS, "beta_1": 0.9,
               "beta_2": 0.999, "epsilon": 1e-07},
    "Nadam": {"name": "nadam", "learning_rate": 0.0010000000474974513, **COMMON_DEFAULTS, "beta_1": 0.9,
              "beta_2": 0.999, "epsilon": 1e-07},
}


@pytest.mark.parametrize("class_name", ALL_CLASSES)
def test_default_config_equals_keras(class_name):
    config = getattr(optimizers, class_name)().get_config()
    assert config == KERAS_DEFAULT_CONFIGS[class_name]
    assert list(config) == list(KERAS_DEFAULT_CONFIGS[class_name])


@pytest.mark.parametrize("class_name", ALL_CLASSES)
def test_config_round_trip(class_name):
    original = getattr(optimizers, class_name)(learning_rate=0.05, clipnorm=1.5, name="custom")
    rebuilt = getattr(optimizers, class_name).from_config(original.get_config())
    assert rebuilt.get_config() == original.get_config()
    assert rebuilt.name == "custom"
    via_serialize = optimizers.deserialize(optimizers.serialize(original))
    assert type(via_serialize) is type(original) and via_serialize.get_config() == original.get_config()


def test_serialize_format_and_schedule_round_trip():
    optimizer = optimizers.SGD(learning_rate=schedules.CosineDecay(0.1, 10))
    serialized = optimizers.serialize(optimizer)
    # Probe p4: keras.optimizers.serialize gives this exact layout.
    assert serialized == {
        "module": "keras.optimizers", "class_name": "SGD", "registered_name": None,
        "config": {"name": "sgd", "learning_rate": {
            "module": "keras.optimizers.schedules", "class_name": "CosineDecay", "registered_name": None,
            "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0, "name": "CosineDecay",
                       "warmup_target": None, "warmup_steps": 0}},
            **COMMON_DEFAULTS, "momentum": 0.0, "nesterov": False},
    }
    rebuilt = optimizers.deserialize(serialized)
    assert isinstance(rebuilt._schedule, schedules.CosineDecay)
    assert rebuilt.get_config() == serialized["config"]


def test_get_accepts_keras_identifiers():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("ADAM"), optimizers.Adam)
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    assert isinstance(optimizers.get("Sgd"), optimizers.SGD)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("adamw"), optimizers.AdamW)
    instance = optimizers.Nadam()
    assert optimizers.get(instance) is instance
    assert optimizers.get(None) is None
    from_dict = optimizers.get({"class_name": "adam", "config": {"learning_rate": 0.5}})
    assert isinstance(from_dict, optimizers.Adam) and from_dict.learning_rate == 0.5


@pytest.mark.parametrize("identifier", ["foo_opt", 3, optimizers.Adam])
def test_get_rejects_like_keras(identifier):
    # Keras 3 refuses classes too: "Could not interpret optimizer identifier: <class '...Adam'>".
    with pytest.raises(ValueError, match="^Could not interpret optimizer identifier: "):
        optimizers.get(identifier)


def test_learning_rate_reads_float_and_is_assignable():
    optimizer = optimizers.Adam()
    assert isinstance(optimizer.learning_rate, float)
    assert optimizer.learning_rate == 0.0010000000474974513
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == 0.5 and optimizer.get_config()["learning_rate"] == 0.5
    assert optimizer.variables[1].value == np.float32(0.5)
    assert isinstance(optimizer.iterations, int) and optimizer.iterations == 0


def test_scheduled_learning_rate_follows_iterations_and_is_not_settable():
    optimizer = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True))
    assert [v.path for v in optimizer.variables] == ["sgd/iteration"]
    variable = weight()
    for _ in range(3):
        optimizer.apply([np.zeros(3, "float32")], [variable])
    assert optimizer.learning_rate == 0.05000000074505806
    with pytest.raises(TypeError, match="hence its learning rate is not settable"):
        optimizer.learning_rate = 0.1


def test_assigning_a_schedule_drops_the_learning_rate_variable():
    # Probe p4: after `opt.learning_rate = ExponentialDecay(...)`, Keras lists only sgd/iteration.
    optimizer = optimizers.SGD()
    optimizer.learning_rate = schedules.ExponentialDecay(0.1, 3, 0.5)
    assert [v.path for v in optimizer.variables] == ["sgd/iteration"]
    assert optimizer.learning_rate == 0.10000000149011612


def test_keras2_lr_is_accepted_and_decay_is_ignored_with_keras_warning():
    assert optimizers.SGD(lr=0.5).learning_rate == 0.5
    with pytest.warns(UserWarning, match="^Argument `decay` is no longer supported and will be ignored.$"):
        optimizer = optimizers.Adam(decay=0.1)
    assert "decay" not in optimizer.get_config()


# Error texts printed by Keras 3.15.1 (probes p1 and p4).
@pytest.mark.parametrize("make,message", [
    # Keras's words, and the value received (Keras leaves it out)
    (lambda: optimizers.SGD(momentum=1.5), "`momentum` must be a float between [0, 1]. Received: momentum=1.5"),
    (lambda: optimizers.SGD(momentum=-0.1), "`momentum` must be a float between [0, 1]. Received: momentum=-0.1"),
    (lambda: optimizers.SGD(momentum=1), "`momentum` must be a float between [0, 1]. Received: momentum=1"),
    (lambda: optimizers.SGD(learning_rate="a"),
     "Argument `learning_rate` should be float, or an instance of LearningRateSchedule. Received instead: learning_rate=a"),
    (lambda: optimizers.SGD(learning_rate=1),
     "Argument `learning_rate` should be float, or an instance of LearningRateSchedule. Received instead: learning_rate=1"),
    (lambda: optimizers.SGD(foo=0.1), "Argument(s) not recognized: {'foo': 0.1}"),
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0),
     "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=1.0, clipvalue=1.0, "
     "global_clipnorm=None"),
    (lambda: optimizers.SGD(use_ema=True, ema_momentum=2.0),
     "`ema_momentum` must be in the range [0, 1]. Received: ema_momentum=2.0"),
    (lambda: optimizers.SGD(use_ema=True, ema_overwrite_frequency=0.5),
     "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: ema_overwrite_frequency=0.5"),
    (lambda: optimizers.SGD(gradient_accumulation_steps=1),
     "`gradient_accumulation_steps` must be an integer >= 2. Received: gradient_accumulation_steps=1"),
    (lambda: optimizers.AdamW(weight_decay=None), "Argument `weight_decay` must be a float. Received: weight_decay=None"),
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "Argument `decay_steps` must be > 0. Received: decay_steps=0"),
    (lambda: schedules.CosineDecay(0.1, -1), "Argument `decay_steps` must be > 0. Received: decay_steps=-1"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]),
     "The length of boundaries should be 1 less than the length of values. Received: boundaries=[1, 2] of length 2, "
     "and values=[0.1] of length 1."),
])
def test_invalid_arguments_raise_keras_messages(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert str(error.value) == message


def test_gradient_accumulation_is_refused_clearly():
    with pytest.raises(ValueError, match="does not implement gradient accumulation"):
        optimizers.Adam(gradient_accumulation_steps=4)


def test_negative_learning_rate_is_refused_where_keras_takes_it():
    # Keras 3.15 trains uphill with it; a learner's sign slip deserves an error (issue 8)
    with pytest.raises(ValueError, match=r"`learning_rate`: expected a number >= 0. Received: learning_rate=-0.1"):
        optimizers.SGD(learning_rate=-0.1)
    assert optimizers.SGD(learning_rate=0.0).get_config()["learning_rate"] == 0.0


def test_apply_errors_match_keras():
    optimizer = optimizers.SGD()
    with pytest.raises(ValueError, match=r"^When passing `grads` without `variables`, the optimizer must already be built"):
        optimizer.apply([GRADS[0]])
    with pytest.raises(ValueError, match="^No gradients provided for any variable.$"):
        optimizers.SGD().apply([None], [weight()])
    optimizer.apply([GRADS[0]], [weight()])
    with pytest.raises(ValueError, match="^Unknown variable: .* This optimizer can only be called for the variables"):
        optimizer.apply([GRADS[0]], [weight()])


def test_missing_gradient_is_skipped_with_keras_warning():
    optimizer = optimizers.SGD(learning_rate=0.1)
    kept, skipped = weight("dense/kernel"), weight("dense/bias")
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['dense/bias'\] when minimizing"):
        optimizer.apply([GRADS[0], None], [kept, skipped])
    np.testing.assert_allclose(kept.value, [0.99, -1.97, 0.48], rtol=1e-6)
    np.testing.assert_array_equal(skipped.value, [1.0, -2.0, 0.5])
    assert optimizer.iterations == 1


def test_constraint_applied_after_update():
    variable = weight(constraint=lambda w: np.clip(w, -1.0, 0.9))
    optimizers.SGD(learning_rate=1.0).apply([np.array([-0.5, 0.0, -0.5], "float32")], [variable])
    np.testing.assert_allclose(variable.value, [0.9, -1.0, 0.9])


def test_exclude_from_weight_decay_by_name():
    optimizer = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    kernel, bias = weight("dense/kernel"), weight("dense/bias")
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.apply([np.zeros(3, "float32")] * 2, [kernel, bias])
    np.testing.assert_allclose(kernel.value, np.array([1.0, -2.0, 0.5]) * 0.95, rtol=1e-6)
    np.testing.assert_array_equal(bias.value, [1.0, -2.0, 0.5])
    with pytest.raises(ValueError, match="can only be configured before the optimizer is built"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])


def test_apply_gradients_returns_iterations():
    optimizer = optimizers.SGD(learning_rate=0.1)
    variable = weight()
    assert optimizer.apply_gradients([(GRADS[0], variable)]) == 1
    assert optimizer.apply_gradients(zip([GRADS[1]], [variable])) == 2
    np.testing.assert_allclose(variable.value, [1.01, -2.01, 0.48], rtol=1e-6)


def test_loss_scale_factor_unscales_gradients():
    variable = weight()
    optimizers.SGD(learning_rate=0.1, loss_scale_factor=4.0).apply([GRADS[0] * 4], [variable])
    np.testing.assert_allclose(variable.value, [0.99, -1.97, 0.48], rtol=1e-6)


# Schedule values printed by Keras 3.15.1 (probe /tmp/optprobe/p4.py), steps 0, 1, 2, ...
@pytest.mark.parametrize("schedule,expected", [
    (schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True),
     [0.10000000149011612] * 3 + [0.05000000074505806] * 3 + [0.02500000037252903]),
    (schedules.CosineDecay(0.0, 5, alpha=0.1, warmup_target=0.1, warmup_steps=3),
     [0.0, 0.03333333507180214, 0.06666667014360428, 0.10000000149011612, 0.09140576422214508,
      0.06890576332807541, 0.04109422490000725, 0.018594233319163322, 0.010000000707805157, 0.010000000707805157]),
    (schedules.PiecewiseConstantDecay([2.5], [1.0, 2.0]), [1.0, 1.0, 1.0, 2.0]),
])
def test_schedule_values_match_keras(schedule, expected):
    values = [schedule(step) for step in range(len(expected))]
    np.testing.assert_allclose(values, expected, rtol=2e-7)
    assert all(np.asarray(v).dtype == np.float32 for v in values)


def test_exponential_decay_value_matches_keras():
    # Probe p4: ExponentialDecay(0.1, 3, 0.5)(2) -> 0.06299605220556259.
    assert schedules.ExponentialDecay(0.1, 3, 0.5)(2) == np.float32(0.06299605220556259)


def test_inverse_time_decay_formula():
    schedule = schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    np.testing.assert_allclose([schedule(s) for s in (0, 1, 4)], [0.1, 0.1 / 1.25, 0.1 / 2], rtol=1e-6)
    staircase = schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    np.testing.assert_allclose([staircase(s) for s in (1, 2, 3)], [0.1, 0.1 / 1.5, 0.1 / 1.5], rtol=1e-6)


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2, 0.3]),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.CosineDecay(0.1, 10, alpha=0.2, warmup_target=0.2, warmup_steps=3),
])
def test_schedule_config_round_trip(schedule):
    rebuilt = schedules.deserialize(schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(s) for s in range(15)] == [schedule(s) for s in range(15)]


def test_schedule_deserialize_rejects_unknown_class():
    with pytest.raises(ValueError, match="Could not interpret learning rate schedule identifier: Foo"):
        schedules.deserialize({"class_name": "Foo", "config": {}})


def test_weight_decay_uses_the_scheduled_rate():
    optimizer = optimizers.SGD(learning_rate=schedules.PiecewiseConstantDecay([0], [0.1, 0.2]), weight_decay=0.5)
    variable = weight()
    optimizer.apply([np.zeros(3, "float32")], [variable])
    optimizer.apply([np.zeros(3, "float32")], [variable])
    np.testing.assert_allclose(variable.value, np.array([1.0, -2.0, 0.5]) * 0.95 * 0.9, rtol=1e-6)

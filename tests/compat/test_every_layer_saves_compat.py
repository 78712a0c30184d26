"""Every layer minikeras has, in a `.keras` file, both ways between minikeras and real Keras 3: the loaded
model predicts what the saved one did (1e-6). A test fails if a public layer class has no case here."""
import numpy as np
import pytest

import minikeras

# layer name -> (input shape without batch, constructor arguments, whether the input is integer indices)
CASES = {
    "Activation": ((4,), {"activation": "tanh"}),
    "Add": None, "Average": None, "Concatenate": None, "Dot": None, "Maximum": None, "Minimum": None,
    "Multiply": None, "Subtract": None,
    "AveragePooling1D": ((6, 2), {"pool_size": 2}), "AveragePooling2D": ((6, 6, 2), {"pool_size": 2}),
    "MaxPooling1D": ((6, 2), {"pool_size": 2}), "MaxPooling2D": ((6, 6, 2), {"pool_size": 2}), "GlobalAveragePooling1D": ((6, 2), {}), "GlobalAveragePooling2D": ((6, 6, 2), {}),
    "GlobalMaxPooling1D": ((6, 2), {}), "GlobalMaxPooling2D": ((6, 6, 2), {}),
    "BatchNormalization": ((4,), {"beta_initializer": "glorot_uniform", "moving_mean_initializer": "glorot_uniform"}),
    "LayerNormalization": ((4,), {"beta_initializer": "glorot_uniform"}),
    "Bidirectional": ((5, 3), {"layer": ("LSTM", {"units": 2})}),
    "TimeDistributed": ((5, 3), {"layer": ("Dense", {"units": 2})}),
    "Conv1D": ((6, 2), {"filters": 3, "kernel_size": 2}), "Conv2D": ((6, 6, 2), {"filters": 3, "kernel_size": 2}),
    "Conv1DTranspose": ((6, 2), {"filters": 3, "kernel_size": 2, "strides": 2}),
    "Conv2DTranspose": ((4, 4, 2), {"filters": 3, "kernel_size": 2, "strides": 2}),
    "DepthwiseConv1D": ((6, 2), {"kernel_size": 2, "depth_multiplier": 2}),
    "DepthwiseConv2D": ((6, 6, 2), {"kernel_size": 2}),
    "SeparableConv1D": ((6, 2), {"filters": 3, "kernel_size": 2}),
    "SeparableConv2D": ((6, 6, 2), {"filters": 3, "kernel_size": 2}),
    "Cropping2D": ((6, 6, 2), {"cropping": 1}), "UpSampling2D": ((3, 3, 2), {}), "ZeroPadding2D": ((3, 3, 2), {}),
    "Dense": ((4,), {"units": 3, "activation": "relu"}), "Dropout": ((4,), {"rate": 0.5}),
    "Embedding": ((5,), {"input_dim": 10, "output_dim": 3, "mask_zero": True}),
    "Flatten": ((3, 2), {}), "Reshape": ((6,), {"target_shape": (3, 2)}), "Permute": ((3, 2), {"dims": (2, 1)}),
    "RepeatVector": ((4,), {"n": 3}), "Masking": ((5, 3), {"mask_value": 0.0}),
    "GRU": ((5, 3), {"units": 2, "return_sequences": True}), "LSTM": ((5, 3), {"units": 2}),
    "SimpleRNN": ((5, 3), {"units": 2, "go_backwards": True}),
}
MERGE_LAYERS = [name for name, case in CASES.items() if case is None]
# Aliases, the base class and the input layer need no case of their own.
NOT_LAYERS_TO_SAVE = {"Layer", "Input", "InputLayer"}


def public_layer_classes():
    classes = {}
    for name in dir(minikeras.layers):
        value = getattr(minikeras.layers, name)
        if isinstance(value, type) and issubclass(value, minikeras.layers.Layer) and name not in NOT_LAYERS_TO_SAVE:
            classes.setdefault(value, name)
    return sorted(classes.values())


def test_every_public_layer_has_a_case():
    by_class = {getattr(minikeras.layers, name) for name in CASES}
    missing = [name for name in public_layer_classes() if getattr(minikeras.layers, name) not in by_class]
    assert not missing, f"add a case for {missing}"


def build(k, name):
    layers = k.layers
    if name in MERGE_LAYERS:
        a, b = k.Input((4,)), k.Input((4,))
        merged = getattr(layers, name)(**({"axes": 1} if name == "Dot" else {}))([layers.Dense(4)(a), b])
        return k.Model([a, b], layers.Dense(2)(layers.Flatten()(merged)))
    shape, arguments = CASES[name]
    arguments = dict(arguments)
    if "layer" in arguments:
        inner_name, inner_arguments = arguments.pop("layer")
        arguments["layer"] = getattr(layers, inner_name)(**inner_arguments)
    inputs = k.Input(shape)
    outputs = getattr(layers, name)(**arguments)(inputs)
    if name in ("Masking", "Embedding"):
        outputs = layers.LSTM(2)(outputs)
    elif len(outputs.shape) > 2:
        outputs = layers.Flatten()(outputs)
    return k.Model(inputs, layers.Dense(2)(outputs))


def inputs_for(name):
    rng = np.random.default_rng(0)
    if name in MERGE_LAYERS:
        return [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)]
    shape = CASES[name][0]
    if name == "Embedding":
        x = rng.integers(0, 10, size=(3,) + shape).astype(np.float32)
        x[0, 3:] = 0
        return x
    x = rng.normal(size=(3,) + shape).astype(np.float32)
    if name == "Masking":
        x[1, 2:] = 0.0
    return x


@pytest.mark.parametrize("direction", ["minikeras_to_keras", "keras_to_minikeras"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_crosses_over_in_a_keras_file(keras, tmp_path, name, direction):
    source, target = (minikeras, keras) if direction == "minikeras_to_keras" else (keras, minikeras)
    model = build(source, name)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = target.models.load_model(path)
    x = inputs_for(name)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)),
                               rtol=1e-6, atol=1e-6)

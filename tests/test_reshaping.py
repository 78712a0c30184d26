"""ZeroPadding2D, UpSampling2D, Cropping2D: finite-difference gradients in float64, values, shapes, errors."""
import numpy as np
import pytest

from minikeras.layers.reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from tests.test_layers import check_layer_gradients

X = np.random.default_rng(0).standard_normal((2, 4, 5, 3))


@pytest.mark.parametrize("layer", [
    lambda: ZeroPadding2D(dtype="float64"), lambda: ZeroPadding2D(((1, 2), (0, 3)), dtype="float64"),
    lambda: ZeroPadding2D((2, 0), dtype="float64"),
    lambda: Cropping2D(1, dtype="float64"), lambda: Cropping2D(((1, 0), (0, 2)), dtype="float64"),
    lambda: Cropping2D((0, 1), dtype="float64"),
    lambda: UpSampling2D(dtype="float64"), lambda: UpSampling2D((2, 3), dtype="float64"),
    lambda: UpSampling2D((3, 2), interpolation="bilinear", dtype="float64"),
    lambda: UpSampling2D(1, interpolation="bilinear", dtype="float64"),
])
def test_gradients(layer):
    check_layer_gradients(layer(), X)


def test_values_and_shapes():
    x = np.arange(4.0).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(ZeroPadding2D(((1, 0), (0, 1)))(x)[0, :, :, 0], [[0, 0, 0], [0, 1, 0], [2, 3, 0]])
    np.testing.assert_array_equal(UpSampling2D((1, 2))(x)[0, :, :, 0], [[0, 0, 1, 1], [2, 2, 3, 3]])
    np.testing.assert_array_equal(Cropping2D(((1, 0), (0, 1)))(x)[0, :, :, 0], [[2]])
    np.testing.assert_allclose(UpSampling2D((1, 4), interpolation="bilinear")(np.array([[[[0.], [4.]]]]))[0, 0, :, 0],
                               [0, 0, 0.5, 1.5, 2.5, 3.5, 4, 4])
    assert ZeroPadding2D(((1, 2), (3, 4))).compute_output_shape((None, None, 5, 2)) == (None, None, 12, 2)
    assert UpSampling2D((2, 3)).compute_output_shape((None, 4, None, 2)) == (None, 8, None, 2)
    assert Cropping2D(1).compute_output_shape((None, 4, 5, 2)) == (None, 2, 3, 2)
    assert UpSampling2D()(np.ones((1, 2, 2, 1))).dtype == np.float32


def test_configs_are_standardized():
    assert ZeroPadding2D((1, 2)).get_config()["padding"] == ((1, 1), (2, 2))
    assert Cropping2D(3).get_config()["cropping"] == ((3, 3), (3, 3))
    assert UpSampling2D(3, interpolation="Bilinear").get_config()["size"] == (3, 3)
    assert UpSampling2D(interpolation="Bilinear").get_config()["interpolation"] == "bilinear"


def test_errors():
    with pytest.raises(ValueError, match="should be smaller than the corresponding spatial dimension"):
        Cropping2D(2)(np.zeros((1, 4, 5, 1)))
    with pytest.raises(ValueError, match="should have two elements"):
        ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        ZeroPadding2D(-1)(np.zeros((1, 4, 4, 1)))
    with pytest.raises(NotImplementedError, match="'nearest' and 'bilinear' only"):
        UpSampling2D(interpolation="bicubic")(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="Invalid value for argument `interpolation`"):
        UpSampling2D(interpolation="foo")(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="channels_last"):
        ZeroPadding2D(data_format="channels_first")(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        Cropping2D()(np.zeros((1, 2, 2)))

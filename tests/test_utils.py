"""to_categorical, normalize, set_random_seed (Keras 3 semantics observed with keras 3.15.1)."""
import numpy as np
import pytest

from minikeras import backend, utils


def test_to_categorical_matches_keras_3():
    result = utils.to_categorical([0, 2, 1])
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, np.eye(3)[[0, 2, 1]])
    np.testing.assert_array_equal(utils.to_categorical(np.array([True, False])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(utils.to_categorical([[1], [0]]), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(utils.to_categorical(2, 3), [0, 0, 1])
    np.testing.assert_array_equal(utils.to_categorical([-1, 1], 3), [[0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(utils.to_categorical([0.7, 1.2]), [[1, 0], [0, 1]])
    assert utils.to_categorical([[0, 1], [1, 0]]).shape == (2, 2, 2)


def test_to_categorical_rejects_out_of_range_and_text():
    with pytest.raises(ValueError, match=r"got label 5, outside the range of num_classes=3"):
        utils.to_categorical([0, 5], num_classes=3)
    with pytest.raises(ValueError, match="expects integer class labels"):
        utils.to_categorical(["a"])


def test_normalize_matches_keras_3():
    np.testing.assert_allclose(utils.normalize(np.array([[3.0, 4.0], [0, 0]])), [[0.6, 0.8], [0, 0]])
    ones = utils.normalize(np.array([[3.0, 4.0], [1, 1]], np.float32), order=1)
    assert ones.dtype == np.float32
    np.testing.assert_allclose(ones, [[3 / 7, 4 / 7], [0.5, 0.5]], rtol=1e-6)
    assert utils.normalize(np.array([3.0, 4.0])).shape == (1, 2)


def test_set_random_seed_reseeds_numpy_and_minikeras():
    utils.set_random_seed(42)
    first = (np.random.rand(), backend.random_generator().random())
    utils.set_random_seed(42)
    assert (np.random.rand(), backend.random_generator().random()) == first
    np.random.seed(42)
    assert np.random.rand() == first[0]
    with pytest.raises(ValueError, match=r"Expected `seed` argument to be an integer. Received: seed=1.5 "
                                         r"\(of type <class 'float'>\)"):
        utils.set_random_seed(1.5)

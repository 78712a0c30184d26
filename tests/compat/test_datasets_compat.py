"""minikeras.datasets and get_file side by side with real Keras's, on the same files in one temporary
`KERAS_HOME` (no network: the cache is filled by hand, downloads come from a local server).

Every loader but Fashion-MNIST checks the cached file's hash, which a synthetic file fails (Keras then
tries to download it again); so both sides' loaders get a `get_file` that records its arguments and
passes `file_hash=None`, and the recorded arguments (file names, origins, hashes, folders) are compared too.
"""
import importlib
import inspect
import re
import tarfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

import minikeras.datasets
from minikeras.utils import file_utils
from tests.test_datasets import (PAYLOAD, PAYLOAD_SHA256, FileServer, link, needs_mnist, tar_bytes,
                                 write_cifar100_archive, write_cifar_archive, write_fashion_mnist_files,
                                 write_housing_npz, write_imdb_npz, write_mnist_npz, write_reuters_npz,
                                 write_word_index)

DATASET_NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing",
                 "california_housing")


@pytest.fixture
def keras_home(keras, tmp_path, monkeypatch):
    """One temporary `KERAS_HOME` for both (Keras read the variable at import, so its copy is patched too)."""
    from keras.src.backend import config

    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(config, "_KERAS_DIR", str(home))
    return home


@pytest.fixture
def datasets_dir(keras_home):
    return keras_home / "datasets"


@pytest.fixture
def offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture
def loaders(keras_home, offline, monkeypatch):
    """name -> (minikeras module, Keras module, calls): each side's `get_file` records its bound arguments
    into its own list and skips the hash check."""
    from keras.src.utils import file_utils as keras_file_utils

    sides = {}
    for name in DATASET_NAMES:
        sides[name] = []
        for module, real_get_file in ((getattr(minikeras.datasets, name), file_utils.get_file),
                                      (importlib.import_module(f"keras.src.datasets.{name}"),
                                       keras_file_utils.get_file)):
            calls = []
            monkeypatch.setattr(module, "get_file", recording(real_get_file, calls))
            sides[name].append((module, calls))
    return sides


def recording(real_get_file, calls):
    def get_file(*args, **kwargs):
        arguments = inspect.signature(real_get_file).bind(*args, **kwargs)
        arguments.apply_defaults()
        calls.append(dict(arguments.arguments))
        return real_get_file(*args, **{**kwargs, "file_hash": None})

    return get_file


def assert_same_result(ours, theirs):
    """Equal nested tuples of arrays: same types, dtypes, shapes and values (object arrays compared as lists)."""
    assert type(ours) is type(theirs)
    if isinstance(ours, tuple):
        assert len(ours) == len(theirs)
        for our_item, their_item in zip(ours, theirs):
            assert_same_result(our_item, their_item)
    elif isinstance(ours, np.ndarray):
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape)
        if ours.dtype == object:
            assert ours.tolist() == theirs.tolist()
            assert {type(v) for v in ours.ravel()} == {type(v) for v in theirs.ravel()}
        else:
            assert np.array_equal(ours, theirs)
    else:
        assert ours == theirs


def load_both(loaders, name, function="load_data", **kwargs):
    """Both sides' results, after checking they asked `get_file` for the same files the same way."""
    (ours, our_calls), (theirs, their_calls) = loaders[name]
    results = getattr(ours, function)(**kwargs), getattr(theirs, function)(**kwargs)
    assert our_calls == their_calls and our_calls
    our_calls.clear(), their_calls.clear()
    return results


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_load_data_signatures(keras, name):
    ours = getattr(minikeras.datasets, name)
    theirs = getattr(keras.datasets, name)
    assert inspect.signature(ours.load_data) == inspect.signature(theirs.load_data)
    for function in ("get_word_index", "get_label_names"):
        assert hasattr(ours, function) == hasattr(theirs, function)
        if hasattr(theirs, function):
            assert inspect.signature(getattr(ours, function)) == inspect.signature(getattr(theirs, function))


def test_get_file_signature(keras):
    assert inspect.signature(file_utils.get_file) == inspect.signature(keras.utils.get_file)


@needs_mnist
def test_mnist_from_the_real_test_split(loaders, datasets_dir):
    write_mnist_npz(datasets_dir)
    assert_same_result(*load_both(loaders, "mnist"))


@needs_mnist
def test_mnist_with_the_hash_check_both_fail_offline_the_same_way(keras, keras_home, datasets_dir, offline, capsys):
    """Keras re-downloads a cached mnist.npz whose sha256 differs (and deletes it when that fails);
    minikeras re-downloads too, with the same first line of error, but keeps the file."""
    path = write_mnist_npz(datasets_dir)
    with pytest.raises(Exception) as ours:
        minikeras.datasets.mnist.load_data()
    our_output = capsys.readouterr().out
    assert path.exists()
    with pytest.raises(Exception) as theirs:
        keras.datasets.mnist.load_data()
    assert capsys.readouterr().out == our_output
    assert str(ours.value).splitlines()[0] == str(theirs.value)
    assert not path.exists()  # what Keras does; minikeras kept it above


@needs_mnist
def test_fashion_mnist_needs_no_hash(keras, datasets_dir, offline):
    write_fashion_mnist_files(datasets_dir)
    assert_same_result(minikeras.datasets.fashion_mnist.load_data(), keras.datasets.fashion_mnist.load_data())


def test_cifar10_full_size(loaders, datasets_dir):
    """Keras's loader fills exactly 5 x 10,000 training rows, so the archive has CIFAR-10's real size."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (10000, 3072), dtype=np.uint8)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {f"cifar-10-batches-py/{name}": {b"data": base + np.uint8(i * 41),
                                               b"labels": [int(v) for v in rng.integers(0, 10, 10000)]}
               for i, name in enumerate(names)}
    write_cifar_archive(datasets_dir / "cifar-10-batches-py-target_archive", batches, mode="w")
    assert_same_result(*load_both(loaders, "cifar10"))


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100(loaders, datasets_dir, label_mode):
    write_cifar100_archive(datasets_dir)
    assert_same_result(*load_both(loaders, "cifar100", label_mode=label_mode))


SEQUENCE_OPTIONS = [
    {},
    {"num_words": 20, "skip_top": 4},
    {"maxlen": 12, "seed": 7},
    {"start_char": None, "index_from": 0},
    {"start_char": None, "index_from": 5, "oov_char": None, "num_words": 30},
    {"oov_char": None, "skip_top": 10},
]


@pytest.mark.parametrize("options", SEQUENCE_OPTIONS)
def test_imdb(loaders, datasets_dir, options):
    write_imdb_npz(datasets_dir)
    assert_same_result(*load_both(loaders, "imdb", **options))


@pytest.mark.parametrize("options", SEQUENCE_OPTIONS + [{"test_split": 0.35, "maxlen": 20}, {"test_split": 0}])
def test_reuters(loaders, datasets_dir, options):
    write_reuters_npz(datasets_dir)
    assert_same_result(*load_both(loaders, "reuters", **options))


@pytest.mark.parametrize("name", ["imdb", "reuters"])
def test_word_index(loaders, datasets_dir, name):
    write_word_index(datasets_dir, f"{name}_word_index.json")
    ours, theirs = load_both(loaders, name, "get_word_index")
    assert ours == theirs


def test_reuters_label_names(keras):
    assert minikeras.datasets.reuters.get_label_names() == keras.datasets.reuters.get_label_names()


@pytest.mark.parametrize("name, features, options", [
    ("boston_housing", 13, {}), ("boston_housing", 13, {"test_split": 0.1, "seed": 3}),
    ("california_housing", 8, {}), ("california_housing", 8, {"version": "small", "test_split": 0.25}),
])
def test_housing(loaders, datasets_dir, name, features, options):
    write_housing_npz(datasets_dir, f"{name}.npz", rows=650, features=features)
    assert_same_result(*load_both(loaders, name, **options))


def normalize_times(text):
    """The progress line with its timings (which vary run to run) blanked."""
    return re.sub(r"\d+(us|ms|s)/step", "T/step", re.sub(r"\x1b\[1m\d+(:\d+)*s\x1b\[0m", "T", text))


def test_download_output_and_cache_layout(keras, tmp_path, capsys):
    from keras.src.utils import file_utils as keras_file_utils

    # Both fall back to /tmp/.keras when the cache folder does not exist yet.
    (tmp_path / "ours").mkdir(), (tmp_path / "theirs").mkdir()
    with FileServer({"/data/payload.bin": PAYLOAD}) as server:
        origin = server.url("/data/payload.bin")
        ours = file_utils.get_file(origin=origin, file_hash=PAYLOAD_SHA256, cache_dir=str(tmp_path / "ours"))
        our_output = capsys.readouterr().out
        theirs = keras_file_utils.get_file(origin=origin, file_hash=PAYLOAD_SHA256, cache_dir=str(tmp_path / "theirs"))
        their_output = capsys.readouterr().out
    assert normalize_times(our_output) == normalize_times(their_output)
    assert ours.replace("ours", "theirs") == theirs and Path(ours).read_bytes() == Path(theirs).read_bytes()


def test_extraction_names_and_refusals(keras, tmp_path):
    from keras.src.utils import file_utils as keras_file_utils

    archive = tmp_path / "mixed.tar.gz"
    archive.write_bytes(tar_bytes([("data/ok.txt", b"ok"), ("../escaped.txt", b"bad"),
                                   link("data/up", "../../escaped.txt"), link("data/alias", "ok.txt")]))
    trees = []
    for side, extract_archive in (("ours", file_utils.extract_archive), ("theirs", keras_file_utils.extract_archive)):
        (tmp_path / side).mkdir()
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            assert extract_archive(str(archive), str(tmp_path / side / "target"))
        files = sorted(p.relative_to(tmp_path / side).as_posix() for p in (tmp_path / side).rglob("*"))
        trees.append((files, sorted(str(w.message) for w in warned)))
    assert trees[0] == trees[1]
    assert trees[0][0] == ["target", "target/data", "target/data/alias", "target/data/ok.txt"]
    assert not (tmp_path / "escaped.txt").exists()
    with tarfile.open(archive) as opened:
        assert len(opened.getmembers()) == 4

"""`minikeras.datasets` and `utils.file_utils.get_file`, with no network: files are written into a temporary
`KERAS_HOME`, downloads come from a local HTTP server on 127.0.0.1."""
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import socket
import stat
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minikeras import backend
from minikeras.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                                reuters)
from minikeras.utils import file_utils
from minikeras.utils.file_utils import get_file

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"
MNIST_TRAIN_ROWS = 8000  # the 10,000 real MNIST test images, split into a stand-in train and test set
DATASET_MODULES = (mnist, fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing, california_housing)

needs_mnist = pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"the shared MNIST files are not in {MNIST_DIR}")


# ---------------------------------------------------------------------------------------------------------------
# Data files in Keras's formats


def read_idx(path, header_bytes):
    with gzip.open(path, "rb") as file:
        return np.frombuffer(file.read(), np.uint8, offset=header_bytes)


def real_mnist():
    """(images (10000, 28, 28) uint8, labels (10000,) uint8): the real MNIST test split."""
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz", 8)
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz", 16).reshape(len(labels), 28, 28)
    return images, labels


def write_mnist_npz(datasets_dir, name="mnist.npz"):
    """Keras's mnist.npz layout (x_train, y_train, x_test, y_test) built from the real MNIST test split."""
    images, labels = real_mnist()
    datasets_dir.mkdir(parents=True, exist_ok=True)
    path = datasets_dir / name
    np.savez_compressed(path, x_train=images[:MNIST_TRAIN_ROWS], y_train=labels[:MNIST_TRAIN_ROWS],
                        x_test=images[MNIST_TRAIN_ROWS:], y_test=labels[MNIST_TRAIN_ROWS:])
    return path


def write_fashion_mnist_files(datasets_dir):
    """The four Fashion-MNIST IDX files (the MNIST test files stand in for both splits)."""
    folder = datasets_dir / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        for kind in ("labels-idx1-ubyte.gz", "images-idx3-ubyte.gz"):
            (folder / f"{split}-{kind}").write_bytes((MNIST_DIR / f"t10k-{kind}").read_bytes())


def word_sequences(rng, count, vocabulary, max_length):
    """An object array of `count` lists of word indices in [1, vocabulary), of varied lengths."""
    sequences = np.empty(count, dtype="object")
    for i in range(count):
        sequences[i] = [int(w) for w in rng.integers(1, vocabulary, size=rng.integers(1, max_length))]
    return sequences


def write_imdb_npz(datasets_dir, seed=0):
    rng = np.random.default_rng(seed)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    path = datasets_dir / "imdb.npz"
    np.savez(path, x_train=word_sequences(rng, 60, 40, 30), y_train=rng.integers(0, 2, 60),
             x_test=word_sequences(rng, 50, 40, 30), y_test=rng.integers(0, 2, 50))
    return path


def write_reuters_npz(datasets_dir, seed=1):
    rng = np.random.default_rng(seed)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    path = datasets_dir / "reuters.npz"
    np.savez(path, x=word_sequences(rng, 90, 50, 40), y=rng.integers(0, 46, 90))
    return path


def write_housing_npz(datasets_dir, name, rows, features, seed=2):
    rng = np.random.default_rng(seed)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    path = datasets_dir / name
    np.savez(path, x=rng.normal(size=(rows, features)), y=rng.uniform(5, 50, rows))
    return path


def write_word_index(datasets_dir, name):
    datasets_dir.mkdir(parents=True, exist_ok=True)
    (datasets_dir / name).write_text(json.dumps({"the": 1, "and": 2, "film": 17}))
    return {"the": 1, "and": 2, "film": 17}


def cifar_batch(rng, rows, label_key):
    """A CIFAR batch as the Python 2 pickles hold it: bytes keys, (rows, 3072) uint8 data, a label list."""
    return {b"data": rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8),
            label_key.encode(): [int(v) for v in rng.integers(0, 10, rows)], b"batch_label": b"synthetic"}


def add_to_tar(archive, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def write_cifar_archive(path, batches, mode="w:gz"):
    """A tar archive (gzipped by default) holding {member name: batch dict} pickled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as archive:
        for name, batch in batches.items():
            add_to_tar(archive, name, pickle.dumps(batch, protocol=4))
    return path


def write_cifar10_archive(datasets_dir, rows_per_batch, seed=3):
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {f"cifar-10-batches-py/{name}": cifar_batch(rng, rows_per_batch, "labels") for name in names}
    return write_cifar_archive(datasets_dir / "cifar-10-batches-py-target_archive", batches)


def write_cifar100_archive(datasets_dir, seed=4):
    rng = np.random.default_rng(seed)
    batches = {}
    for name, rows in (("train", 30), ("test", 12)):
        batch = cifar_batch(rng, rows, "fine_labels")
        batch[b"coarse_labels"] = [label // 5 for label in batch[b"fine_labels"]]
        batches[f"cifar-100-python/{name}"] = batch
    return write_cifar_archive(datasets_dir / "cifar-100-python-target_archive", batches)


def without_hash_check(monkeypatch, get_file_function, modules):
    """Make each module's loaders call `get_file_function` with `file_hash=None`, so synthetic files are used.

    Everything else (file names, origins, cache folders, extraction) stays as the loader asks.
    """
    def get_file_trusting_the_cache(*args, **kwargs):
        return get_file_function(*args, **{**kwargs, "file_hash": None})

    for module in modules:
        monkeypatch.setattr(module, "get_file", get_file_trusting_the_cache)


# ---------------------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def datasets_dir(tmp_path, monkeypatch):
    """`$KERAS_HOME/datasets` in a temporary folder."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path / "keras_home" / "datasets"


@pytest.fixture
def offline(monkeypatch):
    """Every URL fails as it does with no network (a failed name lookup)."""
    def no_network(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture
def trusted_cache(monkeypatch, offline):
    """The loaders use the synthetic files in the cache; nothing is ever fetched from the network."""
    without_hash_check(monkeypatch, get_file, DATASET_MODULES)


class FileServer:
    """A local HTTP server in a daemon thread serving `files` ({url path: bytes}) and counting requests.

    `declared_extra_bytes` makes it announce more bytes than it sends, as a dropped connection does.
    """

    def __init__(self, files):
        self.files = files
        self.requests = []
        self.declared_extra_bytes = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) + server.declared_extra_bytes))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


PAYLOAD = bytes(range(256)) * 200  # 51,200 bytes: several download blocks
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    with FileServer({"/data/payload.bin": PAYLOAD}) as file_server:
        yield file_server


def files_in(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# ---------------------------------------------------------------------------------------------------------------
# The data sets


@needs_mnist
def test_mnist_loads_the_cached_npz(datasets_dir, trusted_cache):
    write_mnist_npz(datasets_dir)
    images, labels = real_mnist()
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    assert x_train.shape == (MNIST_TRAIN_ROWS, 28, 28) and y_train.shape == (MNIST_TRAIN_ROWS,)
    assert x_test.shape == (10000 - MNIST_TRAIN_ROWS, 28, 28)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), images)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), labels)
    assert y_train.min() == 0 and y_train.max() == 9


@needs_mnist
def test_mnist_with_a_file_that_fails_the_hash_tries_to_download_and_keeps_the_file(datasets_dir, offline, capsys):
    path = write_mnist_npz(datasets_dir)
    content = path.read_bytes()
    with pytest.raises(Exception) as info:
        mnist.load_data()
    message = str(info.value)
    origin = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert message.startswith(f"URL fetch failure on {origin}: ")
    assert "'mnist.npz'" in message and f"save it as {path}" in message
    assert "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1" in message
    assert "A local file was found, but it seems to be incomplete or outdated" in capsys.readouterr().out
    # Keras deletes the cached file here; minikeras keeps it and leaves no partial download.
    assert path.read_bytes() == content and files_in(datasets_dir) == ["mnist.npz"]


def test_mnist_offline_error_names_the_file_the_url_and_the_path(datasets_dir, offline):
    with pytest.raises(Exception, match="URL fetch failure on https://storage.googleapis.com/tensorflow/"
                                        r"tf-keras-datasets/mnist\.npz: None -- \[Errno -2\] Name or service") as info:
        mnist.load_data()
    assert f"save it as {datasets_dir / 'mnist.npz'} (its sha256 hash must be 731c5ac6" in str(info.value)
    assert files_in(datasets_dir) == []


def test_mnist_path_names_the_cached_file(datasets_dir, trusted_cache):
    datasets_dir.mkdir(parents=True)
    np.savez(datasets_dir / "my_mnist.npz", x_train=np.ones((2, 28, 28), np.uint8), y_train=np.arange(2),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.arange(1))
    (x_train, _), (x_test, _) = mnist.load_data(path="my_mnist.npz")
    assert x_train.shape == (2, 28, 28) and x_train.sum() == 2 * 28 * 28 and x_test.shape == (1, 28, 28)


@needs_mnist
def test_fashion_mnist_reads_the_idx_files_without_a_hash_check(datasets_dir):
    write_fashion_mnist_files(datasets_dir)
    images, labels = real_mnist()
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == x_test.shape == (10000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (10000,) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, images)
    np.testing.assert_array_equal(y_test, labels)


def test_cifar10_is_channels_last_with_column_labels(datasets_dir, trusted_cache, monkeypatch):
    monkeypatch.setattr(cifar10, "BATCH_SIZE", 4)
    write_cifar10_archive(datasets_dir, rows_per_batch=4)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)
    assert y_train.shape == (20, 1) and y_test.shape == (4, 1)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    with tarfile.open(datasets_dir / "cifar-10-batches-py-target_archive") as archive:
        member = archive.extractfile("cifar-10-batches-py/data_batch_2")
        second_batch = pickle.load(member, encoding="bytes")
    # Row r of a batch is 1024 red, then 1024 green, then 1024 blue values, each 32x32 row-major.
    np.testing.assert_array_equal(x_train[4:8], second_batch[b"data"].reshape(4, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_train[4:8, 0], second_batch[b"labels"])
    assert (datasets_dir / "cifar-10-batches-py-target" / "cifar-10-batches-py" / "test_batch").is_file()


def test_cifar100_label_modes_and_channels_first(datasets_dir, trusted_cache, monkeypatch):
    write_cifar100_archive(datasets_dir)
    (x_train, fine), (x_test, _) = cifar100.load_data()
    (_, coarse), _ = cifar100.load_data(label_mode="coarse")
    assert x_train.shape == (30, 32, 32, 3) and x_test.shape == (12, 32, 32, 3) and fine.shape == (30, 1)
    np.testing.assert_array_equal(coarse, fine // 5)
    monkeypatch.setattr(backend, "image_data_format", lambda: "channels_first")
    (x_first, _), _ = cifar100.load_data()
    np.testing.assert_array_equal(x_first.transpose(0, 2, 3, 1), x_train)


def test_cifar100_rejects_an_unknown_label_mode_before_any_download(datasets_dir, offline):
    with pytest.raises(ValueError, match=r'`label_mode` must be one of `"fine"`, `"coarse"`. '
                                         r"Received: label_mode=medium\."):
        cifar100.load_data(label_mode="medium")


def test_imdb_defaults_shift_indices_and_mark_the_start(datasets_dir, trusted_cache):
    write_imdb_npz(datasets_dir)
    raw = np.load(datasets_dir / "imdb.npz", allow_pickle=True)
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    assert x_train.dtype == object and x_train.shape == (60,) and x_test.shape == (50,)
    order = np.arange(60)
    np.random.RandomState(113).shuffle(order)
    largest = max(max(s) for s in raw["x_train"].tolist() + raw["x_test"].tolist()) + 3
    expected = [[1] + [w + 3 if w + 3 < largest else 2 for w in raw["x_train"][i]] for i in order]
    assert x_train.tolist() == expected
    np.testing.assert_array_equal(y_train, raw["y_train"][order])
    assert set(np.unique(y_test)) <= {0, 1}


def test_imdb_options(datasets_dir, trusted_cache):
    write_imdb_npz(datasets_dir)
    (x_train, _), (x_test, _) = imdb.load_data(num_words=20, skip_top=5, maxlen=15, oov_char=None)
    words = [w for seq in x_train.tolist() + x_test.tolist() for w in seq]
    assert all(5 <= w < 20 for w in words)
    assert all(len(seq) < 15 for seq in x_train.tolist())
    (x_plain, _), _ = imdb.load_data(start_char=None, index_from=0, seed=7)
    assert min(min(seq) for seq in x_plain) >= 1
    with pytest.raises(ValueError, match="After filtering for sequences shorter than maxlen=1, no sequence"):
        imdb.load_data(maxlen=1)


def test_reuters_split_and_labels(datasets_dir, trusted_cache):
    write_reuters_npz(datasets_dir)
    (x_train, y_train), (x_test, _) = reuters.load_data(test_split=0.3)
    assert x_train.shape == (62,) and x_test.shape == (28,) and x_train.dtype == object
    assert y_train.shape == (62,) and np.issubdtype(y_train.dtype, np.integer)
    assert len(reuters.get_label_names()) == 46 and reuters.get_label_names()[3] == "earn"


def test_word_indexes(datasets_dir, trusted_cache):
    imdb_index = write_word_index(datasets_dir, "imdb_word_index.json")
    reuters_index = write_word_index(datasets_dir, "reuters_word_index.json")
    assert imdb.get_word_index() == imdb_index and reuters.get_word_index() == reuters_index


@pytest.mark.parametrize("module, name, features", [(boston_housing, "boston_housing.npz", 13),
                                                     (california_housing, "california_housing.npz", 8)])
def test_housing_shuffles_with_the_seed_and_splits(datasets_dir, trusted_cache, module, name, features):
    write_housing_npz(datasets_dir, name, rows=50, features=features)
    with np.load(datasets_dir / name) as arrays:
        x, y = arrays["x"], arrays["y"]
    (x_train, y_train), (x_test, y_test) = module.load_data(test_split=0.3, seed=5)
    order = np.arange(50)
    np.random.RandomState(5).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), x[order])
    np.testing.assert_array_equal(y_train, y[order][:35])
    assert x_train.shape == (35, features) and x_test.shape == (15, features) and y_test.shape == (15,)


def test_california_small_version_keeps_the_first_600_rows(datasets_dir, trusted_cache):
    write_housing_npz(datasets_dir, "california_housing.npz", rows=700, features=8)
    (x_train, _), (x_test, _) = california_housing.load_data(version="small")
    assert len(x_train) == 480 and len(x_test) == 120


@pytest.mark.parametrize("call, message", [
    (lambda: boston_housing.load_data(test_split=1), r"Invalid `test_split` argument: 1. It must be between 0 and 1"),
    (lambda: california_housing.load_data(test_split=-0.1), r"Invalid `test_split` argument: -0.1\."),
    (lambda: california_housing.load_data(version="medium"),
     r"Argument `version` must be one of 'small', 'large'. Received: version=medium"),
])
def test_housing_rejects_bad_arguments_before_any_download(datasets_dir, offline, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_npz_loader_refuses_pickled_classes_other_than_arrays(datasets_dir, trusted_cache):
    datasets_dir.mkdir(parents=True)
    with zipfile.ZipFile(datasets_dir / "reuters.npz", "w") as archive:
        with archive.open("x.npy", "w") as member:
            np.save(member, np.array([print], dtype=object), allow_pickle=True)
        with archive.open("y.npy", "w") as member:
            np.save(member, np.arange(1))
    with pytest.raises(pickle.UnpicklingError, match="Refusing to deserialize `builtins.print` while loading"):
        reuters.load_data()


# ---------------------------------------------------------------------------------------------------------------
# get_file: the cache


def test_keras_home_defaults_to_dot_keras_in_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert file_utils.keras_home() == str(tmp_path / ".keras")
    (tmp_path / ".keras" / "datasets").mkdir(parents=True)
    (tmp_path / ".keras" / "datasets" / "cached.txt").write_text("hello")
    assert get_file("cached.txt", origin="http://127.0.0.1:9/cached.txt") == str(
        tmp_path / ".keras" / "datasets" / "cached.txt")


def test_get_file_rejects_bad_names_before_any_work(datasets_dir):
    with pytest.raises(ValueError, match='Please specify the "origin" argument'):
        get_file("a.txt")
    with pytest.raises(ValueError, match="Paths are no longer accepted as the `fname` argument. .* "
                                         "Received: fname=sub/a.txt"):
        get_file("sub/a.txt", origin="http://127.0.0.1:9/a.txt")
    with pytest.raises(ValueError, match="Can't parse the file name from the origin provided: 'http://h/'"):
        get_file(origin="http://h/")


# ---------------------------------------------------------------------------------------------------------------
# get_file: downloads from a local server


def test_download_shows_the_progress_bar_and_caches_the_file(datasets_dir, server, capsys):
    origin = server.url("/data/payload.bin")
    path = get_file(origin=origin, file_hash=PAYLOAD_SHA256)
    assert path == str(datasets_dir / "payload.bin") and Path(path).read_bytes() == PAYLOAD
    out = capsys.readouterr().out
    assert out.startswith(f"Downloading data from {origin}\n")
    assert f"{len(PAYLOAD)}/{len(PAYLOAD)}" in out and "━" in out and out.endswith("\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask  # as a direct write would have made it
    assert get_file(origin=origin, file_hash=PAYLOAD_SHA256) == path
    assert server.requests == ["/data/payload.bin"]  # the second call used the cache
    assert files_in(datasets_dir) == ["payload.bin"]


def test_md5_hashes_are_accepted(datasets_dir, server):
    path = get_file("renamed.bin", origin=server.url("/data/payload.bin"), md5_hash=PAYLOAD_MD5)
    assert Path(path).name == "renamed.bin" and Path(path).read_bytes() == PAYLOAD
    get_file("renamed.bin", origin=server.url("/data/payload.bin"), file_hash=PAYLOAD_MD5)
    assert len(server.requests) == 1


def test_a_wrong_hash_fails_clearly_and_leaves_nothing(datasets_dir, server):
    wrong = "0" * 64
    with pytest.raises(ValueError, match=f"Incomplete or corrupted file detected. The sha256 file hash does not "
                                         f"match the provided value of {wrong}: the file downloaded from "
                                         f".*payload.bin has {PAYLOAD_SHA256}. Nothing was saved"):
        get_file(origin=server.url("/data/payload.bin"), file_hash=wrong)
    assert files_in(datasets_dir) == []


def test_a_cached_file_with_a_stale_hash_is_replaced(datasets_dir, server, capsys):
    datasets_dir.mkdir(parents=True)
    (datasets_dir / "payload.bin").write_bytes(b"old")
    get_file(origin=server.url("/data/payload.bin"), file_hash=PAYLOAD_SHA256)
    assert (datasets_dir / "payload.bin").read_bytes() == PAYLOAD
    assert (f"because the auto file hash does not match the original value of {PAYLOAD_SHA256} so we will "
            "re-download the data.") in capsys.readouterr().out


def test_a_truncated_download_keeps_the_cached_file(datasets_dir, server):
    datasets_dir.mkdir(parents=True)
    (datasets_dir / "payload.bin").write_bytes(b"old")
    server.declared_extra_bytes = 100
    with pytest.raises(Exception, match="URL fetch failure on .*retrieval incomplete: got only 51200 out of "
                                        "51300 bytes"):
        get_file(origin=server.url("/data/payload.bin"), force_download=True)
    assert files_in(datasets_dir) == ["payload.bin"] and (datasets_dir / "payload.bin").read_bytes() == b"old"


def test_an_interrupted_download_leaves_no_partial_file(datasets_dir, server, monkeypatch):
    def interrupt_after_first_block(self, block_num, block_size, total_size):
        if block_num == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(file_utils.DownloadProgress, "__call__", interrupt_after_first_block)
    with pytest.raises(KeyboardInterrupt):
        get_file(origin=server.url("/data/payload.bin"))
    assert files_in(datasets_dir) == []


def test_http_errors_name_the_code_and_where_to_put_the_file(datasets_dir, server):
    origin = server.url("/data/missing.bin")
    with pytest.raises(Exception, match=f"URL fetch failure on {origin}: 404 -- Not Found\nCould not download "
                                        f"'missing.bin'. If this machine is offline, download {origin} elsewhere "
                                        f"and save it as {datasets_dir / 'missing.bin'}."):
        get_file(origin=origin)
    assert files_in(datasets_dir) == []


# ---------------------------------------------------------------------------------------------------------------
# get_file: archives


def tar_bytes(members):
    """A .tar.gz of `members`: (name, bytes) files, or (name, TarInfo) for links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members:
            if isinstance(content, tarfile.TarInfo):
                archive.addfile(content)
            else:
                add_to_tar(archive, name, content)
    return buffer.getvalue()


def link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return name, info


def test_extract_downloads_the_archive_and_extracts_it(datasets_dir, server):
    server.files["/a/bundle.tar.gz"] = tar_bytes([("bundle/data.txt", b"inside"), link("bundle/alias", "data.txt")])
    path = get_file("bundle", origin=server.url("/a/bundle.tar.gz"), extract=True)
    assert path == str(datasets_dir / "bundle")
    assert (datasets_dir / "bundle" / "bundle" / "data.txt").read_bytes() == b"inside"
    assert (datasets_dir / "bundle" / "bundle" / "alias").read_bytes() == b"inside"
    assert files_in(datasets_dir) == ["bundle", "bundle_archive"]
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("notes/readme.md", "zip")
    server.files["/a/notes.zip"] = zip_buffer.getvalue()
    path = get_file("notes.zip", origin=server.url("/a/notes.zip"), extract=True)
    assert path == str(datasets_dir / "notes_extracted")
    assert (datasets_dir / "notes_extracted" / "notes" / "readme.md").read_text() == "zip"


def test_extraction_skips_members_that_would_escape_the_folder(tmp_path):
    archive_path = tmp_path / "evil.tar.gz"
    archive_path.write_bytes(tar_bytes([
        ("ok.txt", b"fine"), ("../escaped.txt", b"bad"), ("/abs/escaped.txt", b"bad"),
        link("outside_link", "../../etc"), link("nested/up", "../../escaped.txt"),
        link("hard", "../escaped.txt", tarfile.LNKTYPE), link("inside_link", "ok.txt"),
    ]))
    target = tmp_path / "out" / "target"
    target.parent.mkdir()
    with pytest.warns(UserWarning) as warned:
        assert file_utils.extract_archive(archive_path, target)
    skipped = sorted(str(w.message) for w in warned)
    assert skipped == sorted(f"Skipping invalid path during archive extraction: '{name}'." for name in
                             ["../escaped.txt", "/abs/escaped.txt", "outside_link", "nested/up", "hard"])
    assert sorted(os.listdir(target)) == ["inside_link", "ok.txt"]
    assert not (tmp_path / "out" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert sorted(os.listdir(tmp_path / "out")) == ["target"]  # no staging folder left behind


def test_zip_extraction_skips_escaping_members(tmp_path):
    archive_path = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("good.txt", "ok")
        archive.writestr("../bad.txt", "no")
    with pytest.warns(UserWarning, match=r"Skipping invalid path during archive extraction: '\.\./bad\.txt'\."):
        file_utils.extract_archive(archive_path, tmp_path / "target")
    assert os.listdir(tmp_path / "target") == ["good.txt"] and not (tmp_path / "bad.txt").exists()


def test_a_file_that_is_not_an_archive_warns(datasets_dir, server):
    with pytest.warns(UserWarning, match="Could not extract archive."):
        path = get_file("payload", origin=server.url("/data/payload.bin"), extract=True)
    assert path == str(datasets_dir / "payload") and not os.path.exists(path)

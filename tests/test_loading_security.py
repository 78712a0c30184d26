"""Loading a file never runs code from it, never writes outside its target, and checks sizes first.

- `.keras` configs name classes; a class outside minikeras's tables (an `os.system`, a module of the
  attacker's choosing, a Keras `Lambda` carrying marshalled code) is refused with a ValueError, and
  nothing is imported or run: no new module in `sys.modules`, no sentinel file, and pickle, marshal,
  eval and exec raise if called during the load.
- `.keras` zips are read member by member, by name, and never extracted: members named "../x" or with
  absolute paths create no file, and a symlink member is not followed.
- Legacy `.h5` files: object, opaque (pickled) and string datasets are refused as "not numbers"
  without being unpickled; a `Lambda` layer's marshalled function is never unmarshalled.
- Sizes a config or a weights file asks for (a Dense with 10**12 units, a 10**12-row Embedding, a
  dataset declared as 10**12 floats) fail with a ValueError at once, the resident size's peak staying
  small. (Keras 3.15.1 on TensorFlow raises ResourceExhaustedError, not ValueError, after ~10 s for
  Dense(10**12) and Embedding(10**12, 1000).)
- `get_file`'s archive extraction skips tar and zip members that would land outside the target
  folder (parent references, absolute paths, symlinks and hard links pointing outside).
"""
import base64
import builtins
import contextlib
import io
import json
import marshal
import os
import pickle
import shutil
import sys
import tarfile
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import minikeras
from minikeras.utils.file_utils import extract_archive

# What a refused load may allocate at most: the config, the small model around the refused part and
# the error message, nowhere near the sizes the files ask for.
SMALL_PEAK_BYTES = 8 * 2**20


# ------------------------------------------------------------------------------------------ helpers
def _small_model():
    model = minikeras.Sequential([minikeras.Input((3,)), minikeras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _keras_members(tmp_path):
    """The members of a good `.keras` file, name -> bytes."""
    path = tmp_path / "good.keras"
    _small_model().save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path, members):
    """A zip with exactly these member names (ZipInfo keeps "../" and leading slashes as given)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            archive.writestr(info, data)
    return path


def _keras_file_with_config(tmp_path, edit):
    """A `.keras` file whose config.json is the good one changed by `edit(config)`."""
    members = _keras_members(tmp_path)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return _write_zip(tmp_path / "edited.keras", members)


def _dense_layer_config(config):
    return config["config"]["layers"][1]


def _refuse(*args, **kwargs):
    raise AssertionError("loading called a function that runs code from data")


@contextlib.contextmanager
def _code_execution_forbidden():
    """pickle, marshal, eval and exec all raise while the block runs; the modules imported meanwhile
    are checked to be none."""
    modules_before = set(sys.modules)
    with pytest.MonkeyPatch.context() as patch:
        for owner, name in [(pickle, "loads"), (pickle, "load"), (pickle, "Unpickler"), (marshal, "loads"),
                            (marshal, "load"), (builtins, "eval"), (builtins, "exec")]:
            patch.setattr(owner, name, _refuse)
        yield
    assert set(sys.modules) - modules_before == set()


@pytest.fixture
def sentinel(tmp_path):
    """A path that code smuggled into a file would create; asserted absent after each test."""
    path = tmp_path / "code_ran.txt"
    yield path
    assert not path.exists(), "code from the loaded file ran"


@pytest.fixture
def payload_module(tmp_path, sentinel, monkeypatch):
    """An importable module that creates the sentinel when imported; a config may name it."""
    folder = tmp_path / "payload"
    folder.mkdir()
    (folder / "evil_payload.py").write_text(f"open({str(sentinel)!r}, 'w').close()\nclass Payload:\n    pass\n")
    monkeypatch.syspath_prepend(str(folder))
    yield "evil_payload"
    assert "evil_payload" not in sys.modules


@pytest.fixture(scope="module", autouse=True)
def loading_modules_imported(tmp_path_factory):
    """Load one good file of each format first, so that h5py and minikeras's own lazily imported
    modules are in sys.modules before a test checks that loading imported nothing."""
    folder = tmp_path_factory.mktemp("warm_up")
    model = _small_model()
    for name in ("warm.keras", "warm.h5"):
        model.save(folder / name)
        minikeras.models.load_model(folder / name)
    minikeras.models.model_from_json(model.to_json())


def _lambda_code(sentinel):
    """What Keras stores for a Lambda layer's function: base64 of the marshalled code object."""
    code = compile(f"open({str(sentinel)!r}, 'w').close()", "<lambda>", "eval")
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


# ------------------------------------------------------------------------- .keras: no code from the file
def _os_system_model(config, sentinel):
    config.update({"module": "os", "class_name": "system", "registered_name": "os>system",
                   "config": {"command": f"touch {sentinel}"}})


def _os_system_layer(config, sentinel):
    config["config"]["layers"][1] = {"module": "os", "class_name": "system", "registered_name": None,
                                     "config": {"command": f"touch {sentinel}"}}


def _builtin_eval_activation(config, sentinel):
    _dense_layer_config(config)["config"]["activation"] = {
        "module": "builtins", "class_name": "function", "registered_name": "function",
        "config": f"open({str(sentinel)!r}, 'w')"}


def _os_system_activation(config, sentinel):
    _dense_layer_config(config)["config"]["activation"] = {
        "module": "os", "class_name": "function", "registered_name": "function", "config": "system"}


def _subprocess_initializer(config, sentinel):
    _dense_layer_config(config)["config"]["kernel_initializer"] = {
        "module": "subprocess", "class_name": "Popen", "registered_name": None,
        "config": {"args": ["touch", str(sentinel)]}}


def _eval_loss(config, sentinel):
    config["compile_config"]["loss"] = {"module": "builtins", "class_name": "function",
                                        "registered_name": "function", "config": "eval"}


def _keras3_lambda_layer(config, sentinel):
    config["config"]["layers"][1] = {
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {
            "code": _lambda_code(sentinel), "defaults": None, "closure": None}},
            "arguments": {}, "output_shape": None},
        "build_config": {"input_shape": [None, 3]}}


@pytest.mark.parametrize("edit", [_os_system_model, _os_system_layer, _builtin_eval_activation,
                                  _os_system_activation, _subprocess_initializer, _eval_loss,
                                  _keras3_lambda_layer])
def test_a_keras_config_naming_code_is_refused_and_runs_nothing(tmp_path, sentinel, edit):
    path = _keras_file_with_config(tmp_path, lambda config: edit(config, sentinel))
    with _code_execution_forbidden(), pytest.raises(ValueError, match="edited.keras"):
        minikeras.models.load_model(path)


@pytest.mark.parametrize("where", ["model", "layer"])
def test_a_keras_config_naming_an_importable_module_never_imports_it(tmp_path, payload_module, where):
    entry = {"module": payload_module, "class_name": "Payload", "registered_name": f"{payload_module}>Payload",
             "config": {}}

    def edit(config):
        if where == "model":
            config.update(entry)
        else:
            config["config"]["layers"][1] = entry

    path = _keras_file_with_config(tmp_path, edit)
    with _code_execution_forbidden(), pytest.raises(ValueError, match="Could not locate class 'Payload'"):
        minikeras.models.load_model(path)


def test_model_from_json_naming_code_is_refused_and_runs_nothing(sentinel, payload_module):
    config = json.loads(_small_model().to_json())
    config["config"]["layers"][1] = {"module": payload_module, "class_name": "Payload", "config": {}}
    with _code_execution_forbidden(), pytest.raises(ValueError):
        minikeras.models.model_from_json(json.dumps(config))
    _os_system_layer(config, sentinel)
    with _code_execution_forbidden(), pytest.raises(ValueError):
        minikeras.models.model_from_json(json.dumps(config))


def test_the_guard_stops_code_and_notices_new_modules(sentinel, payload_module):
    """The safeguards above are live: patched exec stops a module's code from running (imports execute
    module code through it), pickle raises, and a module added meanwhile is noticed."""
    with _code_execution_forbidden(), pytest.raises(AssertionError, match="runs code"):
        __import__(payload_module)
    sys.modules.pop(payload_module, None)
    with _code_execution_forbidden(), pytest.raises(AssertionError, match="runs code"):
        pickle.loads(pickle.dumps(1))
    with pytest.raises(AssertionError), _code_execution_forbidden():
        sys.modules["stand_in_module"] = sys
    del sys.modules["stand_in_module"]


# --------------------------------------------------------------------- .keras: the zip is never extracted
def _all_files(root):
    return {os.path.join(folder, name) for folder, folders, names in os.walk(root) for name in names + folders}


def test_zip_members_with_parent_or_absolute_paths_create_no_file(tmp_path, monkeypatch):
    members = _keras_members(tmp_path)
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # where a relative extraction would land, inside tmp_path
    escaping = {"../escaped.txt": b"x", "../../escaped_twice.txt": b"x", "sub/../../up.txt": b"x",
                str(tmp_path / "absolute.txt"): b"x", "..\\windows.txt": b"x",
                "../config.json": b"{}", "/model.weights.h5": b"not hdf5"}
    path = _write_zip(work / "traversal.keras", {**escaping, **members})
    before = _all_files(tmp_path.parent)
    loaded = minikeras.models.load_model(path)
    assert _all_files(tmp_path.parent) == before
    # The real members were the ones read.
    assert [w.shape for w in loaded.get_weights()] == [(3, 2), (2,)]


def test_a_keras_zip_whose_members_only_escape_is_refused_cleanly(tmp_path):
    members = _keras_members(tmp_path)
    path = _write_zip(tmp_path / "only_escaping.keras", {f"../{name}": data for name, data in members.items()})
    before = _all_files(tmp_path.parent)
    with pytest.raises(ValueError, match="missing"):
        minikeras.models.load_model(path)
    assert _all_files(tmp_path.parent) == before


def test_a_symlink_member_is_not_followed(tmp_path):
    members = _keras_members(tmp_path)
    secret = tmp_path / "secret.weights.h5"
    secret.write_bytes(members["model.weights.h5"])
    link = zipfile.ZipInfo("model.weights.h5")
    link.external_attr = 0o120777 << 16  # a Unix symlink entry; its content is the target path
    path = _write_zip(tmp_path / "symlink.keras", {"config.json": members["config.json"],
                                                  link: str(secret).encode()})
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        minikeras.models.load_model(path)


# ------------------------------------------------------------------------------ legacy .h5: data only
def _legacy_file(tmp_path):
    path = tmp_path / "legacy.h5"
    _small_model().save(path)
    return path


def _legacy_kernel_group(file):
    """The group holding the Dense kernel in a legacy file (its path contains the layer's name)."""
    found = []
    file["model_weights"].visititems(lambda name, item: found.append(item.parent) if name.endswith("/kernel") else None)
    return found[0]


def _replace_kernel(path, make_dataset):
    with h5py.File(path, "a") as file:
        group = _legacy_kernel_group(file)
        del group["kernel"]
        make_dataset(group, "kernel")


def _pickled_object_dataset(group, name):
    """Variable-length byte arrays (read back as an object array), each holding a pickle."""
    data = np.empty((3, 2), dtype=object)
    for index in np.ndindex(data.shape):
        data[index] = np.frombuffer(pickle.dumps(np.ones(1)), dtype=np.uint8)
    group.create_dataset(name, data=data, dtype=h5py.vlen_dtype(np.uint8))


def _opaque_pickle_dataset(group, name):
    payload = pickle.dumps(np.ones(1))
    group.create_dataset(name, data=np.full((3, 2), np.void(payload)))


def _string_dataset(group, name):
    group.create_dataset(name, data=np.full((3, 2), b"1.0"))


def _compound_dataset(group, name):
    group.create_dataset(name, data=np.zeros((3, 2), dtype=[("real", "f4"), ("code", "S8")]))


@pytest.mark.parametrize("make_dataset", [_pickled_object_dataset, _opaque_pickle_dataset, _string_dataset,
                                          _compound_dataset])
def test_a_legacy_h5_weight_that_is_not_numbers_is_refused_without_unpickling(tmp_path, make_dataset):
    path = _legacy_file(tmp_path)
    _replace_kernel(path, make_dataset)
    with _code_execution_forbidden(), pytest.raises(ValueError, match="not as numbers"):
        minikeras.models.load_model(path)


def test_a_legacy_h5_lambda_layer_is_refused_without_unmarshalling(tmp_path, sentinel):
    path = _legacy_file(tmp_path)
    with h5py.File(path, "a") as file:
        config = json.loads(file.attrs["model_config"])
        # tf.keras 2's Lambda: (base64 marshalled code, defaults, closure) and where the function lived.
        config["config"]["layers"][1] = {"class_name": "Lambda", "config": {
            "name": "dense", "trainable": True, "dtype": "float32", "function": [_lambda_code(sentinel), None, None],
            "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
            "output_shape_module": None, "arguments": {}}}
        file.attrs["model_config"] = json.dumps(config).encode()
    with _code_execution_forbidden(), pytest.raises(ValueError, match="Could not locate class 'Lambda'"):
        minikeras.models.load_model(path)


def test_a_legacy_h5_config_stored_as_a_pickle_is_refused(tmp_path):
    path = _legacy_file(tmp_path)
    with h5py.File(path, "a") as file:
        file.attrs["model_config"] = np.void(pickle.dumps({"class_name": "Sequential", "config": {}}))
    with _code_execution_forbidden(), pytest.raises(ValueError, match="legacy.h5"):
        minikeras.models.load_model(path)


def test_a_legacy_h5_loss_naming_eval_is_refused(tmp_path):
    path = _legacy_file(tmp_path)
    with h5py.File(path, "a") as file:
        training = json.loads(file.attrs["training_config"])
        training["loss"] = "eval"
        file.attrs["training_config"] = json.dumps(training).encode()
    with _code_execution_forbidden(), pytest.raises(ValueError, match="eval"):
        minikeras.models.load_model(path)


# ------------------------------------------------------------------------ sizes are checked first
def _memory_kib(field):
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith(field + ":")))


@contextlib.contextmanager
def _peak_allocation():
    """Yields a dict whose 'peak' is how far the block raised the resident size, in bytes.

    Measured as the kernel's resident high-water mark (reset first through /proc/self/clear_refs), not
    with tracemalloc: NumPy 2.4 reports an allocation to tracemalloc even when it fails, so a refused
    3 TiB array shows as a 3 TiB peak there although nothing was allocated.
    """
    measured = {}
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets VmHWM to the current resident size
    resident = _memory_kib("VmRSS")
    try:
        yield measured
    finally:
        measured["peak"] = (_memory_kib("VmHWM") - resident) * 1024


def _huge_dense(config):
    _dense_layer_config(config)["config"]["units"] = 10**12


def _huge_input(config):
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 10**12]
    config["build_config"]["input_shape"] = [None, 10**12]
    _dense_layer_config(config)["build_config"]["input_shape"] = [None, 10**12]


def _huge_embedding(config):
    config["config"]["layers"][1] = {
        "module": "keras.layers", "class_name": "Embedding", "registered_name": None,
        "config": {"name": "embedding", "input_dim": 10**12, "output_dim": 10**3},
        "build_config": {"input_shape": [None, 3]}}


def _huge_lstm(config):
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 4, 3]
    config["build_config"]["input_shape"] = [None, 4, 3]
    config["config"]["layers"][1] = {
        "module": "keras.layers", "class_name": "LSTM", "registered_name": None,
        "config": {"name": "lstm", "units": 10**6}, "build_config": {"input_shape": [None, 4, 3]}}


def _assert_refused_before_allocating(path):
    with _peak_allocation() as allocated, pytest.raises(ValueError, match="edited.keras"):
        minikeras.models.load_model(path)
    assert allocated["peak"] < SMALL_PEAK_BYTES


@pytest.mark.parametrize("edit", [_huge_dense, _huge_input, _huge_embedding])
def test_a_keras_config_asking_for_a_huge_layer_fails_before_allocating(tmp_path, edit):
    _assert_refused_before_allocating(_keras_file_with_config(tmp_path, edit))


def test_a_keras_config_asking_for_a_huge_recurrent_layer_fails_before_allocating(tmp_path):
    _assert_refused_before_allocating(_keras_file_with_config(tmp_path, _huge_lstm))


def test_a_legacy_h5_config_asking_for_a_huge_layer_fails_before_allocating(tmp_path):
    path = _legacy_file(tmp_path)
    with h5py.File(path, "a") as file:
        config = json.loads(file.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 10**12
        file.attrs["model_config"] = json.dumps(config).encode()
    with _peak_allocation() as allocated, pytest.raises(ValueError, match="legacy.h5"):
        minikeras.models.load_model(path)
    assert allocated["peak"] < SMALL_PEAK_BYTES


def test_model_from_json_asking_for_a_huge_embedding_fails_before_allocating():
    config = json.loads(_small_model().to_json())
    _huge_embedding(config)
    with _peak_allocation() as allocated, pytest.raises(ValueError):
        minikeras.models.model_from_json(json.dumps(config))
    assert allocated["peak"] < SMALL_PEAK_BYTES


@pytest.mark.parametrize("file_format", ["keras", "weights.h5", "h5"])
def test_a_weights_dataset_declared_huge_is_refused_before_it_is_read(tmp_path, file_format):
    model = _small_model()
    path = tmp_path / f"huge.{file_format}"
    model.save_weights(path) if file_format == "weights.h5" else model.save(path)

    def declare_huge_kernel(file):
        group = _legacy_kernel_group(file) if file_format == "h5" else file["layers/dense/vars"]
        name = "kernel" if file_format == "h5" else "0"
        del group[name]
        # Chunked and never written: the file stays small while declaring 10**12 floats.
        group.create_dataset(name, shape=(10**6, 10**6), dtype="float32", chunks=(1, 1024))

    if file_format == "keras":
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "a") as file:
            declare_huge_kernel(file)
        members["model.weights.h5"] = buffer.getvalue()
        _write_zip(path, members)
    else:
        with h5py.File(path, "a") as file:
            declare_huge_kernel(file)
    assert path.stat().st_size < 2**20
    with _peak_allocation() as allocated, pytest.raises(ValueError, match=r"\(1000000, 1000000\)"):
        if file_format == "weights.h5":
            model.load_weights(path)
        else:
            minikeras.models.load_model(path)
    assert allocated["peak"] < SMALL_PEAK_BYTES


def _write_bomb_declaring_keras_zip(path, members, declared_bytes):
    """A `.keras` zip whose central directory says model.weights.h5 decompresses to `declared_bytes`,
    as a zip bomb's does; its data stays the small real file, so the test costs nothing to build."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        # The central directory is written on close, from these records (zip64 fields added as needed).
        archive.getinfo("model.weights.h5").file_size = declared_bytes
    return path


def test_a_keras_zip_declaring_a_decompression_bomb_is_refused_before_reading(tmp_path):
    path = _write_bomb_declaring_keras_zip(tmp_path / "bomb.keras", _keras_members(tmp_path), 5 * 2**30)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("model.weights.h5").file_size == 5 * 2**30
    with pytest.raises(ValueError, match="decompression bomb"):
        minikeras.models.load_model(path)


# ------------------------------------------------------------------ archive extraction stays inside
def _tar_member(name, data=b"x", **attributes):
    info = tarfile.TarInfo(name)
    info.size = len(data) if attributes.get("type", tarfile.REGTYPE) == tarfile.REGTYPE else 0
    for key, value in attributes.items():
        setattr(info, key, value)
    return info, io.BytesIO(data) if info.size else None


def _write_tar(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, data)
    return path


def _extract(archive_path, target):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extracted = extract_archive(archive_path, target)
    return extracted, [str(warning.message) for warning in caught]


@pytest.fixture
def extraction(tmp_path):
    """(archive folder, target folder, outside file) with the files outside the target recorded."""
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    archives = tmp_path / "archives"
    archives.mkdir()
    (tmp_path / "cache").mkdir()
    return archives, tmp_path / "cache" / "extracted", outside


def test_tar_members_escaping_the_target_are_skipped(tmp_path, extraction):
    archives, target, outside = extraction
    members = [
        _tar_member("good/inside.txt", b"inside"),
        _tar_member("../escaped.txt"),
        _tar_member("good/../../escaped_too.txt"),
        _tar_member(str(tmp_path / "absolute.txt")),
        # A symlink to outside, then a file written through it.
        _tar_member("link_out", type=tarfile.SYMTYPE, linkname=str(tmp_path)),
        _tar_member("link_out/through_link.txt"),
        _tar_member("relative_link_out", type=tarfile.SYMTYPE, linkname="../../"),
        _tar_member("relative_link_out/through_relative_link.txt"),
        # A hard link to a file outside (its target is relative to the archive root).
        _tar_member("hard_link", type=tarfile.LNKTYPE, linkname="../../outside.txt"),
        _tar_member("absolute_hard_link", type=tarfile.LNKTYPE, linkname=str(outside)),
        # Links that stay inside are kept.
        _tar_member("good/link_in", type=tarfile.SYMTYPE, linkname="inside.txt"),
    ]
    archive = _write_tar(archives / "evil.tar.gz", members)
    before = _all_files(tmp_path.parent) - _all_files(target)
    extracted, messages = _extract(archive, target)
    assert extracted is True
    after_outside_target = {path for path in _all_files(tmp_path.parent) if not path.startswith(str(target) + os.sep)}
    assert after_outside_target == before | {str(target)}
    assert outside.read_text() == "keep me"
    assert (target / "good" / "inside.txt").read_bytes() == b"inside"
    assert os.readlink(target / "good" / "link_in") == "inside.txt"
    skipped = {"../escaped.txt", "good/../../escaped_too.txt", str(tmp_path / "absolute.txt"), "link_out",
               "relative_link_out", "hard_link", "absolute_hard_link"}
    for name in skipped:
        assert f"Skipping invalid path during archive extraction: '{name}'." in messages
    for path in _all_files(target):
        assert os.path.realpath(path).startswith(str(target.resolve()) + os.sep), path


def test_zip_members_escaping_the_target_are_skipped(tmp_path, extraction):
    archives, target, outside = extraction
    link = zipfile.ZipInfo("link_out")
    link.external_attr = 0o120777 << 16
    archive = _write_zip(archives / "evil.zip", {
        "good/inside.txt": b"inside", "../escaped.txt": b"x", "good/../../escaped_too.txt": b"x",
        str(tmp_path / "absolute.txt"): b"x", link: str(outside).encode(),
    })
    before = _all_files(tmp_path.parent) - _all_files(target)
    extracted, messages = _extract(archive, target)
    assert extracted is True
    after_outside_target = {path for path in _all_files(tmp_path.parent) if not path.startswith(str(target) + os.sep)}
    assert after_outside_target == before | {str(target)}
    assert (target / "good" / "inside.txt").read_bytes() == b"inside"
    for name in ("../escaped.txt", "good/../../escaped_too.txt"):
        assert f"Skipping invalid path during archive extraction: '{name}'." in messages
    # zipfile writes a symlink entry as a plain file holding the target's name: nothing outside is reached.
    assert not os.path.islink(target / "link_out")
    assert outside.read_text() == "keep me"


def test_a_tar_device_member_is_refused_and_nothing_is_left_behind(tmp_path, extraction):
    archives, target, _ = extraction
    device = _tar_member("null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    archive = _write_tar(archives / "device.tar.gz", [_tar_member("good.txt"), device])
    before = _all_files(tmp_path.parent)
    with pytest.raises(tarfile.TarError):
        _extract(archive, target)
    # The staging folder is removed and the target never appears half-extracted.
    assert _all_files(tmp_path.parent) == before


def test_extraction_replaces_a_symlinked_target_without_following_it(tmp_path, extraction):
    archives, target, _ = extraction
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    target.symlink_to(elsewhere, target_is_directory=True)
    archive = _write_tar(archives / "plain.tar.gz", [_tar_member("file.txt", b"data")])
    extracted, _ = _extract(archive, target)
    assert extracted is True
    assert not target.is_symlink() and (target / "file.txt").read_bytes() == b"data"
    assert (elsewhere / "precious.txt").read_text() == "keep me"
    shutil.rmtree(target)

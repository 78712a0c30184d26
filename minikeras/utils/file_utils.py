"""`get_file`: download a file once into the Keras cache (`$KERAS_HOME` or `~/.keras`), as Keras 3 does.

As in Keras 3.15.1, a cached file is used only if it matches `file_hash` (when one is given); otherwise it is
downloaded again, so a hand-made file under a data set's name is not used. Differences from Keras:
- Downloads go to a temporary file in the target folder, are checked against the hash, then renamed into
  place; a failed or interrupted download never leaves a partial file and never deletes a file already in
  the cache (Keras removes a cached file whose hash is wrong as soon as the re-download fails).
- Archives are extracted into a temporary folder that replaces the target folder only when complete.
- A failed download raises an error naming the file, the URL and the exact path where the file can be
  put by hand (Keras names only the URL); a hash mismatch names the algorithm and the hash received.
- Each socket operation times out after DOWNLOAD_TIMEOUT_SECONDS (Keras can wait forever).
- `KERAS_HOME` is read at each call, so setting it after `import minikeras` takes effect (Keras reads it
  once, at import).
"""
import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from minikeras.utils.argument_validation import check_path
from minikeras.utils.progbar import Progbar, print_msg

DOWNLOAD_BLOCK_SIZE = 8192  # what urllib's urlretrieve reads per block, so the bar steps as Keras's does
DOWNLOAD_TIMEOUT_SECONDS = 60  # per socket operation: a stalled server fails instead of hanging forever
HASH_CHUNK_SIZE = 65535
CREATE_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def keras_home():
    """`$KERAS_HOME` if set, else `~/.keras`, or `/tmp/.keras` when the home folder is not writable."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base_dir = os.path.expanduser("~")
    if not os.access(base_dir, os.W_OK):
        base_dir = "/tmp"
    return os.path.join(base_dir, ".keras")


def resolve_hasher(algorithm, file_hash=None):
    """A hashlib object: sha256 when asked, or for 'auto' with a 64-character hash; md5 otherwise (legacy)."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=HASH_CHUNK_SIZE):
    """The hex digest of the file at `fpath`; `algorithm` is a name or a hashlib object."""
    hasher = resolve_hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as file:
        for chunk in iter(lambda: file.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=HASH_CHUNK_SIZE):
    """Whether the file's sha256 or md5 digest equals `file_hash`."""
    return hash_file(fpath, resolve_hasher(algorithm, file_hash), chunk_size) == str(file_hash)


def resolve_sub_path(base_dir, relative_path):
    """The real path of `relative_path` under `base_dir` (itself a real path), or None if it escapes it."""
    path = os.path.realpath(os.path.join(base_dir, relative_path))
    try:
        return path if os.path.commonpath([path, base_dir]) == base_dir else None
    except ValueError:  # different drives
        return None


def is_link_in_dir(member, base_dir):
    """Whether a tar link and its target both stay inside `base_dir`.

    A hard link's target is relative to the archive root, a symbolic link's to the link's own folder.
    """
    destination = resolve_sub_path(base_dir, member.name)
    if destination is None:
        return False
    target_root = base_dir if member.islnk() else os.path.dirname(destination)
    return resolve_sub_path(base_dir, os.path.join(target_root, member.linkname)) is not None


def is_safe_member(member, base_dir):
    if isinstance(member, zipfile.ZipInfo):
        return resolve_sub_path(base_dir, member.filename) is not None
    if member.issym() or member.islnk():
        return is_link_in_dir(member, base_dir)
    return resolve_sub_path(base_dir, member.name) is not None


def safe_members(members, base_dir):
    """The archive members that land inside `base_dir`; the others are skipped with Keras's warning."""
    base_dir = os.path.realpath(base_dir)
    for member in members:
        if is_safe_member(member, base_dir):
            yield member
        else:
            name = member.filename if isinstance(member, zipfile.ZipInfo) else member.name
            warnings.warn(f"Skipping invalid path during archive extraction: '{name}'.", stacklevel=3)


def extract_open_archive(archive, path):
    """Extract an open `TarFile` or `ZipFile` into `path`, skipping members that would land outside it."""
    if isinstance(archive, zipfile.ZipFile):
        archive.extractall(path, members=safe_members(archive.infolist(), path))
    else:
        # The "data" filter (Python >= 3.11.4) also refuses device files and absolute link targets.
        data_filter = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(path, members=safe_members(archive.getmembers(), path), **data_filter)


def archive_openers(archive_format):
    """(is_archive, open) pairs for 'auto' (tar then zip), 'tar', 'zip', a list of those, or None."""
    if archive_format is None:
        return []
    if archive_format == "auto":
        archive_format = ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    openers = {"tar": (tarfile.is_tarfile, tarfile.open), "zip": (zipfile.is_zipfile, zipfile.ZipFile)}
    for archive_type in archive_format:
        if archive_type not in openers:
            raise NotImplementedError(archive_type)
    return [openers[archive_type] for archive_type in archive_format]


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar (.tar, .tar.gz, .tar.bz2) or zip archive into `path`; False if it is neither.

    The members go to a temporary sibling folder that replaces `path` only once extraction is complete.
    """
    file_path, path = os.fspath(file_path), os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for is_archive, open_archive in archive_openers(archive_format):
        if not is_archive(file_path):
            continue
        staging_dir = create_partial(path, os.mkdir)
        try:
            with open_archive(file_path) as archive:
                extract_open_archive(archive, staging_dir)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
            os.replace(staging_dir, path)
        finally:
            if os.path.exists(staging_dir):
                shutil.rmtree(staging_dir)
        return True
    return False


def create_partial(final_path, create):
    """A new hidden `.<name>.<random>.part` beside `final_path`, made by `create(path)`.

    `create` makes the file or folder with the default mode (0o666 or 0o777 less the umask), so once renamed
    it has the permissions a direct write would have given it (tempfile's helpers make it private).
    """
    folder, name = os.path.split(os.path.abspath(final_path))
    while True:
        path = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.part")
        try:
            create(path)
            return path
        except FileExistsError:
            continue


class DownloadProgress:
    """Keras's download bar: a `Progbar` over the byte count, created at the first report.

    Called as urllib's urlretrieve report hook: (blocks read so far, block size, total bytes or -1).
    """

    def __init__(self):
        self.progbar = None
        self.finished = False

    def __call__(self, block_num, block_size, total_size):
        total_size = None if total_size == -1 else total_size
        if self.progbar is None:
            self.progbar = Progbar(total_size)
        current = block_num * block_size
        if total_size is None or current < total_size:
            self.progbar.update(current)
        elif not self.finished:
            self.progbar.update(self.progbar.target)
            self.finished = True


def download(origin, target_path, report):
    """Stream `origin` into `target_path` in urlretrieve's blocks, calling `report` as urlretrieve does."""
    with urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response, \
            open(target_path, "wb") as target:
        total_size = int(response.headers.get("Content-Length", -1))
        received = block_num = 0
        report(block_num, DOWNLOAD_BLOCK_SIZE, total_size)
        while chunk := response.read(DOWNLOAD_BLOCK_SIZE):
            target.write(chunk)
            received += len(chunk)
            block_num += 1
            report(block_num, DOWNLOAD_BLOCK_SIZE, total_size)
    if total_size >= 0 and received < total_size:
        raise urllib.error.ContentTooShortError(
            f"retrieval incomplete: got only {received} out of {total_size} bytes", None)


def fetch_failure_reason(error):
    """Keras's "URL fetch failure on <url>: <code> -- <reason>" fields for a urllib or socket error."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code, error.msg
    if isinstance(error, urllib.error.URLError):
        return error.errno, error.reason
    return getattr(error, "errno", None), error


def download_verified(origin, download_target, file_hash, hash_algorithm):
    """Download `origin` to a temporary file beside `download_target`, check its hash, then rename it.

    On any failure the temporary file is removed and whatever was at `download_target` stays untouched.
    """
    partial_path = create_partial(download_target, lambda path: os.close(os.open(path, CREATE_NEW_FILE, 0o666)))
    try:
        print_msg(f"Downloading data from {origin}")
        try:
            download(origin, partial_path, DownloadProgress())
        except (OSError, http.client.HTTPException) as error:
            code, reason = fetch_failure_reason(error)
            # A plain Exception, as Keras raises, so code written for Keras catches it the same way.
            raise Exception(
                f"URL fetch failure on {origin}: {code} -- {reason}\n"
                + manual_download_hint(origin, download_target, file_hash, hash_algorithm)) from error
        if file_hash is not None and not validate_file(partial_path, file_hash, hash_algorithm):
            algorithm = resolve_hasher(hash_algorithm, file_hash).name
            raise ValueError(
                f"Incomplete or corrupted file detected. The {algorithm} file hash does not match the "
                f"provided value of {file_hash}: the file downloaded from {origin} has "
                f"{hash_file(partial_path, algorithm)}. Nothing was saved to {download_target}.")
        os.replace(partial_path, download_target)
    finally:
        if os.path.exists(partial_path):
            os.remove(partial_path)


def manual_download_hint(origin, download_target, file_hash, hash_algorithm):
    """Where to put the file by hand when it cannot be downloaded."""
    name = os.path.basename(download_target)
    hint = (f"Could not download '{name}'. If this machine is offline, download {origin} elsewhere and "
            f"save it as {download_target}")
    if file_hash is not None:
        hint += f" (its {resolve_hasher(hash_algorithm, file_hash).name} hash must be {file_hash})"
    return hint + "."


def cache_folder(cache_dir, cache_subdir):
    """The folder files go to: `cache_dir/cache_subdir`, under /tmp/.keras when `cache_dir` is not writable."""
    if cache_dir is None:
        cache_dir = keras_home()
        # Keras creates its home folder when it is imported; minikeras does it on first use.
        try:
            os.makedirs(os.path.expanduser(cache_dir), exist_ok=True)
        except OSError:
            pass
    base_dir = os.path.expanduser(cache_dir)
    if not os.access(base_dir, os.W_OK):
        base_dir = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    folder = os.path.join(base_dir, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    return folder


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Download `origin` to `<cache_dir>/<cache_subdir>/<fname>` unless a file with a matching hash is there.

    `file_hash` is a sha256 (64 hex digits) or md5 digest; a cached file whose digest differs is downloaded
    again. With `extract=True` (or the deprecated `untar=True`) the download is kept as
    `<fname>_archive` (or as `fname` when it has an extension), extracted into `<fname>` (or
    `<fname up to its first dot>_extracted`), and the folder's path is returned; otherwise the file's path.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError("Invalid value for argument `hash_algorithm`: expected 'auto', 'sha256' or 'md5'. "
                         f"Received: hash_algorithm={hash_algorithm!r}")
    if fname is not None:
        fname = check_path(fname, "fname")
    if fname and os.sep in fname:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's parent directory, "
            f"use the `cache_dir` argument. Received: fname={fname}")
    datadir = cache_folder(cache_dir, cache_subdir)
    download_target, extraction_dir = cache_paths(datadir, fname, origin, extract or untar)

    if force_download or not os.path.exists(download_target):
        needs_download = True
    elif file_hash is not None and not validate_file(download_target, file_hash, hash_algorithm):
        print_msg(
            "A local file was found, but it seems to be incomplete or outdated because the "
            f"{hash_algorithm} file hash does not match the original value of {file_hash} so we will "
            "re-download the data.")
        needs_download = True
    else:
        needs_download = False
    if needs_download:
        download_verified(origin, download_target, file_hash, hash_algorithm)

    if not (extract or untar):
        return download_target
    if not extract_archive(download_target, extraction_dir, "tar" if untar else archive_format):
        warnings.warn("Could not extract archive.", stacklevel=2)
    return extraction_dir


def cache_paths(datadir, fname, origin, extract):
    """(where the download is kept, where it is extracted or None), named as Keras names them."""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Can't parse the file name from the origin provided: '{origin}'."
                "Please specify the `fname` argument.")
        if extract:
            return os.path.join(datadir, f"{fname}_archive"), os.path.join(datadir, fname)
        return os.path.join(datadir, fname), None
    if not extract:
        return os.path.join(datadir, fname), None
    if "." in fname:
        stem = fname[: fname.find(".")]
        return os.path.join(datadir, fname), os.path.join(datadir, f"{stem}_extracted")
    return os.path.join(datadir, f"{fname}_archive"), os.path.join(datadir, fname)

"""`load_batch`: one pickled CIFAR batch file as (images (N, 3, 32, 32) uint8, labels)."""
from minikeras import backend
from minikeras.datasets.npz_utils import RestrictedUnpickler


def load_batch(fpath, label_key="labels"):
    """(data reshaped to channels-first (N, 3, 32, 32), the list under `label_key`) from a CIFAR batch."""
    with open(fpath, "rb") as file:
        batch = RestrictedUnpickler(file, encoding="bytes").load()
    batch = {key.decode("utf8"): value for key, value in batch.items()}
    data = batch["data"]
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def to_image_data_format(images):
    """Channels-first CIFAR images in the layout `backend.image_data_format()` asks for."""
    if backend.image_data_format() == "channels_last":
        return images.transpose(0, 2, 3, 1)
    return images

"""CSVLogger: stream epoch results to a CSV file."""
import collections.abc
import csv
import os

import numpy as np

from minikeras.callbacks.callback import Callback
from minikeras.utils.argument_validation import check_bool, check_path


def _csv_value(value):
    """Strings and scalars are written as they are; other iterables as one quoted "[a, b]" cell."""
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes one row per epoch: `epoch` then the first epoch's log keys sorted (plus `val_` twins when
    the first epoch had no validation keys); missing values are `NA`. Excel dialect (CRLF lines) with
    `separator` as delimiter; `append=True` continues an existing file without repeating its header.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not (isinstance(separator, str) and len(separator) == 1):
            raise TypeError(f"`separator` must be a 1-character string. Received: separator={separator!r}")
        self.sep = separator
        self.filename = check_path(filename, "filename")
        self.append = check_bool(append, "append")
        self.keys = None
        self.csv_file = None
        self.writer = None
        self._write_header = True

    def on_train_begin(self, logs=None):
        write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                write_header = not existing.readline()
        self._close()
        # newline="" so the csv module's CRLF line ends reach the file unchanged on every platform.
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys = None
        self.writer = None
        self._write_header = write_header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, dialect="excel", delimiter=self.sep)
            if self._write_header:
                self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *(_csv_value(logs.get(key, "NA")) for key in self.keys)])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()

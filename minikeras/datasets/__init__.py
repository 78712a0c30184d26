"""Keras's small data sets, downloaded once into `$KERAS_HOME/datasets` (default `~/.keras/datasets`)."""
from minikeras.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                                reuters)

"""Course Part 2, MNIST digits with a convolutional network: Conv2D(5x5) -> MaxPool2D -> Conv2D -> Flatten -> softmax.

The images are the real MNIST test set (IDX files in ../shared/data/mnist), reshaped to (-1, 28, 28, 1)
and scaled by 255 as the course does; a subset keeps it quick.
"""
import gzip
from pathlib import Path

import numpy as np
from keras.layers import Conv2D, Dense, Flatten, MaxPool2D
from keras.models import Sequential
from keras.utils import to_categorical

MNIST = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'mnist'
TRAIN_ROWS, TEST_ROWS = 600, 200


def load_idx(name):
    """An IDX file as an array: big-endian header (magic, dimension sizes), then uint8 data."""
    with gzip.open(MNIST / name, 'rb') as f:
        raw = f.read()
    dimensions = raw[3]
    shape = np.frombuffer(raw, dtype='>u4', count=dimensions, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


images = load_idx('t10k-images-idx3-ubyte.gz').reshape(-1, 28, 28, 1) / 255.0
labels = load_idx('t10k-labels-idx1-ubyte.gz')
x_train, y_train = images[:TRAIN_ROWS], to_categorical(labels[:TRAIN_ROWS], 10)
x_test, y_test = images[-TEST_ROWS:], to_categorical(labels[-TEST_ROWS:], 10)

model = Sequential()
model.add(Conv2D(filters=16, kernel_size=(5, 5), padding='valid', strides=1, activation='relu',
                 input_shape=(28, 28, 1)))
model.add(MaxPool2D(pool_size=(2, 2)))
model.add(Conv2D(filters=8, kernel_size=4, padding='same', activation='relu'))
model.add(MaxPool2D(pool_size=2))
model.add(Flatten())
model.add(Dense(10, activation='softmax'))
model.summary()
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])

history = model.fit(x_train, y_train, epochs=3, batch_size=200, validation_split=0.2)

loss, accuracy = model.evaluate(x_test, y_test)
print('test loss:', loss, 'test accuracy:', accuracy)

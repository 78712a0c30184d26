"""Course Part 1, MNIST digits with a multi-layer perceptron: 784 inputs, softmax over 10 classes.

The images are the real MNIST test set (IDX files in ../shared/data/mnist, the machines have no
internet for `mnist.load_data()`), read with a few lines of NumPy; a subset keeps it quick.
"""
import gzip
from pathlib import Path

import numpy as np
from keras.layers import Dense
from keras.models import Sequential
from keras.utils import to_categorical

MNIST = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'mnist'
TRAIN_ROWS, TEST_ROWS = 2000, 500


def load_idx(name):
    """An IDX file as an array: big-endian header (magic, dimension sizes), then uint8 data."""
    with gzip.open(MNIST / name, 'rb') as f:
        raw = f.read()
    dimensions = raw[3]
    shape = np.frombuffer(raw, dtype='>u4', count=dimensions, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


images = load_idx('t10k-images-idx3-ubyte.gz').reshape(-1, 784).astype('float32') / 255.0
labels = load_idx('t10k-labels-idx1-ubyte.gz')
x_train, y_train = images[:TRAIN_ROWS], to_categorical(labels[:TRAIN_ROWS], 10)
x_test, y_test = images[-TEST_ROWS:], to_categorical(labels[-TEST_ROWS:], 10)
print('x_train:', x_train.shape, 'y_train:', y_train.shape)

model = Sequential()
model.add(Dense(128, activation='relu', input_shape=(784,)))
model.add(Dense(64, activation='relu'))
model.add(Dense(10, activation='softmax'))
model.summary()
model.compile(loss='categorical_crossentropy', optimizer='rmsprop', metrics=['accuracy'])

history = model.fit(x_train, y_train, epochs=5, batch_size=100)

loss, accuracy = model.evaluate(x_test, y_test)
print('test loss:', loss, 'test accuracy:', accuracy)
print('predicted:', np.argmax(model.predict(x_test[:10]), axis=1), 'true:', labels[-TEST_ROWS:][:10])

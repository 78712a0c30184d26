"""Course Part 1, binary classification: is a point inside the unit circle?

A sigmoid output with binary cross-entropy and `metrics=['accuracy']`, trained on one part of the
data and checked with `evaluate` on the rest.
"""
import numpy as np
from keras.layers import Dense
from keras.models import Sequential

rng = np.random.default_rng(1)
x = rng.uniform(-1.5, 1.5, size=(1000, 2))
y = (np.sum(x ** 2, axis=1) < 1.0).astype('float32')
x_train, y_train = x[:800], y[:800]
x_test, y_test = x[800:], y[800:]

model = Sequential()
model.add(Dense(8, activation='relu', input_shape=(2,)))
model.add(Dense(8, activation='relu'))
model.add(Dense(1, activation='sigmoid'))
model.summary()
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])

history = model.fit(x_train, y_train, epochs=10, batch_size=32)

loss, accuracy = model.evaluate(x_test, y_test)
print('test loss:', loss, 'test accuracy:', accuracy)
print(model.predict(np.array([[0.0, 0.0], [1.4, 1.4]])))

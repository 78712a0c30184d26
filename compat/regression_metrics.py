"""Course Part 1, regression with metrics: loss 'mse', metrics ['mae', 'accuracy'] as the course writes it.

The targets are whole numbers (a score from 0 to 9 built from four features). With one output unit
Keras 3 resolves 'accuracy' to BinaryAccuracy, which compares each target with (prediction > 0.5):
it stays near zero while mae falls, the puzzle learners of the course met.
"""
import numpy as np
from keras.layers import Dense
from keras.models import Sequential

rng = np.random.default_rng(2)
x = rng.uniform(0, 1, size=(600, 4))
y = np.round(9 * (0.4 * x[:, 0] + 0.3 * x[:, 1] + 0.2 * x[:, 2] + 0.1 * x[:, 3]))
x_train, y_train = x[:500], y[:500]
x_test, y_test = x[500:], y[500:]

model = Sequential()
model.add(Dense(16, activation='relu', input_shape=(4,)))
model.add(Dense(8, activation='relu'))
model.add(Dense(1))
model.summary()
model.compile(loss='mse', optimizer='adam', metrics=['mae', 'accuracy'])

history = model.fit(x_train, y_train, epochs=10, batch_size=32)
print('mae per epoch:', history.history['mae'])

loss, mae, accuracy = model.evaluate(x_test, y_test)
print('test mse:', loss, 'test mae:', mae, 'test accuracy:', accuracy)
print(model.predict(x_test[:5]).ravel(), y_test[:5])

"""Course Part 3, sequence prediction with an LSTM: from five consecutive values of a sine wave, predict the next.

Many-to-one: inputs shaped (samples, 5, 1), `LSTM(128, input_shape=(5, 1))` then `Dense(1)`, mean squared
error with adam and batch_size=1 as the course trains it; a short wave and a few epochs keep it quick.
"""
import numpy as np
from keras.layers import LSTM, Dense
from keras.models import Sequential

WINDOW = 5
wave = np.sin(np.arange(0, 24, 0.2))

x = np.array([wave[i:i + WINDOW] for i in range(len(wave) - WINDOW)]).reshape(-1, WINDOW, 1)
y = wave[WINDOW:]
x_train, y_train = x[:90], y[:90]
x_test, y_test = x[90:], y[90:]

model = Sequential()
model.add(LSTM(128, input_shape=(WINDOW, 1)))
model.add(Dense(1))
model.compile(loss='mean_squared_error', optimizer='adam')
model.summary()

model.fit(x_train, y_train, epochs=3, batch_size=1, verbose=2)

predicted = model.predict(x_test)
print('test mse:', model.evaluate(x_test, y_test))
print('next values:', predicted[:5].ravel(), 'expected:', y_test[:5])

"""Course Part 1, multi-class classification: two classes of points split by the curve x2 = sin(x1).

One-hot targets from a boolean array with `to_categorical`, a softmax output and categorical
cross-entropy, as the course builds its classifiers.
"""
import numpy as np
from keras.layers import Dense
from keras.models import Sequential
from keras.utils import to_categorical

rng = np.random.default_rng(0)
x = np.column_stack([rng.uniform(-np.pi, np.pi, 800), rng.uniform(-1.5, 1.5, 800)])
above_the_curve = x[:, 1] > np.sin(x[:, 0])
y = to_categorical(above_the_curve)

model = Sequential()
model.add(Dense(16, activation='relu', input_shape=(2,)))
model.add(Dense(16, activation='relu'))
model.add(Dense(2, activation='softmax'))
model.summary()
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])

history = model.fit(x, y, epochs=10, batch_size=32)
print(history.history['loss'])

loss, accuracy = model.evaluate(x, y)
print('loss:', loss, 'accuracy:', accuracy)

grid = np.array([[0.0, 0.5], [0.0, -0.5], [np.pi / 2, 1.2], [np.pi / 2, 0.8]])
print(model.predict(grid))

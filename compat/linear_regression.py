"""Course Part 1, linear regression: learn y = 2x + 1 with a single linear Dense unit.

The course snippet as a learner types it: `Sequential`, `summary`, mse with plain SGD, 20 epochs,
`predict` on a 1-D array built with `np.append`, `get_weights`, and a matplotlib plot.
"""
import matplotlib.pyplot as plt
import numpy as np
from keras.layers import Dense
from keras.models import Sequential

x = np.linspace(1, 10, 1000)
y = 2 * x + 1

model = Sequential()
model.add(Dense(1, activation='linear', input_shape=(1,)))
model.summary()
model.compile(loss='mse', optimizer='sgd')

model.fit(x, y, epochs=20)

pred_x = []
pred_x = np.append(pred_x, 12)
pred_x = np.append(pred_x, 14)

pred_y = model.predict(pred_x)
print(pred_y)

plt.plot(x, y)
plt.scatter(pred_x, pred_y)
plt.show()

print(model.get_weights())

# A regression written against tensorflow.keras (TF 1.x/2.x course style): `import tensorflow as tf`,
# `from tensorflow import keras`, `tf.keras.layers.Dense`, Adam(lr=...), metrics=['mae'] read back as
# Keras 2.2's history.history['mean_absolute_error'].
# Run it on minikeras with:  python -m minikeras examples/keras2/tf_keras_regression.py
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout

tf.keras.backend.clear_session()

np.random.seed(1)
x = np.random.uniform(-1, 1, (500, 3)).astype('float32')
y = x @ np.array([2.0, -3.0, 0.5]) + 1.0

model = Sequential([
    tf.keras.layers.Dense(32, activation='relu', input_shape=(3,)),
    Dropout(0.1),
    Dense(1),
])
model.compile(optimizer=keras.optimizers.Adam(lr=0.01), loss='mse', metrics=['mae'])
history = model.fit(x, y, epochs=40, batch_size=32, validation_split=0.1, verbose=0)

print('layer classes:', [type(layer).__name__ for layer in model.layers])
print('final mae: %.3f' % history.history['mean_absolute_error'][-1])
print('final val_mae: %.3f' % history.history['val_mae'][-1])
print('prediction for (0.5, 0.5, 0.5): %.2f (true 0.75)' % model.predict(np.array([[0.5, 0.5, 0.5]]), verbose=0)[0, 0])

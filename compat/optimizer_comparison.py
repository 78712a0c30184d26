"""One small classifier trained with the optimizer named on the command line, with non-default options.

    python optimizer_comparison.py adam      (default: sgd_momentum; names: see OPTIMIZERS)

Three classes of points around three centres, softmax with categorical cross-entropy, as in the
course, so each optimizer's update rule is what differs from run to run.
"""
import sys

import keras
import numpy as np
from keras.layers import Dense
from keras.models import Sequential
from keras.utils import to_categorical

OPTIMIZERS = {
    'sgd_momentum': lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    'sgd_nesterov': lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    'adam': lambda: keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8, amsgrad=True),
    'adamw': lambda: keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.05),
    'rmsprop': lambda: keras.optimizers.RMSprop(learning_rate=0.005, rho=0.8, momentum=0.5, centered=True),
    'adagrad': lambda: keras.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.5),
    'adadelta': lambda: keras.optimizers.Adadelta(learning_rate=1.0, rho=0.9),
    'adamax': lambda: keras.optimizers.Adamax(learning_rate=0.02, beta_2=0.99),
    'nadam': lambda: keras.optimizers.Nadam(learning_rate=0.01, epsilon=1e-4),
}

name = sys.argv[1] if len(sys.argv) > 1 else 'sgd_momentum'
if name not in OPTIMIZERS:
    sys.exit(f"unknown optimizer '{name}': choose one of {', '.join(OPTIMIZERS)}")

rng = np.random.default_rng(3)
centres = np.array([[0.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
labels = rng.integers(0, 3, 300)
x = centres[labels] + rng.normal(scale=0.6, size=(300, 2))
y = to_categorical(labels, 3)

model = Sequential()
model.add(Dense(8, activation='tanh', input_shape=(2,)))
model.add(Dense(3, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer=OPTIMIZERS[name](), metrics=['accuracy'])
print('optimizer:', name, model.optimizer.get_config())

history = model.fit(x, y, epochs=5, batch_size=32, verbose=2)
loss, accuracy = model.evaluate(x, y, verbose=0)
print('loss:', loss, 'accuracy:', accuracy)
print(model.predict(x[:3]))
print(model.get_weights()[-1])

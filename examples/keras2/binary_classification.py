# Part 1, binary classification, written the Keras 2 way: star imports, input_dim, SGD(lr=...),
# a pandas DataFrame of features with boolean labels, and history.history['acc'] / ['val_acc'].
# Run it on minikeras with:  python -m minikeras examples/keras2/binary_classification.py
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from keras.models import *
from keras.layers import *
from keras.optimizers import *

np.random.seed(7)
data = pd.DataFrame(np.random.rand(600, 8), columns=['x%d' % i for i in range(8)])
label = data.sum(axis=1) > 4.0  # True / False

model = Sequential()
model.add(Dense(16, input_dim=8, activation='relu'))
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer=SGD(lr=0.1), metrics=['accuracy'])

history = model.fit(data, label, epochs=40, batch_size=16, validation_split=0.2, verbose=0)

plt.plot(history.history['acc'])
plt.plot(history.history['val_acc'])
plt.title('model accuracy')
plt.ylabel('accuracy')
plt.xlabel('epoch')
plt.legend(['train', 'validation'], loc='upper left')
plt.show()

print('epochs:', len(history.history['acc']))
print('final acc: %.3f, val_acc: %.3f' % (history.history['acc'][-1], history.history['val_acc'][-1]))
loss, acc = model.evaluate(data, label, verbose=0)
print('evaluate: loss %.3f, acc %.3f' % (loss, acc))

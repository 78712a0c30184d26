# Part 1, multi-class classification with softmax, Keras 2 style: np_utils.to_categorical,
# K.clear_session(), model.fit(x=..., y=...), metrics=['acc'] read back as history.history['accuracy'].
# Run it on minikeras with:  python -m minikeras examples/keras2/multiclass_np_utils.py
import numpy as np
from keras import backend as K
from keras.models import Sequential
from keras.layers import Dense, Activation
from keras.optimizers import Adam
from keras.utils.np_utils import to_categorical

K.clear_session()

# three well separated clouds of 4-feature points, like the Iris classes
np.random.seed(3)
centers = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=float) * 3
y = np.repeat([0, 1, 2], 100)
x = centers[y] + np.random.randn(300, 4) * 0.5
Y = to_categorical(y)
print('one-hot:', Y.shape, Y.dtype, Y[0], Y[150])

model = Sequential()
model.add(Dense(10, input_dim=4))
model.add(Activation('relu'))
model.add(Dense(3))
model.add(Activation('softmax'))
model.compile(optimizer=Adam(lr=0.01), loss='categorical_crossentropy', metrics=['acc'])
model.summary()

history = model.fit(x=x, y=Y, epochs=30, batch_size=32, verbose=0)
print('accuracy via Keras 3 name: %.3f' % history.history['accuracy'][-1])
print('accuracy via Keras 2 name: %.3f' % history.history['acc'][-1])

score = model.evaluate(x, Y, verbose=0)
print('Test loss:', round(score[0], 4), 'Test accuracy:', round(score[1], 4))
predicted = np.argmax(model.predict(x[[0, 150, 299]]), axis=1)
print('predicted classes:', predicted)

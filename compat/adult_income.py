"""Course Part 1, UCI Adult census: does a person earn more than 50K a year?

Read with pandas as the course does, categorical columns one-hot encoded with `pd.get_dummies`,
everything min-max scaled, then a Dense stack with Dropout(0.5) trained with adam and
`validation_split=0.2` (watch accuracy rise while val_accuracy stalls: overfitting).

The course's stack is Dense 2048-512-128-64-2 on all 32561 rows; that takes minutes, so by default
this runs the same structure with HIDDEN_UNITS and ROWS small. Set them to COURSE_HIDDEN_UNITS and
None for the full course run.
"""
from pathlib import Path

import numpy as np
import pandas as pd
from keras.layers import Dense, Dropout
from keras.models import Sequential
from keras.utils import to_categorical

COURSE_HIDDEN_UNITS = (2048, 512, 128, 64)
HIDDEN_UNITS = (64, 32, 16, 8)
ROWS = 3000
EPOCHS = 5

DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'adult' / 'adult.data.gz'
COLUMNS = ['age', 'workclass', 'fnlwgt', 'education', 'education-num', 'marital-status', 'occupation',
           'relationship', 'race', 'sex', 'capital-gain', 'capital-loss', 'hours-per-week', 'native-country',
           'income']

data = pd.read_csv(DATA, header=None, names=COLUMNS, skipinitialspace=True, nrows=ROWS)
print(data.head())

features = pd.get_dummies(data.drop(columns='income')).astype('float32')
value_range = (features.max() - features.min()).replace(0, 1)  # a column constant in the subset stays 0
x = ((features - features.min()) / value_range).values
y = to_categorical(data['income'] == '>50K')
print('x:', x.shape, 'y:', y.shape)

model = Sequential()
model.add(Dense(HIDDEN_UNITS[0], activation='relu', input_shape=(x.shape[1],)))
model.add(Dropout(0.5))
model.add(Dense(HIDDEN_UNITS[1], activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(HIDDEN_UNITS[2], activation='relu'))
model.add(Dense(HIDDEN_UNITS[3], activation='relu'))
model.add(Dense(2, activation='softmax'))
model.summary()
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])

history = model.fit(x, y, epochs=EPOCHS, batch_size=100, validation_split=0.2)
print('accuracy:', history.history['accuracy'])
print('val_accuracy:', history.history['val_accuracy'])

loss, accuracy = model.evaluate(x, y)
print('loss:', loss, 'accuracy:', accuracy)
print(np.round(model.predict(x[:3]), 3))
